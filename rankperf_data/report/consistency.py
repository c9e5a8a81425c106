"""One answer compared with the reference answer to the same request sent alone (pure functions).

An answer is (order, scores): passage indices in the server's order and their scores. Only
passages present in both lists are compared (a top_n answer may list different passages).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rankperf_data.results.records import REF_COMPARED, REF_ORDER_CHANGED, REF_TOPK_CHANGED

_BLOCK = 512


def kendall_tau(order: Sequence[int], ref_order: Sequence[int]) -> float:
    """Kendall tau-a between two rankings of the passages both list (1.0 with fewer than two)."""
    ref_rank = {p: r for r, p in enumerate(ref_order)}
    common = [ref_rank[p] for p in order if p in ref_rank]  # reference ranks, in this answer's order
    n = len(common)
    if n < 2:
        return 1.0
    ranks = np.asarray(common, dtype=np.int64)
    # pair (i < j) in this answer is concordant when the reference also ranks i before j; rows in
    # blocks so that memory stays at _BLOCK x n whatever the number of passages
    total = 0
    for start in range(0, n - 1, _BLOCK):
        rows = ranks[start:start + _BLOCK, None]
        signs = np.sign(ranks[None, :] - rows)
        later = np.arange(n)[None, :] > np.arange(start, start + len(rows))[:, None]
        total += int(signs[later].sum())
    return total / (n * (n - 1) / 2)


def compare(order: Sequence[int], scores: Sequence[float], ref_order: Sequence[int],
            ref_scores: Sequence[float], k: int) -> tuple[float, float, int]:
    """(Kendall tau, max |score delta|, REF_* flags) of one answer against its reference."""
    flags = REF_COMPARED
    if tuple(order) == tuple(ref_order):
        delta = max((abs(a - b) for a, b in zip(scores, ref_scores, strict=True)), default=0.0)
        return 1.0, delta, flags
    flags |= REF_ORDER_CHANGED
    if set(order[:k]) != set(ref_order[:k]):
        flags |= REF_TOPK_CHANGED
    ref_score = dict(zip(ref_order, ref_scores, strict=True))
    delta = max((abs(s - ref_score[p]) for p, s in zip(order, scores, strict=True) if p in ref_score), default=0.0)
    return kendall_tau(order, ref_order), delta, flags
