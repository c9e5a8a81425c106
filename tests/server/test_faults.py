"""Fault injection on the reference server: every kind at rate 1, a rate check, and the counters."""

from __future__ import annotations

import socket

import orjson
import pytest
from server_http import Client, post_bytes

TEI = ("/rerank", {"query": "q", "texts": ["a", "q b", "c"]})
COHERE = ("/v1/rerank", {"query": "q", "documents": ["a", "q b", "c"]})
NIM = ("/v1/ranking", {"model": "m", "query": {"text": "q"}, "passages": [{"text": "a"}, {"text": "q b"}]})


def faulty(fresh_server, spec: str):
    return fresh_server("--zero-latency", "--seed", "7", "--fault", spec)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_status_faults_use_each_api_error_shape(fresh_server, status):
    srv = faulty(fresh_server, f"{status}:1")
    c = Client(srv.url)
    tei = c.post(*TEI)
    assert tei.status == status and set(tei.json()) == {"error", "error_type"}
    coh = c.post(*COHERE)
    assert coh.status == status and set(coh.json()) == {"message"}
    assert ("retry-after" in coh.headers) == (status == 429)
    nim = c.post(*NIM)
    assert nim.status == status and "detail" in nim.json()
    assert c.get("/health").status == 200  # only rerank routes are faulted
    c.close()
    m = srv.metrics()
    for route in ("/rerank", "/v1/rerank", "/v1/ranking"):
        assert m[f'rankperf_faults_injected_total{{kind="{status}",route="{route}"}}'] == 1
        assert m[f'rankperf_responses_total{{route="{route}",status="{status}"}}'] == 1


def test_hang_keeps_the_connection_open_without_answering(fresh_server):
    srv = faulty(fresh_server, "hang:1")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=0.5) as s:
        s.sendall(post_bytes(*_raw(TEI)))
        with pytest.raises(TimeoutError):
            s.recv(100)
    assert srv.metric("rankperf_faults_injected_total", kind="hang", route="/rerank") == 1
    assert srv.metric("rankperf_requests_received_total", route="/rerank") == 1
    assert srv.metric("rankperf_responses_total", route="/rerank", status=200) == 0


def test_reset_closes_with_rst_and_no_response(fresh_server):
    srv = faulty(fresh_server, "reset:1")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(post_bytes(*_raw(TEI)))
        with pytest.raises(ConnectionResetError):  # an orderly close (b"") would not raise
            s.recv(100)
    assert srv.metric("rankperf_faults_injected_total", kind="reset", route="/rerank") == 1


def test_slow_adds_its_delay_then_answers_normally(fresh_server):
    import time

    srv = fresh_server("--zero-latency", "--fault", "slow:1:150ms")
    c = Client(srv.url)
    t0 = time.perf_counter()
    r = c.post(*TEI)
    elapsed = time.perf_counter() - t0
    assert r.status == 200 and len(r.json()) == 3
    assert 0.14 < elapsed < 0.5
    c.close()
    srv2 = fresh_server("--zero-latency", "--fault", "slow:1", "--slow-ms", "80")
    c = Client(srv2.url)
    t0 = time.perf_counter()
    assert c.post(*COHERE).status == 200
    assert 0.07 < time.perf_counter() - t0 < 0.4
    c.close()
    assert srv2.metric("rankperf_faults_injected_total", kind="slow", route="/v1/rerank") == 1


@pytest.mark.parametrize("args, path, body, status", [
    ([], "/rerank", {"query": "q", "texts": []}, 400),  # a validation error
    ([], "/v1/ranking", {"model": "m"}, 422),
    ([], "/v2/rerank", None, 400),  # unparseable JSON
    (["--max-concurrent-requests", "1"], "/rerank", {"query": "q", "texts": ["a", "b"]}, 429),  # overload
])
def test_slow_delays_error_answers_too(fresh_server, args, path, body, status):
    import time

    srv = fresh_server("--zero-latency", "--fault", "slow:1:150ms", *args)
    c = Client(srv.url)
    t0 = time.perf_counter()
    if body is None:
        r = c.post(path, body=b"{nope", headers={"Content-Type": "application/json"})
    else:
        r = c.post(path, body)
    elapsed = time.perf_counter() - t0
    c.close()
    assert r.status == status
    assert 0.14 < elapsed < 0.6
    assert srv.metric("rankperf_faults_injected_total", kind="slow", route=path) == 1
    assert srv.metric("rankperf_responses_total", route=path, status=status) == 1


