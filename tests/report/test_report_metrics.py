"""metrics.py: which metrics a run has and their values (warmup, errors, goodput, open loop, tokens)."""

from __future__ import annotations

import numpy as np
import pytest
from report_factory import MS, T0, build_records, fail, make_result

from rankperf_data.report.metrics import (
    DEFINITIONS,
    LAG_P99_LIMIT_MS,
    SATURATION_MIN_WALL_S,
    normalise_message,
    parse_goodput,
    summarize,
)
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import PHASE_WARMUP

WINDOW_S = 1.09  # request 99 starts at 990 ms and takes 100 ms


def _value(summary, tag):
    return summary.metrics[tag].value


def test_closed_loop_run():
    s = summarize(make_result(build_records(range(1, 101))))
    lat = s.metrics["request_latency"].stats
    assert (lat.count, lat.avg, lat.p50, lat.min, lat.max) == (100, 50.5, 50.5, 1.0, 100.0)
    assert lat.p99 == pytest.approx(99.01)
    assert _value(s, "benchmark_duration") == pytest.approx(WINDOW_S)
    assert _value(s, "request_throughput") == pytest.approx(100 / WINDOW_S)
    assert _value(s, "passage_throughput") == pytest.approx(300 / WINDOW_S)
    # (query, passage) pair tokens: 32 query tokens x 3 passages + 3 x 128 passage tokens.
    assert _value(s, "pair_token_throughput") == pytest.approx(100 * (32 * 3 + 384) / WINDOW_S)
    assert _value(s, "request_count") == 100 and _value(s, "completed_request_count") == 100
    assert _value(s, "request_error_rate") == 0.0
    assert s.metrics["http_req_data_sent"].stats.avg == 2.0  # 2048 bytes = 2 KB
    absent = {"error_request_count", "intended_latency", "schedule_lag", "offered_rate", "achieved_rate",
              "goodput", "server_queue_time", "server_inference_time", "server_tokenization_time"}
    assert absent.isdisjoint(s.metrics)
    assert set(s.metrics) <= set(DEFINITIONS)
    assert not s.errors and not s.warnings and not s.rate_not_achieved and s.is_complete


def test_warmup_records_are_excluded_and_reported_apart():
    warm = build_records([900.0] * 5, phase=PHASE_WARMUP, t0=T0 - 10_000 * MS, first_index=1000)
    prof = build_records(range(1, 101))
    s = summarize(make_result(np.concatenate([warm, prof])))
    assert s.metrics["request_latency"].stats.count == 100
    assert s.metrics["request_latency"].stats.max == 100.0
    assert _value(s, "completed_request_count") == 100
    assert s.distribution.requests == 100
    assert s.warmup_metrics["request_latency"].stats.avg == 900.0
    assert s.warmup_metrics["request_count"].value == 5


def test_errors_counted_grouped_and_left_out_of_latency():
    rec = build_records(range(1, 101))
    msgs = ['{"error": "injected failure", "n": 3}', '{"error": "injected failure", "n": 36}',
            "request 1b4e28ba-2fa1-11d2-883f-0016d3cca427 timed out after 30s"]
    fail(rec, [2, 5, 8], ErrorKind.HTTP, 500, 0)
    fail(rec, [11], ErrorKind.HTTP, 500, 1)
    fail(rec, [20, 21], ErrorKind.TIMEOUT, 0, 2)
    fail(rec, [30], ErrorKind.CONNECTION)
    s = summarize(make_result(rec, msgs))
    assert _value(s, "error_request_count") == 7
    assert _value(s, "request_count") == 93 and _value(s, "completed_request_count") == 100
    assert _value(s, "request_error_rate") == pytest.approx(7.0)
    assert s.metrics["request_latency"].stats.count == 93
    groups = [(g.label, g.code, g.type, g.message, g.count) for g in s.errors]
    assert groups == [
        ("500", 500, "Internal Server Error", '{"error": "injected failure", "n": N}', 4),
        ("timeout", None, "timeout", "request X timed out after Ns", 2),
        ("connection", None, "connection", "", 1),
    ]


def test_latency_stats_use_successes_only():
    rec = build_records([1000.0] * 10 + [10.0] * 90)
    fail(rec, range(10), ErrorKind.HTTP, 503)
    s = summarize(make_result(rec))
    assert s.metrics["request_latency"].stats.max == 10.0
    assert s.errors[0].type == "Service Unavailable"


@pytest.mark.parametrize(("raw", "pattern"), [
    ("worker 12 failed at 0x7f3a2b", "worker N failed at X"),
    ("id deadbeef0123 and 550e8400-e29b-41d4-a716-446655440000", "id X and X"),
    ("line one\n   line two", "line one line two"),
    ("bge-reranker-v2-m3", "bge-reranker-vN-mN"),
    # the cause's errno and the URL asked for stay as they are
    ("ConnectionRefusedError: [Errno 111] Connection refused after 3 tries",
     "ConnectionRefusedError: [Errno 111] Connection refused after N tries"),
    ("POST http://127.0.0.1:8000/v1/rerank: Not Found", "POST http://127.0.0.1:8000/v1/rerank: Not Found"),
])
def test_normalise_message(raw, pattern):
    assert normalise_message(raw) == pattern


