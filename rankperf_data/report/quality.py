"""Ranking quality of one answer against graded labels: NDCG@k, MRR@k, Recall@k (pure functions).

``ranked`` is the server's own order: passage indices as its results list gives them (a top_n
answer lists fewer than all passages). ``labels`` has one graded label per passage of the request;
``unlisted`` holds the labels of the query's judged passages that the request does not carry (a
first-stage retriever missed them).
Definitions follow trec_eval: NDCG as ``ndcg_cut`` (gain = label, discount 1/log2(rank + 1), the
ideal ranking built from every judged passage of the query: returned, not returned, unlisted); MRR as
``recip_rank`` cut at k (relevant = label > 0); Recall as ``recall`` at k (relevant retrieved in the
first k / relevant judged). A query with no relevant passage scores 0 on all three, and counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

DEFAULT_K = 10


_DISCOUNTS: list[float] = []  # 1 / log2(rank + 1), computed once per rank (every answer uses them)


def _discounts(k: int) -> list[float]:
    while len(_DISCOUNTS) < k:
        _DISCOUNTS.append(1.0 / math.log2(len(_DISCOUNTS) + 2))
    return _DISCOUNTS


def dcg_at_k(gains: Sequence[float], k: int) -> float:
    """Sum of gain / log2(rank + 1) over the first k gains (rank from 1)."""
    return sum(g * d for g, d in zip(gains[:k], _discounts(k), strict=False) if g > 0)  # the table may be longer


def ndcg_at_k(ranked: Sequence[int], labels: Sequence[float], k: int, unlisted: Sequence[float] = ()) -> float:
    """DCG of the server's first k results over the DCG of the ideal order of all labels."""
    ideal = dcg_at_k(sorted((*labels, *unlisted), reverse=True), k)
    if ideal <= 0:
        return 0.0
    return dcg_at_k([labels[i] for i in ranked[:k]], k) / ideal


def mrr_at_k(ranked: Sequence[int], labels: Sequence[float], k: int) -> float:
    """1 / rank of the first relevant result within the first k, else 0."""
    for rank, i in enumerate(ranked[:k], start=1):
        if labels[i] > 0:
            return 1.0 / rank
    return 0.0


def recall_at_k(ranked: Sequence[int], labels: Sequence[float], k: int, unlisted: Sequence[float] = ()) -> float:
    """Relevant passages among the first k results over all relevant judged passages (0 when none)."""
    relevant = sum(1 for label in (*labels, *unlisted) if label > 0)
    if relevant == 0:
        return 0.0
    return sum(1 for i in ranked[:k] if labels[i] > 0) / relevant


def judge(ranked: Sequence[int], labels: Sequence[float], k: int,
          unlisted: Sequence[float] = ()) -> tuple[float, float, float]:
    """(NDCG@k, MRR@k, Recall@k) of one answer."""
    return (ndcg_at_k(ranked, labels, k, unlisted), mrr_at_k(ranked, labels, k),
            recall_at_k(ranked, labels, k, unlisted))
