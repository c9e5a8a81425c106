"""/metrics on the reference server: exact per-route counters (the load tests' witness) and TEI's names."""

from __future__ import annotations

import threading

import pytest
from server_http import Client, raw_exchange

TEI_OK = {"query": "q", "texts": ["a", "b", "q c"]}
V2_OK = {"model": "m", "query": "q", "documents": ["a", "q"]}
NIM_OK = {"model": "m", "query": {"text": "q"}, "passages": [{"text": "a"}, {"text": "q"}]}


def _counters(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if k.startswith(prefix)}


def test_counters_are_exact_for_a_known_mix(fresh_server):
    srv = fresh_server("--zero-latency", "--payload-limit", "5000")
    c = Client(srv.url)
    for _ in range(5):
        assert c.post("/rerank", TEI_OK).status == 200
    for _ in range(2):
        assert c.post("/rerank", {"query": "q", "texts": []}).status == 400
    assert c.post("/rerank", body=b"{}", headers={"Content-Type": "text/plain"}).status == 415
    assert c.post("/nope", TEI_OK).status == 404
    assert c.get("/rerank").status == 405
    for _ in range(3):
        assert c.post("/v2/rerank", V2_OK).status == 200
    for _ in range(2):
        assert c.post("/v1/ranking", NIM_OK).status == 200
    assert c.post("/v1/rerank", body=b"x" * 6000, headers={"Content-Type": "application/json"}).status == 413
    assert c.get("/health").status == 200
    c.close()
    assert raw_exchange(srv.port, b"BAD\r\n\r\n").startswith(b"HTTP/1.1 400")

    m = srv.metrics()
    assert _counters(m, "rankperf_requests_received_total") == {
        'rankperf_requests_received_total{route="/rerank"}': 9,
        'rankperf_requests_received_total{route="other"}': 2,
        'rankperf_requests_received_total{route="/v2/rerank"}': 3,
        'rankperf_requests_received_total{route="/v1/ranking"}': 2,
        'rankperf_requests_received_total{route="/v1/rerank"}': 1,
        'rankperf_requests_received_total{route="/health"}': 1,
        'rankperf_requests_received_total{route="/metrics"}': 1,  # this scrape, counted before rendering
    }
    assert _counters(m, "rankperf_responses_total") == {
        'rankperf_responses_total{route="/rerank",status="200"}': 5,
        'rankperf_responses_total{route="/rerank",status="400"}': 2,
        'rankperf_responses_total{route="/rerank",status="415"}': 1,
        'rankperf_responses_total{route="/rerank",status="405"}': 1,
        'rankperf_responses_total{route="other",status="404"}': 1,
        'rankperf_responses_total{route="other",status="400"}': 1,
        'rankperf_responses_total{route="/v2/rerank",status="200"}': 3,
        'rankperf_responses_total{route="/v1/ranking",status="200"}': 2,
        'rankperf_responses_total{route="/v1/rerank",status="413"}': 1,
        'rankperf_responses_total{route="/health",status="200"}': 1,
    }
    assert _counters(m, "rankperf_pairs_total") == {
        'rankperf_pairs_total{route="/rerank"}': 15,
        'rankperf_pairs_total{route="/v2/rerank"}': 6,
        'rankperf_pairs_total{route="/v1/ranking"}': 4,
    }
    assert _counters(m, "rankperf_faults_injected_total") == {}
    assert _counters(m, "rankperf_requests_dropped_total") == {}
    # TEI's own names: requests that reached a rerank handler (framework rejections never do).
    assert m['te_request_count{method="batch"}'] == 12
    assert m['te_request_success{method="batch"}'] == 10
    assert m['te_request_failure{err="validation"}'] == 2
    assert m["te_request_duration_count"] == 10
    assert m["te_queue_size"] == 0
    assert m["rankperf_connections_opened"] >= 2


