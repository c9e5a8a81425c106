"""Prometheus text parsing, window increases with counter resets, histogram_quantile against hand-computed values."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rankperf_data.report.promtext import (
    NotPrometheus,
    counter_increase,
    histogram_increase,
    histogram_quantile,
    parse_exposition,
)

FIXTURES = Path(__file__).parent / "fixtures"
# A worked example (bucket increases already taken): bounds in seconds -> cumulative count.
WORKED = {"0.01": 40, "0.02": 70, "0.04": 90, "0.06": 98, "+Inf": 100}


def test_quantile_interpolates_inside_the_bucket_of_the_rank():
    p50 = histogram_quantile(0.5, WORKED)
    # rank 50 lies in (0.01, 0.02], 40 below it, 30 in it: 0.01 + 0.01 * 10 / 30
    assert p50.value == pytest.approx(0.04 / 3, rel=1e-12)
    assert (p50.lower, p50.upper, p50.at_least) == (0.01, 0.02, False)
    p95 = histogram_quantile(0.95, WORKED)
    assert p95.value == pytest.approx(0.0525, rel=1e-12)  # 0.04 + 0.02 * 5 / 8
    assert (p95.lower, p95.upper) == (0.04, 0.06)


def test_quantile_in_the_inf_bucket_is_the_largest_finite_bound_as_a_floor():
    p99 = histogram_quantile(0.99, WORKED)
    assert p99.value == 0.06 and p99.at_least and math.isinf(p99.upper)


def test_quantile_first_bucket_starts_at_zero_and_nan_cases_are_none():
    assert histogram_quantile(0.5, {"0.1": 10, "+Inf": 10}).value == pytest.approx(0.05)
    assert histogram_quantile(0.5, {"0.1": 0, "+Inf": 0}) is None  # no observations
    assert histogram_quantile(0.5, {"0.1": 3, "0.2": 5}) is None  # no +Inf bucket
    assert histogram_quantile(0.5, {"+Inf": 5}) is None  # fewer than two buckets


def test_quantile_raises_a_dip_to_the_bucket_below():
    # a non-monotonic scrape (0.2 reads lower than 0.1): PromQL treats the dip as no observations
    est = histogram_quantile(0.5, {"0.1": 6, "0.2": 4, "+Inf": 10})
    assert est.value == pytest.approx(0.1 * 5 / 6)


def test_counter_reset_takes_the_later_value_as_the_increase():
    assert counter_increase([100, 600, 300, 300]).value == 500 + 300
    assert counter_increase([100, 600, 300]).resets == 1
    assert counter_increase([None, 5, 9]).value == 9  # absent at first: created on first use


def test_histogram_increase_across_a_reset():
    a = {"buckets": {"0.1": 5, "+Inf": 10}, "sum": 1.0, "count": 10}
    b = {"buckets": {"0.1": 15, "+Inf": 60}, "sum": 5.0, "count": 60}
    c = {"buckets": {"0.1": 2, "+Inf": 4}, "sum": 0.3, "count": 4}  # restarted
    inc = histogram_increase([a, b, c])
    assert inc.buckets == {"0.1": 10 + 2, "+Inf": 50 + 4}
    assert inc.count == 54 and inc.sum == pytest.approx(4.3) and inc.resets == 1


def test_parses_tei_text_rust_bounds_and_names_without_total():
    fams = parse_exposition((FIXTURES / "tei_scrape_1.txt").read_text())
    assert fams["te_request_count"]["type"] == "counter"  # TEI writes no _total
    assert fams["te_request_count"]["series"] == [{"labels": {"method": "batch"}, "value": 62.0}]
    hist = fams["te_request_duration"]["series"][0]
    assert hist["labels"] == {} and hist["count"] == 60 and len(hist["buckets"]) == 36
    # Rust's "0.000015000000000000002" is the float 1e-5 * 1.5
    assert hist["buckets"][repr(1e-5 * 1.5)] == 0
    batch = fams["te_batch_next_size"]["series"][0]["buckets"]
    assert batch[repr(1.0)] == 0 and batch[repr(8.0)] == 5  # Rust writes le="1", "8"


def test_rust_and_python_bounds_are_one_bound():
    rust = parse_exposition('# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 4\nh_sum 2\nh_count 4\n')
    py = parse_exposition('# TYPE h histogram\nh_bucket{le="1.0"} 3\nh_bucket{le="+Inf"} 4\nh_sum 2.0\nh_count 4.0\n')
    assert rust["h"]["series"][0]["buckets"] == py["h"]["series"][0]["buckets"]


def test_vllm_created_samples_are_dropped_and_summaries_skipped():
    text = ("# HELP vllm:request_success_total Count.\n# TYPE vllm:request_success_total counter\n"
            'vllm:request_success_total{finished_reason="stop",model_name="m"} 3.0\n'
            'vllm:request_success_created{finished_reason="stop",model_name="m"} 1.7e9\n'
            "# TYPE http_request_size_bytes summary\nhttp_request_size_bytes_sum 10.0\n"
            "http_request_size_bytes_count 2.0\n")
    fams = parse_exposition(text)
    assert list(fams) == ["vllm:request_success"]
    assert fams["vllm:request_success"]["series"][0]["value"] == 3.0


@pytest.mark.parametrize("body", ["<!doctype html><html><body>metrics</body></html>", '{"metrics": []}',
                                  "Not Found", ""])
def test_html_json_and_error_pages_are_not_prometheus(body):
    with pytest.raises(NotPrometheus):
        parse_exposition(body)
