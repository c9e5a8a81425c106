"""HTTP/1.1 framing of the reference server over raw sockets: keep-alive, pipelining, limits, garbage."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time

import orjson
import pytest
from server_http import post_bytes, raw_exchange, split_responses

BODY = orjson.dumps({"query": "q", "texts": ["a", "q b"]})


def test_keep_alive_serves_many_requests_on_one_connection(zero_server):
    with socket.create_connection(("127.0.0.1", zero_server.port), timeout=5) as s:
        for _ in range(20):
            s.sendall(post_bytes("/rerank", BODY))
            data = b""
            while b"\r\n\r\n" not in data or len(split_responses(data)[0][2]) < int(
                    split_responses(data)[0][1]["content-length"]):
                data += s.recv(65536)
            assert split_responses(data)[0][0] == 200


def test_pipelined_requests_are_answered_in_order(zero_server):
    reqs = (post_bytes("/rerank", BODY) + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            + post_bytes("/rerank", b"{}") + b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    responses = split_responses(raw_exchange(zero_server.port, reqs))
    assert [r[0] for r in responses] == [200, 200, 422, 404]
    assert responses[-1][1]["connection"] == "close"


def test_pipelined_requests_wait_for_a_slow_answer(fresh_server):
    srv = fresh_server("--fixed-latency-ms", "30")
    reqs = post_bytes("/rerank", BODY) + b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    responses = split_responses(raw_exchange(srv.port, reqs))
    assert [r[0] for r in responses] == [200, 200]
    assert orjson.loads(responses[0][2])[0]["index"] == 1


def test_connection_close_and_http_1_0(zero_server):
    data = raw_exchange(zero_server.port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"connection: close" in data
    data = raw_exchange(zero_server.port, b"GET /health HTTP/1.0\r\n\r\n")  # closes without keep-alive
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")


def test_request_split_across_many_writes(zero_server):
    raw = post_bytes("/rerank", BODY)
    with socket.create_connection(("127.0.0.1", zero_server.port), timeout=5) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(0, len(raw), 7):
            s.sendall(raw[i:i + 7])
            time.sleep(0.001)
        data = s.recv(65536)
    assert split_responses(data)[0][0] == 200


def test_chunked_request_body(zero_server):
    head = b"POST /rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n" \
           b"Connection: close\r\n\r\n"
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(BODY[i:i + 10]), BODY[i:i + 10]) for i in range(0, len(BODY), 10))
    responses = split_responses(raw_exchange(zero_server.port, head + chunks + b"0\r\n\r\n"))
    assert responses[0][0] == 200 and len(orjson.loads(responses[0][2])) == 2


def test_oversize_body_gets_413_before_it_is_sent(fresh_server):
    srv = fresh_server("--zero-latency", "--payload-limit", "1000")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(b"POST /rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 5000000\r\n\r\n")
        status, headers, body = split_responses(s.recv(65536))[0]
    assert status == 413
    assert body == b"Failed to buffer the request body: length limit exceeded"
    assert headers["content-type"].startswith("text/plain")


def test_oversize_body_is_discarded_and_the_connection_kept(fresh_server):
    srv = fresh_server("--zero-latency", "--payload-limit", "1000")
    big = post_bytes("/v2/rerank", b"x" * 50_000)
    reqs = big + post_bytes("/rerank", BODY, extra="Connection: close\r\n")
    responses = split_responses(raw_exchange(srv.port, reqs))
    assert [r[0] for r in responses] == [413, 200]
    assert orjson.loads(responses[0][2]) == {"message": "invalid request: request body too large"}


def test_expect_100_continue(fresh_server):
    srv = fresh_server("--zero-latency", "--payload-limit", "1000")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(post_bytes("/rerank", b"", extra="Expect: 100-continue\r\n").replace(
            b"Content-Length: 0", b"Content-Length: %d" % len(BODY)))
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(BODY)
        assert split_responses(s.recv(65536))[0][0] == 200
    data = raw_exchange(srv.port, b"POST /rerank HTTP/1.1\r\nHost: x\r\nContent-Length: 9999\r\n"
                                  b"Expect: 100-continue\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 413 ") and b"connection: close" in data


def test_garbage_is_400_and_closes(zero_server):
    for junk in (b"HELLO\r\n\r\n", b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
                 b"POST /rerank HTTP/1.1\r\nContent-Length: abc\r\n\r\n"):
        data = raw_exchange(zero_server.port, junk)
        assert data.startswith(b"HTTP/1.1 400 "), data
        assert b"connection: close" in data


def test_headers_too_large_is_431(zero_server):
    data = raw_exchange(zero_server.port, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 431 ")


def test_server_survives_clients_that_vanish(zero_server):
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", zero_server.port), timeout=5)
        s.sendall(post_bytes("/rerank", BODY)[:30])
        s.close()
    data = raw_exchange(zero_server.port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 OK")


def test_a_client_that_reads_late_gets_every_pipelined_answer(zero_server):
    import threading

    n = 3000
    raw = post_bytes("/rerank", BODY) * n
    with socket.create_connection(("127.0.0.1", zero_server.port), timeout=10) as s:
        sender = threading.Thread(target=s.sendall, args=(raw,))
        sender.start()
        time.sleep(0.3)  # the server's write buffer fills up meanwhile: it must stop reading, not buffer
        data = b""
        while data.count(b"HTTP/1.1 200 OK") < n:
            chunk = s.recv(1 << 20)
            assert chunk
            data += chunk
        sender.join(10)
    assert data.count(b"HTTP/1.1 ") == n


def _client_hello() -> bytes:
    """The first bytes a TLS client sends: a real ClientHello, made by the ssl module."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    with contextlib.suppress(ssl.SSLWantReadError):  # it waits for the server's answer
        tls.do_handshake()
    return outgoing.read()


def test_tls_client_hello_on_the_plain_port_is_400_at_once(zero_server):
    hello = _client_hello()
    assert hello[0] == 0x16 and b"\r\n" not in hello[:16]  # a handshake record, no request line in sight
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", zero_server.port), timeout=5) as s:
        s.sendall(hello)  # and nothing more: a server waiting for a CRLF would never answer
        data = s.recv(65536)
    assert time.monotonic() - t0 < 1.0
    assert data.startswith(b"HTTP/1.1 400 ") and b"connection: close" in data
    assert b"TLS" in data and b"http://" in data


def test_https_client_against_the_plain_port_fails_fast_naming_the_version(zero_server):
    ctx = ssl.create_default_context()
    t0 = time.monotonic()
    with (socket.create_connection(("127.0.0.1", zero_server.port), timeout=5) as raw,
          pytest.raises(ssl.SSLError) as failed):
        ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    assert time.monotonic() - t0 < 1.0  # answered, not left to the 5 s socket timeout
    assert "WRONG_VERSION_NUMBER" in str(failed.value) or "record layer" in str(failed.value), failed.value


def test_a_request_line_split_after_its_method_still_works(zero_server):
    whole = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", zero_server.port), timeout=5) as s:
        for piece in (b"\r", b"\nGE", b"T", b" /hea", whole[8:]):  # a stray CRLF cut in two, then the method
            s.sendall(piece)
            time.sleep(0.02)
        data = s.recv(65536)
    assert data.startswith(b"HTTP/1.1 200 OK"), data