def test_bad_json_is_200_with_a_broken_body(fresh_server):
    srv = faulty(fresh_server, "bad-json:1")
    c = Client(srv.url)
    for path, body in (TEI, COHERE, NIM):
        r = c.post(path, body)
        assert r.status == 200 and r.body
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(r.body)
    c.close()


def test_wrong_count_drops_one_result(fresh_server):
    srv = faulty(fresh_server, "wrong-count:1")
    c = Client(srv.url)
    assert len(c.post(*TEI).json()) == 2
    assert len(c.post(*COHERE).json()["results"]) == 2
    assert len(c.post(*NIM).json()["rankings"]) == 1
    top1 = c.post("/v2/rerank", {"model": "m", "query": "q", "documents": ["a", "b", "c"], "top_n": 2}).json()
    assert len(top1["results"]) == 1
    c.close()


def test_bad_index_puts_one_index_out_of_range(fresh_server):
    srv = faulty(fresh_server, "bad-index:1")
    c = Client(srv.url)
    indices = [x["index"] for x in c.post(*TEI).json()]
    assert len(indices) == 3 and max(indices) == 3
    indices = [x["index"] for x in c.post(*COHERE).json()["results"]]
    assert max(indices) == 3
    rankings = c.post(*NIM).json()["rankings"]
    assert len(rankings) == 2 and rankings[0]["index"] == 2  # NIM's top result points past the 2 passages
    c.close()
    for route in ("/rerank", "/v1/rerank", "/v1/ranking"):
        assert srv.metric("rankperf_faults_injected_total", kind="bad-index", route=route) == 1


def test_content_faults_do_not_touch_error_answers(fresh_server):
    srv = faulty(fresh_server, "wrong-count:1")
    c = Client(srv.url)
    assert c.post("/rerank", {"query": "q", "texts": []}).status == 400
    c.close()
    assert srv.metric("rankperf_faults_injected_total", kind="wrong-count", route="/rerank") == 0


def test_rate_and_first_match_order(fresh_server):
    srv = fresh_server("--zero-latency", "--seed", "3", "--fault", "500:0.3", "--fault", "503:1.0")
    c = Client(srv.url)
    statuses = [c.post(*TEI).status for _ in range(300)]
    c.close()
    n500 = statuses.count(500)
    assert abs(n500 - 90) < 32  # 300 x 0.3, ~4 sigma
    assert statuses.count(503) == 300 - n500  # the second fault catches everything the first missed
    m = srv.metrics()
    assert m['rankperf_faults_injected_total{kind="500",route="/rerank"}'] == n500
    assert m['rankperf_faults_injected_total{kind="503",route="/rerank"}'] == 300 - n500


def test_same_seed_same_faults(fresh_server):
    runs = []
    for _ in range(2):
        srv = fresh_server("--zero-latency", "--seed", "11", "--fault", "429:0.5")
        c = Client(srv.url)
        runs.append([c.post(*TEI).status for _ in range(40)])
        c.close()
        srv.stop()
    assert runs[0] == runs[1] and 0 < runs[0].count(429) < 40


@pytest.mark.parametrize("spec", ["nope:0.1", "500", "500:1.5", "500:x", "slow:0.1:soon", "429:0.1:5ms"])
def test_bad_fault_specs_are_refused(spec, capsys):
    from rankperf_data.server.main import main

    assert main(["--port", "0", "--fault", spec]) == 2
    out, err = capsys.readouterr()
    assert "rankperf serve: error:" in err and out == ""


def _raw(route: tuple[str, dict]) -> tuple[str, bytes]:
    return route[0], orjson.dumps(route[1])
