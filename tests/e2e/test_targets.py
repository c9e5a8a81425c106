"""Targets that go wrong: refused, unresolvable, TLS, and servers that are not rerank servers.

Each run ends with a clear message and a report of what happened, never a traceback.
"""

from __future__ import annotations

import http.server
import json
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
from e2e_support import BIN, export_json, load_records

from rankperf_data.apis.errors import ErrorKind
from rankperf_data.ports import free_port

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


def profile(url: str, artifacts: Path, env, *extra: str) -> subprocess.CompletedProcess:
    cmd = [str(BIN / "rankperf"), "profile", "--url", url, "--request-count", "6", "--concurrency", "2",
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


def test_refused(tmp_path, clean_env):
    port = free_port()  # nothing listens there
    proc = profile(f"127.0.0.1:{port}", tmp_path / "run", clean_env)
    assert_clean_failure(proc, tmp_path / "run", ErrorKind.CONNECTION, "refused")


def test_unresolvable_host_fails_locally(tmp_path, clean_env):
    # an invalid hostname fails inside the resolver library: no DNS query leaves the machine
    proc = profile("http://bad..host:8080", tmp_path / "run", clean_env)
    assert_clean_failure(proc, tmp_path / "run", ErrorKind.CONNECTION, "cannot resolve host")


def test_not_a_rerank_server_404_html(tmp_path, clean_env):
    handler = type("NotFound", (_Handler,), {"status": 404, "body": b"<html><h1>Not Found</h1></html>",
                                             "content_type": "text/html"})
    server = serve(handler)
    try:
        proc = profile(f"http://127.0.0.1:{server.server_port}", tmp_path / "run", clean_env)
    finally:
        server.shutdown()
    assert_clean_failure(proc, tmp_path / "run", ErrorKind.HTTP, "Not Found")


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
