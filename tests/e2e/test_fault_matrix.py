"""Fault matrix: every fault kind of the reference server, counted exactly and grouped by kind.

For every run: sent == successes + errors == what the server received.
"""

from __future__ import annotations

import time

import pytest
from e2e_support import export_json, load_records, locust_cmd, received, run

from rankperf_data.apis.errors import ErrorKind, error_label
from rankperf_data.load.records import PHASE_PROFILING
from rankperf_data.server.testing import start_server

EXPECTED_LABEL = {
    "429": "429", "500": "500", "503": "503", "hang": "timeout", "slow": "timeout", "reset": "connection",
    "bad-json": "invalid_response", "wrong-count": "validation", "bad-index": "validation",
}
TIMEOUT_S = 1.0
N = 120


def run_with_fault(tmp_path, env, kind: str, rate: float, users: int = 6):
    artifacts = tmp_path / f"{kind}-{rate}"
    args = ["--zero-latency", "--fault", f"{kind}:{rate}", "--seed", "11"]
    if kind == "slow":
        args += ["--slow-ms", "1500"]  # longer than the client's timeout
    with start_server(args) as server:
        t0 = time.monotonic()
        proc = run(locust_cmd(server.url, "-u", str(users), "-r", str(users), "--request-count", str(N),
                              "--request-timeout-seconds", str(TIMEOUT_S), "--rankings-passages-mean", "3",
                              "--artifact-dir", str(artifacts), "TeiRerankUser"), env, timeout=120)
        elapsed = time.monotonic() - t0
        server_count = received(server)
        injected = server.metric("rankperf_faults_injected_total", route="/rerank", kind=kind)
    return artifacts, server_count, injected, elapsed, proc


def check(artifacts, server_count, injected, kind, proc):
    records = load_records(artifacts)
    prof = records[records["phase"] == PHASE_PROFILING]
    ok = int((prof["error_kind"] == ErrorKind.OK).sum())
    errors = len(prof) - ok
    assert len(prof) == N == server_count  # sent == received
    assert ok + errors == N
    # exit code: 0 when anything succeeded, 1 when every measured request failed
    assert proc.returncode == (0 if ok else 1), proc.stderr[-3000:]
    assert errors == injected  # every injected fault surfaced as an error, nothing else did
    labels = {error_label(int(k), int(s)) for k, s in zip(prof["error_kind"], prof["status"], strict=True) if k}
    assert labels <= {EXPECTED_LABEL[kind]}
    exported = export_json(artifacts)
    assert exported["request_count"]["avg"] == ok
    assert exported.get("error_request_count", {"avg": 0})["avg"] == errors
    grouped = sum(e["count"] for e in exported["error_summary"])
    assert grouped == errors
    console = (artifacts / "profile_export_console.txt").read_text()
    if errors:
        assert "Error Summary" in console


@pytest.mark.parametrize("kind", ["500", "hang", "reset", "wrong-count"])
def test_fault_kinds_quick(tmp_path, clean_env, kind):
    artifacts, server_count, injected, elapsed, proc = run_with_fault(tmp_path, clean_env, kind, 0.25)
    assert injected > 0
    check(artifacts, server_count, injected, kind, proc)
    # never hangs past the request timeout plus a small margin per wave of in-flight requests
    assert elapsed < 30


@pytest.mark.slow
@pytest.mark.parametrize("rate", [0.05, 0.5, 1.0])
@pytest.mark.parametrize("kind", sorted(EXPECTED_LABEL))
def test_fault_matrix(tmp_path, clean_env, kind, rate):
    artifacts, server_count, injected, _, proc = run_with_fault(tmp_path, clean_env, kind, rate)
    check(artifacts, server_count, injected, kind, proc)
