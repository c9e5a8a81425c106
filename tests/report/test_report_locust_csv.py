"""locust_csv.py: a Summary from Locust's --csv files alone (Locust 2.47 column layout)."""

from __future__ import annotations

import pytest
from report_factory import ROW, write_locust_csv

from rankperf_data.report.console import APPROXIMATE_NOTE, render_console
from rankperf_data.report.locust_csv import LocustCsvError, summary_from_locust_csv


def test_aggregated_row(tmp_path):
    prefix = write_locust_csv(tmp_path, [f"POST,/rerank,{ROW}", f",Aggregated,{ROW}"])
    s = summary_from_locust_csv(prefix)
    m = s.metrics
    assert (m["request_count"].value, m["completed_request_count"].value) == (96, 100)
    assert m["error_request_count"].value == 4 and m["request_error_rate"].value == pytest.approx(4.0)
    lat = m["request_latency"].stats
    assert (lat.avg, lat.min, lat.max, lat.count) == (50.62, 1.02, 100.4, 100)
    assert (lat.p50, lat.p75, lat.p90, lat.p95, lat.p99) == (51, 76, 91, 96, 100)
    assert lat.std is None and lat.p1 is None and m["request_latency"].approximate
    assert m["request_throughput"].value == pytest.approx(86.4)  # successes/s over Locust's window
    assert m["benchmark_duration"].value == pytest.approx(100 / 90.0)
    assert s.approximate and s.source == "locust_csv"
    groups = [(g.code, g.type, g.message, g.count) for g in s.errors]
    assert groups == [(500, "Internal Server Error", "LocustBadStatusCode(code=N)", 3),
                      (None, "CatchResponseError", "CatchResponseError('validation: N results for N passages')", 1)]


def test_console_marks_percentiles_approximate(tmp_path):
    text = render_console(summary_from_locust_csv(write_locust_csv(tmp_path, [f",Aggregated,{ROW}"])))
    assert APPROXIMATE_NOTE in text
    row = next(line for line in text.splitlines() if "Request Latency (ms)" in line)
    assert row.rstrip("│ ").endswith("N/A")  # std is unknown
    assert "51.00" in row and "100.40" in row


def test_single_named_row_without_aggregated(tmp_path):
    s = summary_from_locust_csv(write_locust_csv(tmp_path, [f"POST,/rerank,{ROW}"], failures=None))
    assert s.metrics["completed_request_count"].value == 100 and s.errors == []


def test_ambiguous_rows_are_rejected(tmp_path):
    with pytest.raises(LocustCsvError, match="Aggregated"):
        summary_from_locust_csv(write_locust_csv(tmp_path, [f"POST,/a,{ROW}", f"POST,/b,{ROW}"]))


def test_empty_run_has_no_latency(tmp_path):
    empty = "0,0,0,0,0,0,0,0,0," + ",".join(["N/A"] * 11)
    s = summary_from_locust_csv(write_locust_csv(tmp_path, [f",Aggregated,{empty}"], failures=None))
    assert "request_latency" not in s.metrics and s.metrics["request_count"].value == 0


def test_missing_file(tmp_path):
    with pytest.raises(LocustCsvError, match="not found"):
        summary_from_locust_csv(tmp_path / "nothing")
