"""Answer vs reference: Kendall tau, score delta, order and top-k flags (hand cases; scipy when installed)."""

import random

import pytest

from rankperf_data.report.consistency import compare, kendall_tau
from rankperf_data.results.records import REF_COMPARED, REF_ORDER_CHANGED, REF_TOPK_CHANGED


def test_same_answer_is_unchanged_with_its_score_delta():
    assert compare([2, 0, 1], [0.9, 0.5, 0.1], [2, 0, 1], [0.9, 0.5, 0.25], 10) == (1.0, 0.15, REF_COMPARED)


def test_swap_inside_and_across_the_top_k():
    ref, ref_scores = [0, 1, 2, 3], [4.0, 3.0, 2.0, 1.0]
    tau, delta, flags = compare([1, 0, 2, 3], [3.5, 3.4, 2.0, 1.0], ref, ref_scores, 2)
    assert flags == REF_COMPARED | REF_ORDER_CHANGED  # same two passages in the top 2
    assert tau == pytest.approx((5 - 1) / 6) and delta == pytest.approx(0.6)  # passage 0: 4.0 -> 3.4
    _, _, flags = compare([0, 2, 1, 3], [4.0, 2.5, 2.4, 1.0], ref, ref_scores, 2)
    assert flags == REF_COMPARED | REF_ORDER_CHANGED | REF_TOPK_CHANGED
    assert kendall_tau([3, 2, 1, 0], ref) == -1.0


def test_top_n_answers_compare_the_passages_both_list():
    assert kendall_tau([5, 1], [1, 2, 5]) == -1.0
    assert kendall_tau([5], [1, 5]) == 1.0


def test_tau_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(3)
    for _ in range(200):
        n = rng.choice((rng.randint(2, 40), rng.randint(500, 1500)))  # one block, several blocks
        ref = list(range(n))
        order = ref[:]
        rng.shuffle(order)
        position = {p: r for r, p in enumerate(order)}
        expected = stats.kendalltau(range(n), [position[p] for p in ref]).statistic
        assert kendall_tau(order, ref) == pytest.approx(expected, abs=1e-12)
