"""The boundary search against fake servers: a pure function of measure(value) -> verdict."""

import pytest

from rankperf_data.campaign.search import search


def threshold_model(limit, calls=None):
    def measure(value):
        if calls is not None:
            calls.append(value)
        ok = value <= limit
        return ok, None if ok else {"observed": value}

    return measure


@pytest.mark.parametrize("limit", [1, 2, 3, 17, 37, 64, 999])
def test_integer_search_brackets_the_boundary_to_one_or_5_percent(limit):
    out = search(threshold_model(limit), 1, 1000, integer=True, max_iterations=40)
    fmax, imin = out.feasible_max.value, out.infeasible_min.value
    assert fmax <= limit < imin
    assert imin - fmax <= 1 or (imin - fmax) / imin < 0.05
    if limit < 20:  # a 5 % gap is below 1 there: the boundary is exact
        assert (fmax, imin) == (limit, limit + 1)
    assert out.reason == "precision_reached"
    # the boundary was confirmed: the answer was measured twice, passing both times
    assert [p.feasible for p in out.probes if p.value == fmax] == [True, True]
    assert out.probes[-1].confirmation


def test_bracket_doubles_then_bisects():
    calls = []
    search(threshold_model(37, calls), 1, 1000, integer=True)
    assert calls[:7] == [1, 2, 4, 8, 16, 32, 64]
    assert calls[7] == 48  # the middle of the bracket 32..64


def test_real_search_stops_within_precision():
    out = search(threshold_model(123.4), 1.0, 1e5, integer=False, precision=0.05)
    fmax, imin = out.feasible_max.value, out.infeasible_min.value
    assert fmax <= 123.4 < imin
    assert (imin - fmax) / imin < 0.05


def test_no_pass_and_no_failure_in_range():
    none = search(threshold_model(0), 1, 100, integer=True)
    assert none.feasible_max is None and none.reason == "no_pass_in_range" and len(none.probes) == 1
    top = search(threshold_model(10**6), 1, 100, integer=True)
    assert top.feasible_max.value == 100 and top.infeasible_min is None
    assert top.reason == "no_failure_in_range"
    assert [p.value for p in top.probes] == [1, 2, 4, 8, 16, 32, 64, 100]


def test_a_failed_confirmation_moves_the_boundary_down():
    seen = {}

    def flaky(value):  # 5 passes the first time only: a noisy boundary
        seen[value] = seen.get(value, 0) + 1
        ok = value <= 4 or (value == 5 and seen[value] == 1)
        return ok, None if ok else {"observed": value}

    out = search(flaky, 1, 100, integer=True)
    assert out.feasible_max.value == 4 and out.infeasible_min.value == 5
    assert any(p.non_monotonic for p in out.probes)


def test_iterations_are_bounded():
    out = search(threshold_model(777), 1, 1000, integer=True, max_iterations=5)
    assert len(out.probes) == 5 and out.reason == "max_iterations"
