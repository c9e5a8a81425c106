"""Entry order: sequential, random, shuffle; scalar and vector agree."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from rankperf_data.dataset.order import EntryOrder


def test_sequential_wraps() -> None:
    o = EntryOrder(1, "sequential", 4)
    assert [o.entry(i) for i in range(10)] == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]


def test_shuffle_is_a_permutation_per_pass() -> None:
    o = EntryOrder(1, "shuffle", 50)
    passes = [[o.entry(p * 50 + k) for k in range(50)] for p in range(4)]
    for seq in passes:
        assert sorted(seq) == list(range(50))
    assert passes[0] != passes[1] and passes[0] != list(range(50))
    assert [EntryOrder(1, "shuffle", 50).entry(i) for i in range(200)] == [x for p in passes for x in p]
    assert [EntryOrder(2, "shuffle", 50).entry(i) for i in range(50)] != passes[0]


def test_random_is_with_replacement_and_roughly_uniform() -> None:
    o = EntryOrder(3, "random", 10)
    seq = [o.entry(i) for i in range(10_000)]
    counts = Counter(seq)
    assert set(counts) == set(range(10))
    assert min(counts.values()) > 850
    assert sorted(seq[:10]) != list(range(10))  # replacement: a first "pass" has repeats (for this key)


@pytest.mark.parametrize("strategy", ["sequential", "random", "shuffle"])
def test_vector_matches_scalar(strategy: str) -> None:
    o = EntryOrder(11, strategy, 7)
    idx = np.arange(300)
    assert o.entries_of(idx).tolist() == [EntryOrder(11, strategy, 7).entry(i) for i in range(300)]


def test_unknown_strategy() -> None:
    with pytest.raises(ValueError):
        EntryOrder(1, "zigzag", 3)
