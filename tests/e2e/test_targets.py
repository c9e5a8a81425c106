"""Targets that go wrong: refused, unreachable, unresolvable, TLS, and servers that are not rerank servers.

Each run ends with a clear message and a report of what happened, never a traceback. Nothing
leaves the machine: the DNS failure runs in a network namespace of its own (loopback only) whose
resolver is a local stub that answers "no such name".
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from e2e_support import BIN, export_json, load_records, received

from rankperf_data.ports import free_port
from rankperf_data.results.outcomes import ErrorKind

TEI_OK = b'[{"index":0,"score":0.9},{"index":1,"score":0.5}]'


class _Handler(http.server.BaseHTTPRequestHandler):
    status = 200
    body = TEI_OK
    content_type = "application/json"

    def do_POST(self):  # noqa: N802 (stdlib naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def serve(handler, tls_dir: Path | None = None):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls_dir is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls_dir / "cert.pem", tls_dir / "key.pem")
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def profile(url: str, artifacts: Path, env, *extra: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    cmd = [*prefix, str(BIN / "rankperf"), "profile", "--url", url, "--request-count", "6", "--concurrency", "2",
           "--rankings-passages-mean", "2", "--request-timeout-seconds", "5", "--artifact-dir", str(artifacts),
           *extra]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=90)


def assert_clean_failure(proc, artifacts: Path, kind: ErrorKind, needle: str):
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "every request failed" in (proc.stdout + proc.stderr).lower()
    records = load_records(artifacts)
    assert len(records) == 6 and (records["error_kind"] == kind).all()
    exported = export_json(artifacts)
    assert exported["request_count"]["avg"] == 0
    messages = " ".join(e["error_details"]["message"] for e in exported["error_summary"])
    assert needle.lower() in messages.lower()


def error_messages(artifacts: Path) -> str:
    return " ".join(e["error_details"]["message"] for e in export_json(artifacts)["error_summary"])


def test_refused(tmp_path, clean_env):
    port = free_port()  # nothing listens there
    proc = profile(f"127.0.0.1:{port}", tmp_path / "run", clean_env)
    assert_clean_failure(proc, tmp_path / "run", ErrorKind.CONNECTION, "refused")
    # the kernel's own words, errno included, in the export and on the command's stderr
    assert "[Errno 111] Connection refused" in error_messages(tmp_path / "run")
    assert "[Errno 111] Connection refused" in proc.stderr


def test_malformed_host_name_fails_in_the_resolver(tmp_path, clean_env):
    # an invalid hostname fails inside the resolver library, before any DNS query
    proc = profile("http://bad..host:8080", tmp_path / "run", clean_env)
    assert_clean_failure(proc, tmp_path / "run", ErrorKind.CONNECTION, "cannot resolve host")


# ---- a name that does not resolve: a real DNS lookup, answered on the machine ----------------------
NETNS_REQUIRE_ENV = "RANKPERF_REQUIRE_NETNS"  # set by .ci/run: fail there instead of skipping
NO_SUCH_HOST = "rankperf-no-such-host.invalid"  # .invalid is reserved (RFC 2606): never a real name

# A DNS stub for 127.0.0.1:53: every query gets NXDOMAIN (same id and question, no answer).
NXDOMAIN_STUB = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(512)
    flags = 0x8000 | (int.from_bytes(q[2:4], "big") & 0x0100) | 0x0080 | 3  # QR, RD as asked, RA, NXDOMAIN
    s.sendto(q[:2] + flags.to_bytes(2, "big") + q[4:6] + bytes(6) + q[12:], peer)
"""


def _netns_unavailable(reason: str) -> None:
    if os.environ.get(NETNS_REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {NETNS_REQUIRE_ENV}=1 requires this test to run")
    pytest.skip(reason)


@pytest.fixture
def dns_sandbox():
    """A network namespace with loopback only, its resolv.conf pointing at a local NXDOMAIN stub.

    `ip netns exec NAME` mounts /etc/netns/NAME/resolv.conf over /etc/resolv.conf for the command
    it runs; with no other interface, no query can reach the machine's configured DNS server.
    """
    if shutil.which("ip") is None:
        _netns_unavailable("iproute2 is not installed: cannot create a network namespace")
    name = f"rpdns{secrets.token_hex(3)}"
    created_netns_dir = not Path("/etc/netns").exists()
    conf_dir = Path("/etc/netns") / name
    stub = None
    try:
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=10)
    except (subprocess.CalledProcessError, PermissionError) as exc:
        _netns_unavailable(f"cannot create a network namespace here ({exc}); run as root with iproute2")
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True, timeout=10)
        conf_dir.mkdir(parents=True)
        (conf_dir / "resolv.conf").write_text("nameserver 127.0.0.1\noptions attempts:1 timeout:2\n")
        (conf_dir / "hosts").write_text("127.0.0.1 localhost\n")
        stub = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", NXDOMAIN_STUB],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert stub.stdout.readline().strip() == "ready", stub.stderr.read() if stub.poll() is not None else ""
        yield ("ip", "netns", "exec", name)
    finally:
        if stub is not None:
            stub.kill()
            stub.wait(10)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
        shutil.rmtree(conf_dir, ignore_errors=True)
        if created_netns_dir:
            with contextlib.suppress(OSError):  # not empty: someone else's namespace config is there now
                Path("/etc/netns").rmdir()


