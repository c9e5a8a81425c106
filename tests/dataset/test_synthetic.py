"""Synthetic requests: determinism across partitions, distinct passages, pools, descriptions."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from rankperf_data.dataset.config import DatasetConfig
from rankperf_data.dataset.source import build_dataset
from rankperf_data.dataset.synthetic import SyntheticDataset

VARIED = {
    "rankings_passages_mean": 6,
    "rankings_passages_stddev": 2.5,
    "rankings_passages_prompt_token_mean": 40,
    "rankings_passages_prompt_token_stddev": 15,
    "rankings_query_prompt_token_mean": 12,
    "rankings_query_prompt_token_stddev": 4,
}


def make(**values) -> SyntheticDataset:
    dataset = build_dataset(DatasetConfig.from_options({"random_seed": 7, **values}))
    assert isinstance(dataset, SyntheticDataset)
    return dataset


def test_default_shape() -> None:
    r = make().get(0)
    assert r.index == 0
    assert len(r.passages) == 10
    assert r.query_tokens == 32 and r.passage_tokens == (128,) * 10
    assert len(r.query.split()) == 32 and all(len(p.split()) == 128 for p in r.passages)
    assert r.extra is None
    assert all(w.isalpha() and w.islower() for w in r.query.split())


def test_golden_request() -> None:
    # Pins the bytes of a seeded request (word estimate): a change here changes every run's data
    # (the sampler, the stream layout, or faker's en_US word list).
    r = make(random_seed=1).get(0)
    digest = hashlib.sha256("\n".join((r.query, *r.passages)).encode()).hexdigest()
    assert digest == GOLDEN_DIGEST


GOLDEN_DIGEST = "61793325db00a01c804338f9cbb09a25398019d7246510ee68b771cd278c74e7"


@pytest.mark.parametrize("values", [{}, VARIED, {**VARIED, "num_dataset_entries": 37, "dataset_sampling_strategy": "shuffle"}])
def test_same_request_whatever_the_order(values: dict) -> None:
    n = 1000
    first = make(**values)
    in_order = [first.get(i) for i in range(n)]
    a, b = make(**values), make(**values)
    halves: dict[int, object] = {}
    for i in range(n):  # interleaved between two "workers"
        halves[i] = (a if i % 2 else b).get(i)
    second = make(**values)
    for i in range(n // 2, n):  # partitioned: the second half first
        halves.setdefault(i, second.get(i))
    reversed_ = make(**values)
    backwards = {i: reversed_.get(i) for i in reversed(range(n))}
    assert [halves[i] for i in range(n)] == in_order
    assert [backwards[i] for i in range(n)] == in_order
    assert [second.get(i) for i in range(n // 2, n)] == in_order[n // 2 :]


def test_seed_changes_everything() -> None:
    assert make(random_seed=1).get(0).query != make(random_seed=2).get(0).query


def test_no_duplicate_passage_across_1000_requests() -> None:
    d = make()
    passages = [p for i in range(1000) for p in d.get(i).passages]
    assert len(passages) == 10_000
    assert len(set(passages)) == len(passages)
    queries = [d.get(i).query for i in range(1000)]
    assert len(set(queries)) == 1000


def test_texts_are_varied_english() -> None:
    d = make()
    words = " ".join(p for i in range(50) for p in d.get(i).passages).split()
    assert len(set(words)) > 800  # most of the ~960-word vocabulary shows up


def test_size_distributions() -> None:
    d = make(**VARIED)
    rs = [d.get(i) for i in range(3000)]
    counts = np.array([len(r.passages) for r in rs])
    plens = np.array([t for r in rs for t in r.passage_tokens])
    qlens = np.array([r.query_tokens for r in rs])
    assert abs(counts.mean() - 6) < 0.15
    assert abs(plens.mean() - 40) < 0.6
    assert abs(qlens.mean() - 12) < 0.3
    assert counts.min() >= 1 and plens.min() >= 1 and qlens.min() >= 1
    assert abs(plens.std() - 15) < 1
    for r in rs[:200]:  # word estimate: tokens are words
        assert len(r.query.split()) == r.query_tokens
        assert [len(p.split()) for p in r.passages] == list(r.passage_tokens)


def test_pool_cycles_sequentially() -> None:
    d = make(num_dataset_entries=5)
    first = [d.get(i) for i in range(5)]
    assert len({r.query for r in first}) == 5
    for i in range(5, 23):
        r = d.get(i)
        assert r.index == i
        assert (r.query, r.passages) == (first[i % 5].query, first[i % 5].passages)
    # entry e is what request e would be without a pool
    unpooled = make()
    assert [(r.query, r.passages) for r in first] == [(unpooled.get(e).query, unpooled.get(e).passages) for e in range(5)]


@pytest.mark.parametrize("strategy", ["random", "shuffle"])
def test_pool_strategies(strategy: str) -> None:
    d = make(num_dataset_entries=8, dataset_sampling_strategy=strategy)
    entries = {make().get(e).query: e for e in range(8)}
    seq = [entries[d.get(i).query] for i in range(64)]
    assert set(seq) <= set(range(8))
    assert seq[:8] != list(range(8))
    if strategy == "shuffle":
        for p in range(8):
            assert sorted(seq[p * 8 : p * 8 + 8]) == list(range(8))
    again = make(num_dataset_entries=8, dataset_sampling_strategy=strategy)
    assert seq == [entries[again.get(i).query] for i in range(64)]


def test_build_is_lazy() -> None:
    # (build time is shown by benchmarks/generation.py, not asserted here)
    d = make(num_dataset_entries=0)
    assert d.entries is None
    assert d.get(10**12).index == 10**12  # any index, nothing generated up front


def test_negative_index() -> None:
    with pytest.raises(IndexError):
        make().get(-1)


def test_describe() -> None:
    d = make(**VARIED)
    desc = d.describe()
    assert desc == {
        "name": "main",
        "type": "synthetic",
        "entries": None,
        "random_seed": 7,
        "rankings": {
            "passages": {"mean": 6, "stddev": 2.5},
            "passage_tokens": {"mean": 40, "stddev": 15.0},
            "query_tokens": {"mean": 12, "stddev": 4.0},
        },
        "tokenizer": d.tokenizer_description,
        "sampling_strategy": "sequential",
    }
    assert "word-level estimate" in d.tokenizer_description
    assert make(num_dataset_entries=100).describe()["entries"] == 100


