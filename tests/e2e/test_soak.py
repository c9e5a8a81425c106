"""A long run compressed: the peak memory of a run does not grow with its number of requests.

Stated property (README "Memory", issue 19): the peak RSS of a 400,000-request local run, its end
included (exports and exact statistics built from the record files), is within 15% of a
40,000-request run's. Server metrics are off: their scrapes are kept for the whole run and grow
with its duration (README says so), which is not what this test is about.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from e2e_support import export_json, locust_cmd, received

from rankperf_data.server.testing import start_server

N = 40_000
FLAT = 1.15  # peak RSS of 10 N requests over the peak RSS of N
BASE_MB = 100
BYTES_PER_RECORD = 600  # the old bound, kept: it holds easily now


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _run(server, n: int, artifacts: Path, log: Path, env: dict) -> float:
    """One local run of n requests; its peak RSS in MB (VmHWM of the process after exec: ru_maxrss
    would count the forked test runner's pages)."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            locust_cmd(server.url, "-u", "32", "-r", "32", "--request-count", str(n), "--rankings-passages-mean",
                       "2", "--rankings-passages-prompt-token-mean", "16", "--num-dataset-entries", "100",
                       "--no-server-metrics", "--artifact-dir", str(artifacts), "TeiRerankUser"),
            env=env, stdout=out, stderr=subprocess.STDOUT)
        peak_kb, started = 0, time.monotonic()
        while proc.poll() is None and time.monotonic() - started < 900:
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == 0, log.read_text()[-3000:]
    assert peak_kb > 0
    return peak_kb / 1024


@pytest.mark.slow
def test_soak_peak_memory_of_10x_the_requests_within_15_percent(tmp_path, clean_env):
    with start_server(["--zero-latency"]) as server:
        small = _run(server, N, tmp_path / "small", tmp_path / "small.log", clean_env)
        sent_small = received(server)
        large = _run(server, 10 * N, tmp_path / "large", tmp_path / "large.log", clean_env)
        sent_large = received(server) - sent_small
    assert sent_small == N == export_json(tmp_path / "small")["request_count"]["avg"]
    assert sent_large == 10 * N == export_json(tmp_path / "large")["request_count"]["avg"]
    with open(tmp_path / "large" / "profile_export.jsonl", "rb") as fh:
        assert sum(1 for _ in fh) == 10 * N
    assert large <= BASE_MB + BYTES_PER_RECORD * 10 * N / 2**20
    assert large <= FLAT * small, f"peak RSS {large:.1f} MB for {10 * N} requests, {small:.1f} MB for {N}"
