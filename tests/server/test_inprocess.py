"""The reference server on a thread of the test process (serve_in_thread), over real sockets."""

from __future__ import annotations

import socket

import pytest
from server_http import Client

from rankperf_data.server.app import ServeConfig
from rankperf_data.server.testing import ThreadServer, serve_in_thread


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_starts_on_a_free_port_answers_counts_and_stops():
    with serve_in_thread(["--zero-latency", "--seed", "1"]) as srv:
        assert srv.port > 0 and srv.url == f"http://127.0.0.1:{srv.port}"
        c = Client(srv.url)
        r = c.post("/rerank", {"query": "q", "texts": ["a", "q b"]})
        assert r.status == 200 and r.json()[0]["index"] == 1
        assert srv.metric("rankperf_requests_received_total", route="/rerank") == 1
        assert srv.metric("rankperf_responses_total", route="/rerank", status=200) == 1
        assert srv.metrics()['rankperf_requests_received_total{route="/rerank"}'] == 1
        # stop() closes kept-alive connections too
    assert _refused(srv.port)
    with pytest.raises((ConnectionError, OSError)):
        c.post("/rerank", {"query": "q", "texts": ["a"]})
    c.close()


def test_two_servers_side_by_side_from_a_config():
    with serve_in_thread(config=ServeConfig(fixed_latency_ms=5.0)) as a, serve_in_thread(["--api", "nim"]) as b:
        assert a.port != b.port
        assert Client(a.url).post("/rerank", {"query": "q", "texts": ["a"]}).headers["x-inference-time"] == "5"
        assert Client(b.url).post("/rerank", {"query": "q", "texts": ["a"]}).status == 404
    assert _refused(a.port) and _refused(b.port)


def test_a_port_in_use_is_reported():
    with serve_in_thread(["--zero-latency"]) as srv:
        with pytest.raises(RuntimeError, match=f"cannot listen on 127.0.0.1:{srv.port}"):
            ThreadServer(ServeConfig(), port=srv.port, timeout=5)
        assert Client(srv.url).get("/health").status == 200  # the first one is unharmed
