"""Fault matrix: every fault kind of the reference server, counted exactly and grouped by kind.

For every run: sent == successes + errors == what the server received; no request outlives
--request-timeout-seconds (plus a small margin) and the run's wall time is bounded; each fault
kind surfaces as its own error group in the JSON export and the console table.
"""

from __future__ import annotations

import math
import time
from http import HTTPStatus

import pytest
from e2e_support import export_json, load_records, locust_cmd, received, run

from rankperf_data.results.outcomes import ErrorKind, error_label
from rankperf_data.results.records import PHASE_PROFILING
from rankperf_data.server.testing import start_server

EXPECTED_LABEL = {
    "429": "429", "500": "500", "503": "503", "hang": "timeout", "slow": "timeout", "reset": "connection",
    "bad-json": "invalid_response", "wrong-count": "validation", "bad-index": "validation",
}
TIMEOUT_S = 1.0
LATENCY_MARGIN_S = 0.5  # a request's own latency: the client timeout plus this, never more
START_AND_STOP_S = 45.0  # process start, report writing and exit: ~3 s idle, 30+ s seen on a loaded 2-core box
N = 120
USERS = 6


def run_with_fault(tmp_path, env, kind: str, rate: float, users: int = USERS):
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
    # grouped by kind: the export's groups carry exactly the fault's label, and so does the console
    types = {(e["error_details"]["code"], e["error_details"]["type"]) for e in exported["error_summary"]}
    assert types == (expected_types(kind) if errors else set())
    console = (artifacts / "profile_export_console.txt").read_text()
    if errors:
        assert "Error Summary" in console
        error_table = console[console.index("Error Summary"):]
        for code, typ in types:
            assert typ in error_table and (code is None or str(code) in error_table), (code, typ)
    check_time_bounds(prof)


def expected_types(kind: str) -> set[tuple[int | None, str]]:
    """(code, type) of the export's error groups for a fault kind: HTTP codes with their reason phrase."""
    label = EXPECTED_LABEL[kind]
    if label.isdigit():
        return {(int(label), HTTPStatus(int(label)).phrase)}
    return {(None, label)}


def check_time_bounds(prof) -> None:
    """No request outlives the client timeout plus a small margin (a hang is cut, not waited out)."""
    longest_s = float((prof["end_ns"] - prof["start_ns"]).max()) / 1e9
    assert longest_s <= TIMEOUT_S + LATENCY_MARGIN_S, f"a request took {longest_s:.3f} s"


def wall_time_bound(users: int = USERS) -> float:
    """Worst case: every request times out, users send in waves of `users` requests at a time."""
    return START_AND_STOP_S + math.ceil(N / users) * (TIMEOUT_S + LATENCY_MARGIN_S)


def check_no_tail(artifacts, elapsed: float) -> None:
    """The process ends soon after its last response: nothing hangs once the requests are done."""
    records = load_records(artifacts)
    window_s = float(records["end_ns"].max() - records["start_ns"].min()) / 1e9
    assert elapsed - window_s <= START_AND_STOP_S, f"ran {elapsed:.1f} s for a {window_s:.1f} s window"


@pytest.mark.parametrize("kind", ["500", "hang", "reset", "wrong-count"])
def test_fault_kinds_quick(tmp_path, clean_env, kind):
    artifacts, server_count, injected, elapsed, proc = run_with_fault(tmp_path, clean_env, kind, 0.25)
    assert injected > 0
    check(artifacts, server_count, injected, kind, proc)
    assert elapsed <= wall_time_bound(), f"{elapsed:.1f} s"
    check_no_tail(artifacts, elapsed)


@pytest.mark.slow
@pytest.mark.parametrize("rate", [0.05, 0.5, 1.0])
@pytest.mark.parametrize("kind", sorted(EXPECTED_LABEL))
def test_fault_matrix(tmp_path, clean_env, kind, rate):
    artifacts, server_count, injected, elapsed, proc = run_with_fault(tmp_path, clean_env, kind, rate)
    check(artifacts, server_count, injected, kind, proc)
    assert elapsed <= wall_time_bound(), f"{elapsed:.1f} s"
    check_no_tail(artifacts, elapsed)