@pytest.mark.netns
def test_dns_lookup_failure_of_a_name_that_does_not_exist(tmp_path, clean_env, dns_sandbox):
    proc = profile(f"http://{NO_SUCH_HOST}:8080", tmp_path / "run", clean_env, prefix=dns_sandbox)
    assert_clean_failure(proc, tmp_path / "run", ErrorKind.CONNECTION, "cannot resolve host (DNS lookup failed)")
    messages = " ".join(e["error_details"]["message"] for e in export_json(tmp_path / "run")["error_summary"])
    assert "Name or service not known" in messages  # the stub's NXDOMAIN, not a resolver timeout


# ---- a host that never answers: connect() hangs, the request timeout ends it --------------------
UNREACHABLE_TIMEOUT_S = 1.0
UNREACHABLE_RUN_BOUND_S = 60.0  # generous: `rankperf profile` alone may take ~30 s to start on a loaded 2-core box


@pytest.fixture
def silent_listener():
    """A loopback port whose listen queue is full: the kernel drops new SYNs, so connects hang
    as they do for a host that is down or firewalled, with no packet leaving the machine."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)  # never accept()ed
    port = server.getsockname()[1]
    fillers = []
    for _ in range(8):  # fill the accept queue until a connect attempt no longer completes
        c = socket.socket()
        c.settimeout(0.3)
        try:
            c.connect(("127.0.0.1", port))
        except TimeoutError:
            c.close()
            break
        fillers.append(c)
    else:
        pytest.fail("the listen queue never filled: connects to it do not hang")
    try:
        yield port
    finally:
        for c in (*fillers, server):
            c.close()


def test_unreachable_host_times_out_with_a_report(tmp_path, clean_env, silent_listener):
    t0 = time.monotonic()
    proc = profile(f"http://127.0.0.1:{silent_listener}", tmp_path / "run", clean_env,
                   "--request-timeout-seconds", f"{UNREACHABLE_TIMEOUT_S:g}")
    elapsed = time.monotonic() - t0
    assert_clean_failure(proc, tmp_path / "run", ErrorKind.TIMEOUT, "request timeout")
    records = load_records(tmp_path / "run")
    longest_s = float((records["end_ns"] - records["start_ns"]).max()) / 1e9
    assert UNREACHABLE_TIMEOUT_S - 0.05 <= longest_s <= UNREACHABLE_TIMEOUT_S + 0.5
    # 6 requests, 2 at a time, each cut at the timeout: 3 waves
    window_s = float(records["end_ns"].max() - records["start_ns"].min()) / 1e9
    assert window_s <= 3 * (UNREACHABLE_TIMEOUT_S + 0.5), window_s
    # the whole command (start and report included) ends long before the kernel gives up a connect (~2 min)
    assert elapsed < UNREACHABLE_RUN_BOUND_S, elapsed


def test_not_a_rerank_server_404_html(tmp_path, clean_env):
    handler = type("NotFound", (_Handler,), {"status": 404, "body": b"<html><h1>Not Found</h1></html>",
                                             "content_type": "text/html"})
    server = serve(handler)
    try:
        proc = profile(f"http://127.0.0.1:{server.server_port}", tmp_path / "run", clean_env)
    finally:
        server.shutdown()
    assert_clean_failure(proc, tmp_path / "run", ErrorKind.HTTP, "Not Found")
    # the summary says what was asked for: the method and the full URL
    assert f"POST http://127.0.0.1:{server.server_port}/rerank: " in error_messages(tmp_path / "run")


def test_html_with_200_is_an_invalid_response(tmp_path, clean_env):
    handler = type("Html", (_Handler,), {"body": b"<html>welcome</html>", "content_type": "text/html"})
    server = serve(handler)
    try:
        proc = profile(f"http://127.0.0.1:{server.server_port}", tmp_path / "run", clean_env)
    finally:
        server.shutdown()
    assert_clean_failure(proc, tmp_path / "run", ErrorKind.INVALID_RESPONSE, "not JSON")


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True)
    return d


def test_tls_self_signed_without_and_with_insecure(tmp_path, clean_env, self_signed):
    server = serve(_Handler, self_signed)
    url = f"https://127.0.0.1:{server.server_port}"
    try:
        refused = profile(url, tmp_path / "verify", clean_env)
        accepted = profile(url, tmp_path / "insecure", clean_env, "--insecure")
    finally:
        server.shutdown()
    assert_clean_failure(refused, tmp_path / "verify", ErrorKind.CONNECTION, "certificate verify failed")
    assert accepted.returncode == 0, accepted.stderr[-2000:]
    assert json.loads((tmp_path / "insecure" / "profile_export_aiperf.json").read_text())["request_count"]["avg"] == 6


# ---- https:// to a server that speaks plain HTTP: one TLS failure ends the run -------------------
TLS_RUN_BOUND_S = 30.0  # the whole command, start and report included; the run asks for 120 s


def assert_stopped_for_tls(proc, artifacts: Path, elapsed: float) -> dict:
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert elapsed < TLS_RUN_BOUND_S, elapsed
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "TLS" in proc.stderr.splitlines()[-1] and "http://" in proc.stderr.splitlines()[-1], proc.stderr[-1000:]
    exported = export_json(artifacts)
    assert exported["request_count"]["avg"] == 0 and exported["was_cancelled"]
    assert any(n.startswith("stopped early: ") and "TLS" in n for n in exported["notes"]), exported["notes"]
    records = load_records(artifacts)
    kinds = set(records["error_kind"].tolist())
    assert ErrorKind.CONNECTION in kinds and kinds <= {ErrorKind.CONNECTION, ErrorKind.CANCELLED}, kinds
    return exported


@pytest.mark.parametrize("workers", ["0", "2"])
def test_https_to_the_reference_servers_plain_port_stops_at_the_first_failure(tmp_path, clean_env, fast_server,
                                                                               workers):
    before = received(fast_server), fast_server.metric("rankperf_requests_received_total", route="other")
    t0 = time.monotonic()
    proc = profile(f"https://127.0.0.1:{fast_server.port}", tmp_path / "run", clean_env,
                   "--benchmark-duration", "120", "--request-count", "0", "--request-timeout-seconds", "300",
                   "--workers", workers)
    elapsed = time.monotonic() - t0
    exported = assert_stopped_for_tls(proc, tmp_path / "run", elapsed)
    assert "WRONG_VERSION_NUMBER" in error_messages(tmp_path / "run") or "record layer" in error_messages(
        tmp_path / "run"), exported["error_summary"]
    # the server answered each ClientHello with its 400 and never saw a rerank request; the run
    # stopped after the first failures (2 users), not after 120 s of them
    assert received(fast_server) == before[0]
    sent = fast_server.metric("rankperf_requests_received_total", route="other") - before[1]
    assert 1 <= sent <= 20, sent


@pytest.fixture
def silent_acceptor():
    """A loopback port that accepts connections and never says a word (a TLS client waits forever)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for c in (*held, server):
            c.close()


