"""Latency sketches: percentiles within 1 % of exact, merges equal to one sketch of all data."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

from rankperf_data.results.sketches import LatencySketch, SketchMismatch

QS = (0.5, 0.9, 0.99, 0.999)


def latencies(n: int, seed: int, median_ms: float = 20.0, sigma: float = 0.8) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(np.log(median_ms), sigma, n)


def sketch_of(values: np.ndarray) -> LatencySketch:
    sketch = LatencySketch()
    sketch.add_many(values)
    return sketch


@pytest.mark.parametrize(("median_ms", "sigma"), [(20.0, 0.8), (0.3, 0.3), (1500.0, 1.5)])
def test_percentiles_are_within_one_percent_of_exact(median_ms, sigma):
    data = latencies(100_000, seed=3, median_ms=median_ms, sigma=sigma)
    sketch = sketch_of(data)
    for q in QS:
        exact = float(np.percentile(data, q * 100))
        assert abs(sketch.quantile(q) - exact) / exact <= 0.01, q
    assert sketch.count == data.size and sketch.sum == pytest.approx(data.sum())
    assert (sketch.min, sketch.max) == (data.min(), data.max())


def test_merge_of_worker_sketches_equals_the_sketch_of_all_data():
    data = latencies(60_000, seed=4)
    parts = np.array_split(data, 7)
    merged = LatencySketch()
    for part in parts:  # each worker's sketch, through its wire form, as the master gets it
        merged.merge(LatencySketch.from_wire(msgpack.unpackb(msgpack.packb(sketch_of(part).to_wire()))))
    whole = sketch_of(data)
    wire, whole_wire = merged.to_wire(), whole.to_wire()
    assert wire["counts"] == whole_wire["counts"] and wire["first_key"] == whole_wire["first_key"]
    assert [merged.quantile(q) for q in QS] == [whole.quantile(q) for q in QS]
    for q in QS:
        exact = float(np.percentile(data, q * 100))
        assert abs(merged.quantile(q) - exact) / exact <= 0.01


def test_the_wire_form_round_trips_and_is_small():
    sketch = sketch_of(latencies(50_000, seed=5))
    back = LatencySketch.from_wire(sketch.to_wire())
    assert back.to_wire() == sketch.to_wire()
    assert len(msgpack.packb(sketch.to_wire())) < 4000  # bytes, whatever the number of values


def test_zero_latencies_are_counted_and_sort_first():
    sketch = sketch_of(np.array([0.0, 0.0, 5.0, 5.0, 5.0]))
    assert sketch.count == 5 and sketch.quantile(0.0) == 0.0
    assert abs(sketch.quantile(1.0) - 5.0) / 5.0 <= 0.01


@pytest.mark.parametrize("other", [LatencySketch(relative_accuracy=0.01), LatencySketch(unit="s")])
def test_sketches_of_other_parameters_are_never_merged(other):
    mine = sketch_of(latencies(1000, seed=6))
    other.add_many(latencies(1000, seed=7))
    before = mine.to_wire()
    with pytest.raises(SketchMismatch, match="parameters differ"):
        mine.merge(other)
    assert mine.to_wire() == before


def test_an_empty_sketch_has_no_quantile():
    assert LatencySketch().quantile(0.5) is None
