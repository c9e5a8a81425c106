"""Arrival schedules: rates, gap shapes, determinism, and worker shares that add up."""

import itertools

import numpy as np
import pytest

from rankperf_data.load import pacing


def take(it, n):
    return np.fromiter(itertools.islice(it, n), dtype=float)


def test_constant_gaps_are_equal_and_do_not_drift():
    t = take(pacing.constant_offsets(500.0), 100_001)
    gaps = np.diff(t)
    assert np.allclose(gaps, 1 / 500.0)
    assert t[-1] == pytest.approx(100_000 / 500.0, abs=1e-9)


def test_constant_worker_shares_interleave_to_the_total_rate():
    merged = np.sort(np.concatenate([take(pacing.constant_offsets(300.0, w, 3), 1000) for w in range(3)]))
    assert np.allclose(np.diff(merged), 1 / 300.0)


def test_poisson_rate_and_coefficient_of_variation():
    t = take(pacing.poisson_offsets(500.0, seed=7), 20_000)
    gaps = np.diff(t)
    assert 20_000 / t[-1] == pytest.approx(500.0, rel=0.03)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.05)


def test_poisson_is_deterministic_per_seed_and_worker():
    a = take(pacing.poisson_offsets(100.0, seed=1, worker=0, workers=2), 50)
    b = take(pacing.poisson_offsets(100.0, seed=1, worker=0, workers=2), 50)
    c = take(pacing.poisson_offsets(100.0, seed=1, worker=1, workers=2), 50)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_poisson_shares_superpose_to_the_total_rate():
    merged = np.sort(np.concatenate([take(pacing.poisson_offsets(400.0, 3, w, 4), 5000) for w in range(4)]))
    horizon = min(take(pacing.poisson_offsets(400.0, 3, w, 4), 5000)[-1] for w in range(4))
    inside = merged[merged <= horizon]
    assert len(inside) / horizon == pytest.approx(400.0, rel=0.05)
    gaps = np.diff(inside)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.06)


def test_bad_inputs():
    with pytest.raises(ValueError):
        next(pacing.constant_offsets(0))
    with pytest.raises(ValueError):
        pacing.schedule("gamma", 1.0, 0)