def test_counts_stay_exact_under_concurrency(fresh_server):
    srv = fresh_server("--zero-latency", "--fault", "500:0.2", "--fault", "bad-json:0.1", "--seed", "5")
    statuses: list[int] = []
    lock = threading.Lock()

    def user() -> None:
        c = Client(srv.url)
        got = [c.post("/rerank", TEI_OK).status for _ in range(50)]
        c.close()
        with lock:
            statuses.extend(got)

    threads = [threading.Thread(target=user) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    m = srv.metrics()
    assert m['rankperf_requests_received_total{route="/rerank"}'] == 400
    assert m['rankperf_responses_total{route="/rerank",status="200"}'] == statuses.count(200)
    assert m['rankperf_responses_total{route="/rerank",status="500"}'] == statuses.count(500)
    assert m['rankperf_faults_injected_total{kind="500",route="/rerank"}'] == statuses.count(500)
    assert m['rankperf_pairs_total{route="/rerank"}'] == 3 * statuses.count(200)
    bad_json = m['rankperf_faults_injected_total{kind="bad-json",route="/rerank"}']
    assert 0 < bad_json < statuses.count(200)


def test_metrics_text_format(client):
    r = client.get("/metrics")
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.body.decode()
    for name in ("te_request_count", "te_request_success", "te_request_failure", "te_queue_size",
                 "te_request_duration", "te_batch_next_size", "rankperf_requests_received_total",
                 "rankperf_responses_total", "rankperf_faults_injected_total", "rankperf_pairs_total"):
        assert f"# TYPE {name} " in text, name
    assert 'te_request_duration_bucket{le="+Inf"}' in text


def test_tei_names_as_teis_exporter_renders_them(fresh_server):
    """TEI's metric names with the capacity model's real times: per-pair te_predict_*, TEI's buckets,
    Rust's float formatting, no HELP lines for TEI's names, counters without _total."""
    from rankperf_data.report.promtext import histogram_quantile, parse_exposition

    srv = fresh_server("--batch-overhead-ms", "5", "--per-token-us", "0")  # each batch takes 5 ms
    c = Client(srv.url)
    for _ in range(4):
        assert c.post("/rerank", TEI_OK).status == 200  # 3 pairs each
    text = c.get("/metrics").body.decode()
    c.close()
    assert not [line for line in text.splitlines() if line.startswith("# HELP te_")]
    assert 'te_request_duration_bucket{le="0.000015000000000000002"}' in text  # 1e-5 x 1.5^1, as Rust writes it
    assert 'te_request_duration_bucket{le="14.561096060497135"}' in text  # 1e-5 x 1.5^35, the last bound
    assert 'te_batch_next_size_bucket{le="1"}' in text and 'te_batch_next_size_bucket{le="4096"}' in text
    assert "_total" not in "".join(line for line in text.splitlines() if line.startswith("te_"))
    fams = parse_exposition(text)
    size_bounds = sorted(float(k) for k in fams["te_batch_next_size"]["series"][0]["buckets"])
    assert size_bounds == [2.0**k for k in range(13)] + [float("inf")]  # 2^0..2^12
    assert fams["te_predict_count"]["series"][0]["value"] == 12
    assert fams["te_predict_success"]["series"][0]["value"] == 12
    assert fams["te_request_success"]["series"] == [{"labels": {"method": "batch"}, "value": 4.0}]
    for name in ("te_request_duration", "te_request_queue_duration", "te_predict_queue_duration"):
        assert fams[name]["series"][0]["labels"] == {}, name  # TEI's histograms carry no labels
    inference = fams["te_predict_inference_duration"]["series"][0]
    assert inference["count"] == 12 and inference["sum"] == pytest.approx(12 * 0.005, rel=1e-6)
    p50 = histogram_quantile(0.5, inference["buckets"])
    assert p50.lower < 0.005 <= p50.upper  # every pair's inference took the batch's 5 ms
    assert fams["te_request_input_length"]["series"][0]["count"] == 12
