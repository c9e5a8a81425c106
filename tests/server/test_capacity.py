"""The reference server's capacity model over real sockets: queueing, saturation, permits, fixed latency."""

from __future__ import annotations

import socket
import statistics
import threading
import time

import orjson
from server_http import Client, post_bytes

# 32 texts x ~100 tokens: ~3,700 tokens per request, ~27 ms alone with the default a=5 ms, b=6 us/token.
BIG = {"query": "what is the capacity of the server", "texts": [f"passage {i} " + "lorem ipsum " * 32
                                                                 for i in range(32)]}


def _timed_posts(url: str, path: str, body: dict, n: int) -> list[tuple[float, dict]]:
    c = Client(url, timeout=20)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = c.post(path, body)
        out.append((time.perf_counter() - t0, r.headers))
        assert r.status == 200, r.body
    c.close()
    return out


def _concurrent(url: str, users: int, per_user: int) -> tuple[list[float], list[dict], float]:
    results: list[tuple[float, dict]] = []
    lock = threading.Lock()

    def user() -> None:
        got = _timed_posts(url, "/rerank", BIG, per_user)
        with lock:
            results.extend(got)

    threads = [threading.Thread(target=user) for _ in range(users)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    wall = time.perf_counter() - t0
    return [r[0] for r in results], [r[1] for r in results], wall


def test_latency_rises_and_throughput_saturates_with_concurrency(fresh_server):
    srv = fresh_server()  # the default model: bge-reranker-base on an A100
    alone, alone_headers, _ = _concurrent(srv.url, 1, 8)
    crowd, crowd_headers, wall = _concurrent(srv.url, 8, 5)
    tokens = int(alone_headers[0]["x-compute-tokens"])
    service = 0.005 + 6e-6 * tokens
    assert statistics.median(alone) >= service * 0.95
    assert statistics.median(crowd) > 2.5 * statistics.median(alone)
    # Queue time shows up in the headers; inference time per pair stays the batch duration.
    assert statistics.median(int(h["x-queue-time"]) for h in crowd_headers) > 5
    assert statistics.median(int(h["x-queue-time"]) for h in alone_headers) <= 2
    # The simulated GPU cannot go faster than 1/b tokens per second.
    assert 40 * tokens / wall < 1 / 6e-6 * 1.05
    assert srv.metric("te_batch_next_size_count") >= 1


def test_fixed_latency_answers_after_exactly_x_ms(fresh_server):
    srv = fresh_server("--fixed-latency-ms", "10.1")
    samples = _timed_posts(srv.url, "/rerank", {"query": "q", "texts": ["a", "b"]}, 10)
    assert {s[1]["x-inference-time"] for s in samples} == {"10"}
    assert {s[1]["x-queue-time"] for s in samples} == {"0"}
    # A busy-polling client, like a loaded load generator: no wake-up latency on the client side.
    raw = post_bytes("/rerank", orjson.dumps({"query": "q", "texts": ["a", "b"]}))
    with socket.create_connection(("127.0.0.1", srv.port)) as s:
        s.setblocking(False)
        times = [_spin_request(s, raw) * 1e3 for _ in range(40)]
    assert min(times) >= 10.1  # never early
    # Other processes only ever add time, so the fastest answers show the server's own accuracy
    # (~0.15-0.3 ms over); a millisecond-grained timer would make them ~0.9 ms late (10.05 -> 11 ms).
    assert min(times) < 10.1 + 0.6, sorted(times)
    # The median (~0.2-0.3 ms over on a quiet machine) is measured by benchmarks, not asserted here:
    # on a shared test machine it mostly measures the neighbours.


# 10 passages x 128 words: preparing one answer takes the server a few hundred microseconds.
_WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi " * 8).split()
WIDE = {"query": "gamma delta kappa", "texts": [" ".join(_WORDS[i:] + _WORDS[:i]) for i in range(10)]}


def test_fixed_latency_burst_is_answered_together_on_time(fresh_server):
    """16 requests arriving together are all due together: answers are prepared when the requests
    arrive, so at the deadline only their delivery is left (built then, the 16th would be ~16 builds late)."""
    srv = fresh_server("--fixed-latency-ms", "20")
    raw = post_bytes("/rerank", orjson.dumps(WIDE))
    socks = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(16)]
    try:
        bursts = [_burst(socks, raw) for _ in range(12)]
    finally:
        for s in socks:
            s.close()
    shown = [[round(x, 2) for x in sorted(b)] for b in bursts]
    assert min(min(b) for b in bursts) >= 20.0, shown  # never early
    # The best burst shows the server's own accuracy; the others mostly measure neighbouring processes.
    # Answers built at the deadline all wait for 16 builds (~5-10 ms here); timed from when each request
    # was handled rather than received, the last is due ~15 builds after the first (~3-5 ms).
    assert min(max(b) for b in bursts) - 20.0 < 2.5, shown


