"""console.py: the rich table as plain text (title, columns, rows, width, notes)."""

from __future__ import annotations

import re

from report_factory import MS, build_records, fail, make_result

from rankperf_data.report.console import APPROXIMATE_NOTE, COLUMNS, ERROR_TITLE, TITLE, render_console
from rankperf_data.report.metrics import summarize
from rankperf_data.results.outcomes import ErrorKind


def _row(text: str, label: str) -> list[str]:
    line = next(line for line in text.splitlines() if f" {label} " in line)
    return [cell.strip() for cell in line.strip("│").split("│")]


def test_title_columns_and_values():
    text = render_console(summarize(make_result(build_records(range(1, 101)))))
    assert TITLE in text
    header = next(line for line in text.splitlines() if line.startswith("┃"))
    assert re.findall(r"\w+", header) == ["Metric", *COLUMNS]
    assert _row(text, "Request Latency (ms)") == ["Request Latency (ms)", "50.50", "1.00", "100.00", "99.01",
                                                  "90.10", "50.50", "28.87"]
    # Scalars: only avg, N/A elsewhere.
    assert _row(text, "Request Count (requests)") == ["Request Count (requests)", "100.00", *["N/A"] * 6]
    assert "Pair Token Throughput (tokens/sec)" in text
    assert "\x1b[" not in text  # no ANSI codes


def test_no_rows_that_do_not_apply():
    text = render_console(summarize(make_result(build_records(range(1, 101)))))
    for absent in ("Error Request Count", "Error Rate", "Error Summary", "Output Sequence Length", "Effective", "Offered Rate", "Schedule Lag", "Server",
                   "Goodput"):
        assert absent not in text
    assert not any(cell == "0.00" for cell in _row(text, "Request Latency (ms)"))


def test_row_order_with_everything():
    rec = build_records([20.0] * 100, lag_ms=1.0)
    rec["server_queue_ms"] = 0.5
    fail(rec, [3], ErrorKind.HTTP, 500)
    text = render_console(summarize(make_result(rec, request_rate=100.0, goodput={"request_latency": 25})))
    order = ["Request Latency (ms)", "Latency from Intended Send (ms)", "Schedule Lag (ms)",
             "Request Throughput (requests/sec)", "Passage Throughput (passages/sec)",
             "Pair Token Throughput (tokens/sec)", "Passages per Request (passages)", "Query Tokens (tokens)",
             "Passage Tokens per Request (tokens)", "Server Queue Time (ms)", "Request Count (requests)",
             "Completed Requests (Success + Error) (requests)", "Error Request Count (requests)",
             "Request Error Rate (%)", "Goodput (requests/sec)", "Good Request Count (requests)",
             "GoodRequestFraction (ratio)", "Offered Rate (requests/sec)", "Achieved Rate (requests/sec)"]
    positions = [text.index(f" {label} ") for label in order]
    assert positions == sorted(positions)


def test_wide_table_is_never_wrapped_at_80_columns():
    rec = build_records([20.0] * 100, lag_ms=1.0)
    summary = summarize(make_result(rec, request_rate=100.0))
    for text in (render_console(summary), render_console(summary, width=200)):
        lines = text.splitlines()
        assert max(len(line) for line in lines) > 80
        assert "Latency from Intended Send (ms)" in text  # one piece, not wrapped
        table = [line for line in lines if line.startswith(("┃", "│", "┏", "┡", "└"))]
        assert len({len(line) for line in table}) == 1  # every table line the same width
        assert "…" not in text


def test_error_summary_table_comes_first():
    rec = build_records(range(1, 101))
    fail(rec, [1, 2], ErrorKind.HTTP, 500, 0)
    fail(rec, [3], ErrorKind.TIMEOUT)
    text = render_console(summarize(make_result(rec, ['{"error": "injected [failure]", "n": 2}'])))
    assert text.index(ERROR_TITLE) < text.index(TITLE)
    assert _row(text, "Internal Server Error") == ["500", "Internal Server Error",
                                                   '{"error": "injected [failure]", "n": N}', "2"]
    assert _row(text, "timeout") == ["N/A", "timeout", "", "1"]
    assert "Error Request Count (requests)" in text and "Request Error Rate (%)" in text


def test_warning_and_facts_lines():
    rec = build_records([20.0] * 200, gap_ms=20.0)
    summary = summarize(make_result(rec, request_rate=100.0, arrival_pattern="constant"))
    text = render_console(summary)
    assert "WARNING: offered rate not achieved" in text
    assert "tokens: word-level estimate" in text
    # the throughput rows' window, said next to the table
    window = summary.metrics["benchmark_duration"].value
    assert f"rates per second over {window:,.3f} s (first request sent to last response received)" in text
    assert "dataset sent: 200 requests, passages/request mean 3.00" in text
    summary.approximate = True
    assert APPROXIMATE_NOTE in render_console(summary)


def test_late_starts_row_in_open_loop_only():
    rec = build_records([20.0] * 100, gap_ms=10.0)
    rec["start_ns"][:4] += 12 * MS
    text = render_console(summarize(make_result(rec, request_rate=100.0, arrival_pattern="constant")))
    assert _row(text, "Late Starts (requests)") == ["Late Starts (requests)", "4.00", *["N/A"] * 6]
    assert _row(text, "Late Start Rate (%)")[1] == "4.00"
    assert text.index(" Achieved Rate ") < text.index(" Late Starts ")
    assert "late start: sent more than 10.00 ms after its intended time" in text
    closed = render_console(summarize(make_result(rec)))
    assert "Late Start" not in closed and "late start" not in closed


def test_inputs_line_has_min_and_max():
    rec = build_records(range(1, 5), passages=[1, 2, 4, 5])
    rec["query_tokens"] = [7, 10, 12, 30]
    rec["passage_tokens"] = [40, 100, 240, 250]
    text = render_console(summarize(make_result(rec)))
    assert ("dataset sent: 4 requests, passages/request mean 3.00 (min 1, max 5), query tokens mean 14.8 "
            "(min 7, max 30), tokens/passage mean 52.5 (per-request means: min 40.0, max 60.0)") in text
