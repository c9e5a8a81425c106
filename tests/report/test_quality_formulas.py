"""Quality formulas: hand-worked cases, and a cross-check against trec_eval (via ir-measures) when installed."""

import math
import random

import pytest

from rankperf_data.report.quality import judge, mrr_at_k, ndcg_at_k, recall_at_k


def test_ndcg_worked_by_hand_uses_every_judged_passage_for_the_ideal():
    labels = [2, 0, 1, 0]
    ranked = [1, 2]  # a top_n=2 answer: passage 0 (label 2) was not returned
    dcg = 0 / math.log2(2) + 1 / math.log2(3)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)  # from all labels, not only the returned ones
    assert ndcg_at_k(ranked, labels, 10) == pytest.approx(dcg / ideal, abs=1e-12)
    assert ndcg_at_k([0, 2, 1, 3], labels, 10) == pytest.approx(1.0)
    # cut at k=1: only the first result counts, ideal also cut at 1
    assert ndcg_at_k([2, 0, 1, 3], labels, 1) == pytest.approx(1 / 2)


def test_mrr_and_recall_worked_by_hand():
    labels = [0, 0, 3, 1, 0]
    ranked = [0, 1, 3, 2, 4]
    assert mrr_at_k(ranked, labels, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(ranked, labels, 2) == 0.0
    assert recall_at_k(ranked, labels, 3) == pytest.approx(1 / 2)
    assert recall_at_k(ranked, labels, 4) == pytest.approx(1.0)


def test_unlisted_judged_passages_count_in_the_ideal_and_the_recall():
    labels, ranked = [1, 0], [0, 1]
    assert judge(ranked, labels, 10) == (1.0, 1.0, 1.0)
    ndcg, mrr, recall = judge(ranked, labels, 10, unlisted=[2, 0])
    assert ndcg == pytest.approx(1 / (2 + 1 / math.log2(3)))
    assert (mrr, recall) == (1.0, 0.5)


def test_all_zero_labels_score_zero():
    assert judge([0, 1, 2], [0, 0, 0], 10) == (0.0, 0.0, 0.0)


def _random_case(rng: random.Random):
    n = rng.randint(1, 30)
    labels = [rng.choice((0, 0, 0, 1, 2, 3)) for _ in range(n)]
    if not any(labels):
        labels[rng.randrange(n)] = rng.randint(1, 3)  # trec_eval leaves out queries with nothing relevant
    ranked = list(range(n))
    rng.shuffle(ranked)
    returned = rng.randint(1, n)  # as a top_n answer
    unlisted = [rng.choice((0, 1, 2)) for _ in range(rng.choice((0, 0, 1, 3)))]  # judged, never sent
    return labels, ranked[:returned], rng.choice((1, 3, 5, 10, 20)), unlisted


def test_against_trec_eval_over_many_random_cases():
    ir_measures = pytest.importorskip("ir_measures")
    from ir_measures import RR, R, nDCG

    rng = random.Random(17)
    cases = [_random_case(rng) for _ in range(400)]
    by_k: dict[int, list[int]] = {}
    for q, (_, _, k, _) in enumerate(cases):
        by_k.setdefault(k, []).append(q)
    for k, qs in by_k.items():
        qrels = {f"q{q}": {f"d{i}": int(label) for i, label in enumerate(cases[q][0] + cases[q][3])} for q in qs}
        # strictly falling scores: trec_eval ranks by score, so its order is the server's order
        run = {f"q{q}": {f"d{i}": float(len(cases[q][1]) - r) for r, i in enumerate(cases[q][1])} for q in qs}
        expected = {(m.query_id, str(m.measure)): m.value
                    for m in ir_measures.iter_calc([nDCG @ k, RR @ k, R @ k], qrels, run)}
        for q in qs:
            labels, ranked, _, unlisted = cases[q]
            ndcg, mrr, recall = judge(ranked, labels, k, unlisted)
            assert ndcg == pytest.approx(expected[(f"q{q}", f"nDCG@{k}")], abs=1e-9), (labels, ranked, k)
            assert mrr == pytest.approx(expected[(f"q{q}", f"RR@{k}")], abs=1e-9), (labels, ranked, k)
            assert recall == pytest.approx(expected[(f"q{q}", f"R@{k}")], abs=1e-9), (labels, ranked, k)