def test_normalise_message_truncates():
    out = normalise_message("x" * 500)
    assert len(out) == 120 and out.endswith("…")


def test_goodput_counts_requests_within_threshold():
    rec = build_records(range(1, 101))
    fail(rec, [99], ErrorKind.TIMEOUT)  # 100 ms request fails: 99 successes, 50 of them <= 50 ms
    s = summarize(make_result(rec, goodput={"request_latency": 50.0}))
    window = s.metrics["benchmark_duration"].value
    assert _value(s, "good_request_count") == 50
    assert _value(s, "goodput") == pytest.approx(50 / window)
    assert _value(s, "good_request_fraction") == pytest.approx(50 / 100)  # AIPerf: good / (success + error)


def test_goodput_spec_parsing_and_unsupported_tag_warning():
    assert parse_goodput("request_latency:250 intended_latency:400") == {
        "request_latency": 250.0, "intended_latency": 400.0}
    with pytest.raises(ValueError):
        parse_goodput("time_to_first_token:5")
    s = summarize(make_result(build_records(range(1, 11)), goodput={"ttft": 5.0}))
    assert any("ttft" in w for w in s.warnings)


def test_open_loop_rows_when_rate_is_met():
    rec = build_records([20.0] * 200, gap_ms=10.0, lag_ms=2.0)  # 100/s, sent 2 ms late
    s = summarize(make_result(rec, request_rate=100.0, arrival_pattern="constant"))
    assert s.metrics["intended_latency"].stats.avg == pytest.approx(22.0)
    assert s.metrics["schedule_lag"].stats.p99 == pytest.approx(2.0)
    assert s.metrics["request_latency"].stats.avg == pytest.approx(20.0)
    assert _value(s, "offered_rate") == 100.0
    assert _value(s, "achieved_rate") == pytest.approx(100.0)
    assert not s.rate_not_achieved and not s.warnings


def test_open_loop_rate_shortfall_is_flagged():
    rec = build_records([20.0] * 200, gap_ms=20.0)  # sent at 50/s
    s = summarize(make_result(rec, request_rate=100.0, arrival_pattern="constant"))
    assert s.rate_not_achieved
    assert "offered rate not achieved" in s.warnings[0] and "50.0% of" in s.warnings[0]


def test_open_loop_schedule_lag_is_flagged():
    rec = build_records([20.0] * 200, gap_ms=10.0, lag_ms=LAG_P99_LIMIT_MS + 5)
    s = summarize(make_result(rec, request_rate=100.0, arrival_pattern="constant"))
    assert s.rate_not_achieved and "schedule lag p99" in s.warnings[0]


def test_poisson_shortfall_allows_sampling_noise():
    rec = build_records([20.0] * 101, gap_ms=11.0)  # 90.9/s from 101 sends: within 3 sigma of 100/s
    s = summarize(make_result(rec, request_rate=100.0, arrival_pattern="poisson"))
    assert not s.rate_not_achieved


def test_unknown_token_counts_give_no_token_metrics():
    rec = build_records(range(1, 11), passages=[1, 2, 3, 4, 5, 1, 2, 3, 4, 5])
    rec["query_tokens"] = -1
    rec["passage_tokens"] = -1
    s = summarize(make_result(rec))
    assert {"query_tokens", "passage_tokens_per_request", "pair_token_throughput"}.isdisjoint(s.metrics)
    assert s.metrics["passages_per_request"].stats.avg == 3.0
    assert s.distribution.query_tokens is None and s.distribution.passage_tokens_per_passage is None


def test_server_timings_only_where_present():
    rec = build_records(range(1, 11))
    rec["server_inference_ms"][:4] = [1.0, 2.0, 3.0, 4.0]
    s = summarize(make_result(rec))
    assert s.metrics["server_inference_time"].stats.count == 4
    assert s.metrics["server_inference_time"].stats.avg == 2.5
    assert "server_queue_time" not in s.metrics


def test_realised_distribution():
    rec = build_records(range(1, 5), passages=[1, 2, 3, 6], query_tokens=10, tokens_per_passage=50)
    d = summarize(make_result(rec)).distribution
    assert (d.requests, d.passages.avg, d.passages.min, d.passages.max) == (4, 3.0, 1.0, 6.0)
    assert d.query_tokens.avg == 10 and d.passage_tokens_per_passage == 50.0


def test_cancelled_and_partial_runs_are_noted():
    result = make_result(build_records(range(1, 11)))
    result.was_cancelled, result.partial = True, True
    result.notes.append("worker 1 lost")
    s = summarize(result)
    assert not s.is_complete
    assert any("cancelled" in n for n in s.notes) and "worker 1 lost" in s.notes