def _burst(socks: list[socket.socket], raw: bytes) -> list[float]:
    """Send one request on every connection at once; the latency of each answer, in ms."""
    import selectors

    sel = selectors.DefaultSelector()
    sent = {}
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    for s in socks:
        sent[s] = time.perf_counter()
        s.sendall(raw)
    got: dict[socket.socket, bytes] = {s: b"" for s in socks}
    latency = {}
    while len(latency) < len(socks):
        events = sel.select(5)
        assert events, "no answer within 5 s"
        for key, _ in events:
            s = key.fileobj
            got[s] += s.recv(65536)
            head, sep, body = got[s].partition(b"\r\n\r\n")
            if sep and len(body) >= int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0]):
                latency[s] = (time.perf_counter() - sent[s]) * 1e3
                sel.unregister(s)
    sel.close()
    time.sleep(0.01)
    return list(latency.values())


def _spin_request(s: socket.socket, raw: bytes) -> float:
    t0 = time.perf_counter()
    s.send(raw)
    while True:
        try:
            if s.recv(65536):
                return time.perf_counter() - t0
        except BlockingIOError:
            pass


def test_fixed_latency_does_not_queue(fresh_server):
    srv = fresh_server("--fixed-latency-ms", "100")
    _, _, wall = _concurrent(srv.url, 8, 2)  # 16 requests, 8 at a time: two rounds of 100 ms
    assert 0.2 <= wall < 0.45


def test_permits_are_pairs_and_overload_is_immediate(fresh_server):
    srv = fresh_server("--fixed-latency-ms", "300", "--max-concurrent-requests", "40")
    holder = threading.Thread(target=_timed_posts, args=(srv.url, "/rerank", BIG, 1))
    holder.start()  # holds 32 of the 40 permits for 300 ms
    c = Client(srv.url)
    assert _wait_for(lambda: srv.metric("rankperf_pairs_in_flight") == 32)
    t0 = time.perf_counter()
    partial = c.post("/rerank", {"query": "q", "texts": ["t"] * 10})  # 8 admitted, 2 refused
    partial_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    refused = c.post("/rerank", {"query": "q", "texts": ["t"]})  # no permit left... until the 300 ms end
    refused_s = time.perf_counter() - t0
    holder.join(5)
    assert partial.status == 429 and partial.json() == {"error": "Model is overloaded", "error_type": "Overloaded"}
    assert partial_s >= 0.25  # TEI answers only after the admitted pairs are computed
    assert refused.status in (200, 429)
    if refused.status == 429:
        assert refused_s < 0.1
    assert c.post("/rerank", {"query": "q", "texts": ["t"] * 32}).status == 200
    c.close()
    assert srv.metric("te_request_failure", err="overloaded") >= 1


def test_batches_respect_the_token_budget(fresh_server):
    srv = fresh_server("--max-batch-tokens", "1024", "--max-input-length", "512", "--per-token-us", "1")
    r = Client(srv.url).post("/rerank", BIG)
    assert r.status == 200
    tokens = int(r.headers["x-compute-tokens"])
    batches = srv.metric("te_batch_next_size_count")
    assert batches >= tokens / 1024
    assert srv.metric("te_batch_next_tokens_sum") == tokens
    assert srv.metric("te_batch_next_size_sum") == 32


def test_a_client_that_leaves_has_its_pairs_dropped(fresh_server):
    srv = fresh_server("--fixed-latency-ms", "5000")
    body = orjson.dumps({"query": "q", "texts": ["a", "b", "c"]})
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(b"POST /rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
              % len(body) + body)
    assert _wait_for(lambda: srv.metric("rankperf_pairs_in_flight") == 3)
    s.close()
    assert _wait_for(lambda: srv.metric("rankperf_requests_dropped_total", route="/rerank") == 1)
    assert srv.metric("rankperf_pairs_in_flight") == 0
    assert srv.metric("te_request_failure", err="dropped") == 1


def _wait_for(predicate, timeout: float = 5.0) -> bool:
    from rankperf_data.server.testing import wait_until

    return wait_until(predicate, timeout)


def test_timer_spin_option_keeps_answers_on_time(fresh_server):
    srv = fresh_server("--fixed-latency-ms", "5.1", "--timer-spin-us", "500")
    raw = post_bytes("/rerank", orjson.dumps({"query": "q", "texts": ["a"]}))
    with socket.create_connection(("127.0.0.1", srv.port)) as s:
        s.setblocking(False)
        times = [_spin_request(s, raw) * 1e3 for _ in range(20)]
    assert 5.1 <= min(times) < 5.1 + 0.6, sorted(times)