def test_https_to_a_server_that_never_answers_the_handshake_ends_at_the_connect_timeout(
        tmp_path, clean_env, silent_acceptor):
    t0 = time.monotonic()
    proc = profile(f"https://127.0.0.1:{silent_acceptor}", tmp_path / "run", clean_env,
                   "--benchmark-duration", "120", "--request-count", "0", "--request-timeout-seconds", "300",
                   "--connect-timeout-seconds", "2")
    elapsed = time.monotonic() - t0
    assert_stopped_for_tls(proc, tmp_path / "run", elapsed)
    assert "no TLS handshake answer within --connect-timeout-seconds" in error_messages(tmp_path / "run")
    records = load_records(tmp_path / "run")
    failed = records[records["error_kind"] == ErrorKind.CONNECTION]
    waited_s = (failed["end_ns"] - failed["start_ns"]) / 1e9
    assert ((waited_s > 1.95) & (waited_s < 2.5)).all(), waited_s  # the connect timeout, not the request's


def test_connect_timeout_is_separate_from_the_request_timeout(tmp_path, clean_env, silent_listener):
    proc = profile(f"http://127.0.0.1:{silent_listener}", tmp_path / "run", clean_env,
                   "--request-timeout-seconds", "20", "--connect-timeout-seconds", "1")
    assert_clean_failure(proc, tmp_path / "run", ErrorKind.TIMEOUT, "no connection within --connect-timeout-seconds")
    records = load_records(tmp_path / "run")
    waited_s = (records["end_ns"] - records["start_ns"]) / 1e9
    assert ((waited_s > 0.95) & (waited_s < 1.5)).all(), waited_s
