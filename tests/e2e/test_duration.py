"""--benchmark-duration as the stop condition, distributed, with nothing lost at the end.

The server answers in 300 ms, so requests are still in flight when the duration runs out and the
workers' last records arrive after the budget closes. Every count must agree: what the server
received, rankperf's records, the export, and Locust's own final stats CSV.
"""

from __future__ import annotations

import csv
import subprocess
import time
from pathlib import Path

import pytest
from e2e_support import (
    export_json,
    load_records,
    locust_cmd,
    private_master,
    received,
    wait_master_and_workers,
)

from rankperf_data.results.records import PHASE_PROFILING
from rankperf_data.server.testing import start_server

DURATION_S = 3.0
LATENCY_S = 0.3
USERS = 4
# the budget closes within a coordinator tick of DURATION_S; the requests then in flight finish
WINDOW_SLACK_S = 1.5
RUN_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def slow_server():
    with start_server(["--fixed-latency-ms", str(int(LATENCY_S * 1000))]) as server:
        yield server


def duration_args(tmp_path: Path) -> list[str]:
    return ["-u", str(USERS), "-r", str(USERS), "--benchmark-duration", f"{DURATION_S:g}",
            "--rankings-passages-mean", "2", "--csv", str(tmp_path / "locust"),
            "--artifact-dir", str(tmp_path / "run")]


def locust_csv_count(prefix: Path, name: str) -> int:
    """Request Count of one row of Locust's final PREFIX_stats.csv."""
    with open(f"{prefix}_stats.csv", newline="") as fh:
        rows = {row["Name"]: row for row in csv.DictReader(fh)}
    return int(rows[name]["Request Count"])


def check_counts(tmp_path: Path, server_delta: int) -> None:
    records = load_records(tmp_path / "run")
    prof = records[records["phase"] == PHASE_PROFILING]
    exported = export_json(tmp_path / "run")
    assert (prof["error_kind"] == 0).all()
    assert exported["was_cancelled"] is False and exported["partial"] is False
    completed = int(exported["completed_request_count"]["avg"])
    assert server_delta == len(prof) == completed == locust_csv_count(tmp_path / "locust", "/rerank")
    assert locust_csv_count(tmp_path / "locust", "Aggregated") == server_delta
    # the load ran for the whole duration (closed loop: each user about one request per latency)...
    assert len(prof) >= 0.7 * USERS * DURATION_S / LATENCY_S
    # ...and stopped at it: first send to last response is the duration plus the tail in flight
    window_s = exported["benchmark_duration"]["avg"]
    assert DURATION_S - 0.2 <= window_s <= DURATION_S + WINDOW_SLACK_S, window_s


def test_duration_with_processes_2(slow_server, tmp_path, clean_env):
    before = received(slow_server)
    t0 = time.monotonic()
    proc = subprocess.run(locust_cmd(slow_server.url, *duration_args(tmp_path), "--processes", "2",
                                     *private_master(), "TeiRerankUser"),
                          env=clean_env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_counts(tmp_path, received(slow_server) - before)
    assert set(load_records(tmp_path / "run")["worker"].tolist()) == {0, 1}
    assert elapsed < DURATION_S + 20, elapsed  # ends by itself, soon after the duration


def test_duration_with_master_and_two_workers(slow_server, tmp_path, clean_env):
    ports = private_master()
    before = received(slow_server)
    master = subprocess.Popen(
        locust_cmd(slow_server.url, "--master", "--expect-workers", "2", *duration_args(tmp_path), *ports,
                   "TeiRerankUser"),
        env=clean_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    workers = [subprocess.Popen(
        [*locust_cmd(slow_server.url, "--worker", "--master-host", "127.0.0.1", *ports[-2:]), "TeiRerankUser"],
        env=clean_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    wait_master_and_workers(master, workers, timeout=RUN_TIMEOUT_S)
    check_counts(tmp_path, received(slow_server) - before)
    assert set(load_records(tmp_path / "run")["worker"].tolist()) == {0, 1}
