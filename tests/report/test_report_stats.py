"""stats.py: every statistic against numpy and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rankperf_data.report import stats


def test_record_stats_on_1_to_100_matches_hand_values():
    s = stats.record_stats(np.arange(1, 101, dtype=np.float64))
    assert s.count == 100 and s.sum == 5050 and s.avg == 50.5
    assert (s.min, s.max) == (1.0, 100.0)
    assert s.p50 == pytest.approx(50.5)
    assert s.p99 == pytest.approx(99.01)
    assert s.p1 == pytest.approx(1.99)
    assert s.p25 == pytest.approx(25.75)
    assert s.p75 == pytest.approx(75.25)
    assert s.p90 == pytest.approx(90.1)
    # Population std of 1..n is sqrt((n^2 - 1) / 12).
    assert s.std == pytest.approx(math.sqrt((100**2 - 1) / 12))


def test_record_stats_match_numpy_linear_on_random_data():
    data = np.random.default_rng(7).lognormal(3, 1, 1001)
    s = stats.record_stats(data)
    for p in stats.PERCENTILES:
        assert s.get(f"p{p}") == pytest.approx(np.percentile(data, p, method="linear"), rel=1e-12)
    assert s.std == pytest.approx(np.std(data, ddof=0))
    assert s.avg == pytest.approx(data.mean()) and s.sum == pytest.approx(data.sum())


def test_empty_input_gives_none():
    assert stats.record_stats(np.array([])) is None
    assert stats.percentile(np.array([]), 50) is None
    assert stats.arrival_rate(np.array([5], dtype=np.int64)) is None


def test_single_value():
    s = stats.record_stats(np.array([7.0]))
    assert s.p1 == s.p99 == s.avg == 7.0 and s.std == 0.0 and s.count == 1


def test_arrival_rate_counts_gaps():
    sends = np.arange(1000, dtype=np.int64) * 10_000_000  # every 10 ms
    assert stats.arrival_rate(sends) == pytest.approx(100.0)


def test_time_bins_counts_and_percentiles():
    t = np.array([0, 0.2, 0.5, 1.1, 1.9, 3.5]) * 1e9
    v = np.array([1, 2, 3, 10, 20, 5.0])
    bins = stats.time_bins(t.astype(np.int64), v, origin_ns=0)
    assert bins.count.tolist() == [3, 2, 0, 1]
    assert bins.p50[0] == 2.0 and bins.p50[1] == 15.0 and np.isnan(bins.p50[2])
    assert bins.p99[3] == 5.0


def test_time_bins_rate_over_a_partial_last_bin():
    t = (np.array([0.1, 0.5, 0.9, 1.1, 1.2]) * 1e9).astype(np.int64)
    bins = stats.time_bins(t, np.zeros(5), origin_ns=0, end_ns=int(1.25e9))
    assert bins.count.tolist() == [3, 2]
    assert bins.covered_s.tolist() == pytest.approx([1.0, 0.25])
    assert bins.rate.tolist() == pytest.approx([3.0, 8.0])
