"""Client-side failures map to stable, named error kinds: unit checks, then real sockets."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import gevent
import pytest
from geventhttpclient import HTTPClient
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError

from rankperf_data.load.failures import ClosedEarly, classify, read_body, server_speaks_no_tls
from rankperf_data.results.outcomes import ErrorKind

LOCUSTFILE = str(Path(__file__).resolve().parents[2] / "locustfiles" / "rerank.py")


def test_failures_have_named_kinds():
    assert classify(gevent.Timeout(1))[0] == ErrorKind.TIMEOUT
    assert classify(TimeoutError())[0] == ErrorKind.TIMEOUT
    assert classify(ConnectionRefusedError(111, "Connection refused")) == (
        ErrorKind.CONNECTION, "ConnectionRefusedError: [Errno 111] Connection refused")
    assert classify(HTTPConnectionClosed("closed"))[0] == ErrorKind.CONNECTION
    assert classify(HTTPParseError("bad status line"))[0] == ErrorKind.INVALID_RESPONSE
    kind, message = classify(socket.gaierror(-2, "Name or service not known"))
    assert kind == ErrorKind.CONNECTION and message.startswith("cannot resolve host (DNS lookup failed)")
    kind, message = classify(ssl.SSLCertVerificationError("certificate verify failed"))
    assert kind == ErrorKind.CONNECTION and message.startswith("TLS error")


def test_connect_and_handshake_timeouts_are_told_apart_from_the_request_timeout():
    # gevent's socket timers: connect() says "timed out", the TLS handshake says so by name
    assert classify(TimeoutError("timed out")) == (ErrorKind.TIMEOUT, "no connection within --connect-timeout-seconds")
    kind, message = classify(TimeoutError("The handshake operation timed out"))
    assert kind == ErrorKind.CONNECTION and message.startswith("TLS error: no TLS handshake answer")
    assert classify(gevent.Timeout(1))[1] == "no complete response within the request timeout"


def test_only_a_server_with_no_tls_at_all_is_a_reason_to_stop():
    not_tls = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    not_tls.reason = "WRONG_VERSION_NUMBER"
    assert server_speaks_no_tls(not_tls)
    assert server_speaks_no_tls(TimeoutError("The handshake operation timed out"))
    bad_cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    bad_cert.reason = "CERTIFICATE_VERIFY_FAILED"
    assert not server_speaks_no_tls(bad_cert)  # a TLS server: its certificate is another matter
    assert not server_speaks_no_tls(TimeoutError("timed out"))
    assert not server_speaks_no_tls(ConnectionRefusedError(111, "Connection refused"))


def test_a_message_cut_by_the_peer_is_a_connection_error():
    assert classify(ClosedEarly(12, 50)) == (ErrorKind.CONNECTION, "connection closed early (12 of 50 body bytes)")
    assert classify(ClosedEarly(3, None))[1] == "connection closed early (3 body bytes of an undeclared length)"
    # the parser's own words when the socket ends inside the body or the headers
    assert classify(HTTPParseError("Incomplete response."))[0] == ErrorKind.CONNECTION
    assert classify(HTTPParseError("Invalid EOF state", 14)) == (
        ErrorKind.CONNECTION, "connection closed early (before the end of the headers)")
    assert classify(HTTPParseError("Invalid character in chunk size", 12))[0] == ErrorKind.INVALID_RESPONSE


# ---- over real sockets ------------------------------------------------------------------------
def _read_request(conn: socket.socket) -> bool:
    """Consume one HTTP request (headers and Content-Length body); False at end of stream."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += conn.recv(65536)
    return True


@contextmanager
def raw_server(answer: Callable[[int], tuple[bytes, bool]]) -> Iterator[str]:
    """A loopback HTTP server that writes ``answer(n)`` bytes for the n-th request (0-based),
    then closes the connection when the flag says so."""
    listener = socket.create_server(("127.0.0.1", 0))
    served = [0]
    lock = threading.Lock()

    def handle(conn: socket.socket) -> None:
        with conn:
            while _read_request(conn):
                with lock:
                    n, served[0] = served[0], served[0] + 1
                payload, close = answer(n)
                conn.sendall(payload)
                if close:
                    conn.shutdown(socket.SHUT_WR)
                    return

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


CUT_BODY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n" + b"[" * 12
NAN_JSON = b'[{"index":0,"score":NaN}]'
NAN_BODY = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(NAN_JSON), NAN_JSON))


def _outcome(url: str) -> tuple[ErrorKind, str]:
    client = HTTPClient.from_url(url, connection_timeout=5, network_timeout=5)
    try:
        response = client.request("POST", "/rerank", body=b"{}", headers={"Content-Type": "application/json"})
        read_body(response)
    except Exception as exc:
        return classify(exc)
    finally:
        client.close()
    return ErrorKind.OK, ""


@pytest.mark.parametrize(("payload", "kind", "message"), [
    pytest.param(CUT_BODY, ErrorKind.CONNECTION, "connection closed early (12 of 50 body bytes)", id="body-cut"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20\r\nabc", ErrorKind.CONNECTION,
                 "connection closed early (3 body bytes of an undeclared length)", id="chunk-cut"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Le", ErrorKind.CONNECTION,
                 "connection closed early (before the end of the headers)", id="headers-cut"),
    pytest.param(b"GARBAGE\r\n\r\n", ErrorKind.INVALID_RESPONSE, "malformed HTTP response", id="garbage-status"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
                 ErrorKind.INVALID_RESPONSE, "malformed HTTP response", id="garbage-chunk-size"),
])
def test_cut_messages_and_bad_http_over_a_socket(payload, kind, message):
    with raw_server(lambda n: (payload, True)) as url:
        got_kind, got_message = _outcome(url)
    assert got_kind == kind
    assert got_message.startswith(message)


def test_cut_body_and_nan_score_through_a_locust_run(tmp_path, clean_env):
    """The same two answers through a real Locust process: records say connection / validation."""
    from rankperf_data.results.disk import load_run

    artifacts = tmp_path / "run"
    env = {**clean_env, "HF_HUB_OFFLINE": "1"}
    with raw_server(lambda n: (CUT_BODY, True) if n % 2 == 0 else (NAN_BODY, False)) as url:
        cmd = [str(Path(sys.executable).parent / "locust"), "-f", LOCUSTFILE, "--headless",
               "-H", url, "-u", "1", "-r", "1", "--request-count", "4", "--rankings-passages-mean", "1",
               "--request-timeout-seconds", "10", "--artifact-dir", str(artifacts), "TeiRerankUser"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 1, proc.stderr[-3000:]  # every measured request failed
    run = load_run(artifacts)
    kinds = Counter((int(r["error_kind"]), run.messages[r["error_msg"]]) for r in run.records)
    assert kinds == {
        (ErrorKind.CONNECTION, "connection closed early (12 of 50 body bytes)"): 2,
        (ErrorKind.VALIDATION, "non-finite score at result 0 (index 0: nan)"): 2,
    }
