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


# rankperf's own Locust rows: "<path> (warmup)" beside the measured path, and Aggregated over both
WARM_ROW = "10,0,900,900.0,900.0,900.0,512.0,9.0,0.0,900,900,900,900,900,900,900,900,900,900,900"
BOTH_ROW = "110,4,60,128.0,1.02,900.0,512.0,99.0,3.6,60,70,80,90,900,900,900,900,900,900,900"
RANKPERF_FAILURES = """Method,Name,Error,Occurrences,First Seen,Last Seen
POST,/rerank,RerankFailure('500: HTTP 500'),2,2026-11-29T11:35:07Z,2026-11-29T11:35:09Z
POST,/rerank,"RerankFailure('500: {""error"": ""injected failure"", ""n"": 3}')",1,2026-11-29T11:35:07Z,2026-11-29T11:35:09Z
POST,/rerank,RerankFailure('timeout: no complete response within the request timeout'),1,2026-11-29T11:35:08Z,2026-11-29T11:35:08Z
POST,/rerank (warmup),RerankFailure('503: HTTP 503'),7,2026-11-29T11:35:01Z,2026-11-29T11:35:02Z
"""


def test_warmup_rows_are_left_out_of_the_aggregate(tmp_path):
    rows = [f"POST,/rerank,{ROW}", f"POST,/rerank (warmup),{WARM_ROW}", f",Aggregated,{BOTH_ROW}"]
    s = summary_from_locust_csv(write_locust_csv(tmp_path, rows, failures=RANKPERF_FAILURES))
    m = s.metrics
    assert m["completed_request_count"].value == 100 and m["request_count"].value == 96
    lat = m["request_latency"].stats
    assert (lat.avg, lat.max, lat.p50, lat.p99) == (50.62, 100.4, 51, 100)  # the measured row's own
    assert any("warmup rows left out (/rerank (warmup))" in n for n in s.notes)
    assert sum(g.count for g in s.errors) == 4  # the 7 warmup failures are not counted


def test_several_measured_rows_are_summed_without_percentiles(tmp_path):
    other = "50,0,20,20.0,10.0,30.0,256.0,45.0,0.0,20,20,20,20,30,30,30,30,30,30,30"
    rows = [f"POST,/rerank,{ROW}", f"POST,/v2/rerank,{other}", f"POST,/rerank (warmup),{WARM_ROW}",
            f",Aggregated,{BOTH_ROW}"]
    s = summary_from_locust_csv(write_locust_csv(tmp_path, rows, failures=None))
    m = s.metrics
    assert m["completed_request_count"].value == 150 and m["error_request_count"].value == 4
    lat = m["request_latency"].stats
    assert lat.avg == pytest.approx((50.62 * 100 + 20.0 * 50) / 150)
    assert (lat.min, lat.max, lat.count) == (1.02, 100.4, 150)
    assert lat.p50 is None and lat.p99 is None
    assert m["request_throughput"].value == pytest.approx(90.0 + 45.0 - 3.6)
    assert any("percentiles N/A" in n for n in s.notes)


def test_only_warmup_rows_is_a_clear_error(tmp_path):
    with pytest.raises(LocustCsvError, match="only warmup rows"):
        summary_from_locust_csv(write_locust_csv(tmp_path, [f"POST,/rerank (warmup),{WARM_ROW}",
                                                            f",Aggregated,{WARM_ROW}"]))


def test_rankperf_failures_show_their_status_code(tmp_path):
    s = summary_from_locust_csv(write_locust_csv(tmp_path, [f",Aggregated,{ROW}"], failures=RANKPERF_FAILURES))
    groups = [(g.code, g.type, g.message, g.count) for g in s.errors]
    assert groups == [
        (500, "Internal Server Error", "500 Internal Server Error", 2),  # empty body: the status line
        (500, "Internal Server Error", '{"error": "injected failure", "n": N}', 1),
        (None, "timeout", "no complete response within the request timeout", 1),
    ]
    text = render_console(s)
    assert "N/A" not in next(line for line in text.splitlines() if "500 Internal Server Error" in line)
