"""Server rows by known names: vLLM pooling (per pair, engine label summed) and Infinity (per handler)."""

from __future__ import annotations

import pytest

from rankperf_data.report.promtext import parse_exposition
from rankperf_data.report.server_metrics import ServerScrapes, compute_window
from rankperf_data.report.server_rows import server_rows

URL = "http://127.0.0.1:9/metrics"


def _vllm(n0: float, n1: float) -> str:
    # two engines; prometheus_client's formatting (1.0, +Inf, _total, _created)
    out = ["# HELP vllm:e2e_request_latency_seconds Histogram of e2e request latency in seconds.",
           "# TYPE vllm:e2e_request_latency_seconds histogram"]
    for engine, n in (("0", n0), ("1", n1)):
        labels = f'engine="{engine}",model_name="m"'
        out += [f'vllm:e2e_request_latency_seconds_bucket{{{labels},le="0.3"}} {n}',
                f'vllm:e2e_request_latency_seconds_bucket{{{labels},le="0.5"}} {n}',
                f'vllm:e2e_request_latency_seconds_bucket{{{labels},le="+Inf"}} {n}',
                f"vllm:e2e_request_latency_seconds_count{{{labels}}} {n}",
                f"vllm:e2e_request_latency_seconds_sum{{{labels}}} {n * 0.1}"]
    # prometheus_client writes the _created samples as a family of their own, after the histogram's
    out += ["# TYPE vllm:e2e_request_latency_seconds_created gauge",
            'vllm:e2e_request_latency_seconds_created{engine="0",model_name="m"} 1.7e9',
            'vllm:e2e_request_latency_seconds_created{engine="1",model_name="m"} 1.7e9']
    out += ["# TYPE vllm:request_success_total counter",
            f'vllm:request_success_total{{engine="0",finished_reason="stop",model_name="m"}} {n0}',
            f'vllm:request_success_total{{engine="1",finished_reason="stop",model_name="m"}} {n1}']
    return "\n".join(out) + "\n"


def _scrapes(texts: list[str]) -> ServerScrapes:
    kinds = ["baseline"] + ["periodic"] * (len(texts) - 2) + ["final"]
    return ServerScrapes(configured=[URL], successful=[URL], scrapes=[
        {"endpoint_url": URL, "timestamp_ns": i, "kind": k, "families": parse_exposition(t)}
        for i, (k, t) in enumerate(zip(kinds, texts, strict=True))])


def test_vllm_rows_sum_engines_and_count_pairs():
    window = compute_window(_scrapes([_vllm(10, 0), _vllm(40, 30)]), "profiling", 2.0)
    rows = server_rows(window, 150.0, "/rerank")
    assert rows.flavour == "vllm"
    tags = {m.tag: m for m in rows.rows}
    duration = tags["server_request_duration"]
    assert duration.header.startswith("Server Pair Duration") and duration.stats.count == 60
    assert duration.stats.avg == pytest.approx(100.0)  # 0.1 s per pair
    assert duration.stats.p50 == pytest.approx(150.0)  # all in (0, 0.3]: rank 30 of 60 -> 0.15 s
    assert tags["server_pair_throughput"].value == pytest.approx(60 / 2.0)
    assert rows.overhead_ms is None  # a pair's time is not a call's: no client-minus-server row


def _infinity(rerank: int, health: int) -> str:
    out = ["# TYPE http_request_duration_seconds histogram"]
    for handler, n in (("/rerank", rerank), ("/health", health)):
        out += [f'http_request_duration_seconds_bucket{{handler="{handler}",le="0.1",method="POST"}} {n}',
                f'http_request_duration_seconds_bucket{{handler="{handler}",le="+Inf",method="POST"}} {n}',
                f'http_request_duration_seconds_count{{handler="{handler}",method="POST"}} {n}',
                f'http_request_duration_seconds_sum{{handler="{handler}",method="POST"}} {n * 0.05}']
    out += ["# TYPE http_requests_total counter",
            f'http_requests_total{{handler="/rerank",method="POST",status="2xx"}} {rerank}',
            f'http_requests_total{{handler="/health",method="GET",status="2xx"}} {health}']
    return "\n".join(out) + "\n"


def test_infinity_rows_take_the_rerank_handler_only():
    window = compute_window(_scrapes([_infinity(0, 0), _infinity(20, 500)]), "profiling", 4.0)
    rows = server_rows(window, 60.0, "/rerank")
    assert rows.flavour == "infinity"
    tags = {m.tag: m for m in rows.rows}
    assert tags["server_request_duration"].stats.count == 20
    assert tags["server_request_throughput"].value == pytest.approx(5.0)
    assert rows.overhead_ms == pytest.approx(60.0 - 50.0)


def test_unknown_names_give_no_rows():
    text = "# TYPE my_requests counter\nmy_requests 3\n"
    assert server_rows(compute_window(_scrapes([text, text]), "profiling", 1.0), 1.0, "/rerank") is None