def test_a_saturated_load_process_is_a_warning_naming_it():
    rec = build_records(range(1, 11), gap_ms=200.0)  # a 1.81 s window
    calm = summarize(make_result(rec, client_cpu={"0": 0.42, "1": 0.899}))
    assert not any("saturated" in w for w in calm.warnings)
    busy = summarize(make_result(rec, client_cpu={"0": 0.42, "1": 0.97, "2": 1.0}))
    [warning] = [w for w in busy.warnings if "saturated" in w]
    assert "worker 1 97%" in warning and "worker 2 100%" in warning and "worker 0" not in warning
    assert "--workers" in warning


def _saturated(summary) -> bool:
    return any("saturated" in w for w in summary.warnings)


def test_no_saturation_warning_on_a_tiny_run():
    # 20 requests in 16 ms read as "worker 0 100% of a CPU core": too short to mean anything
    tiny = build_records([1.0] * 20, gap_ms=0.8)
    s = summarize(make_result(tiny, client_cpu={"0": 1.0}))
    assert s.metrics["benchmark_duration"].value < 0.02
    assert not _saturated(s)


@pytest.mark.parametrize(("window_s", "warned"), [
    (SATURATION_MIN_WALL_S - 0.01, False),  # just too short
    (SATURATION_MIN_WALL_S, True),
    (5.0, True),
])
def test_saturation_warning_needs_a_long_enough_sending_window(window_s, warned):
    rec = build_records([1.0, 1.0], gap_ms=window_s * 1000 - 1.0)  # window = gap + the last 1 ms request
    s = summarize(make_result(rec, client_cpu={"0": 0.95}))
    assert s.metrics["benchmark_duration"].value == pytest.approx(window_s)
    assert _saturated(s) is warned


def test_http_error_with_empty_body_shows_the_status_line():
    rec = build_records(range(1, 11))
    fail(rec, [1, 2], ErrorKind.HTTP, 401, 0)  # the load generator writes "HTTP 401" for an empty body
    fail(rec, [3], ErrorKind.HTTP, 599, 1)  # no standard reason phrase
    s = summarize(make_result(rec, ["HTTP 401", "HTTP 599"]))
    groups = [(g.code, g.type, g.message, g.count) for g in s.errors]
    assert groups == [(401, "Unauthorized", "401 Unauthorized", 2), (599, "HTTP 599", "HTTP 599", 1)]


def test_invalid_json_groups_by_parser_error_not_body_excerpt():
    rec = build_records(range(1, 11))
    msgs = ['response is not JSON (unexpected end of data): [{"index": 0, "score": 0.5}, {"index": 1, "score": 0.2}',
            'response is not JSON (unexpected end of data): [{"index": 0, "score": 0.5},',
            'response is not JSON (unexpected character, expected a JSON value): <html>oops</html>',
            "expected a list of results, got dict"]
    for row, msg_id in ((1, 0), (2, 0), (3, 1), (4, 2), (5, 3)):
        fail(rec, [row], ErrorKind.INVALID_RESPONSE, 200, msg_id)
    groups = [(g.message, g.count) for g in summarize(make_result(rec, msgs)).errors]
    assert groups == [("response is not JSON (unexpected end of data)", 3),
                      ("expected a list of results, got dict", 1),
                      ("response is not JSON (unexpected character, expected a JSON value)", 1)]


def test_late_starts_counted_in_open_loop_only():
    rec = build_records([20.0] * 100, gap_ms=10.0)  # 100/s: late means more than max(1 ms, 10 ms) late
    rec["start_ns"][:5] += 10 * MS + 1  # just over one mean gap
    rec["start_ns"][5:9] += 10 * MS  # exactly one gap: on time
    s = summarize(make_result(rec, request_rate=100.0, arrival_pattern="constant"))
    assert _value(s, "late_start_count") == 5 and _value(s, "late_start_rate") == pytest.approx(5.0)
    assert s.late_start_threshold_ms == 10.0
    assert DEFINITIONS["late_start_count"] == ("Late Starts", "requests")
    # a high rate: the floor of 1 ms applies
    fast = build_records([1.0] * 100, gap_ms=0.5)
    fast["start_ns"][:7] += int(1.5 * MS)
    s = summarize(make_result(fast, request_rate=2000.0, arrival_pattern="constant"))
    assert _value(s, "late_start_count") == 7 and s.late_start_threshold_ms == 1.0
    closed = summarize(make_result(rec))
    assert "late_start_count" not in closed.metrics and closed.late_start_threshold_ms is None


def test_realised_distribution_min_max_of_query_tokens_and_per_request_tokens_per_passage():
    rec = build_records(range(1, 5), passages=[1, 2, 4, 5], query_tokens=10, tokens_per_passage=50)
    rec["query_tokens"] = [7, 10, 12, 30]
    rec["passage_tokens"] = [40, 100, 240, 250]  # per-request means 40, 50, 60, 50
    d = summarize(make_result(rec)).distribution
    assert (d.query_tokens.min, d.query_tokens.max) == (7, 30)
    assert d.passage_tokens_per_passage == pytest.approx(630 / 12)
    m = d.request_mean_passage_tokens
    assert (m.min, m.max, m.avg) == (40.0, 60.0, 50.0)
    assert d.to_dict()["request_mean_passage_tokens"] == {"mean": 50.0, "min": 40.0, "max": 60.0}
