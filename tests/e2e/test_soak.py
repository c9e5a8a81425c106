"""A long run compressed: 200,000 requests against a fast server, with the master's memory bounded.

Stated bound (README): peak RSS <= 100 MB (Locust, numpy, tokenizers, faker) + 600 bytes per record.
The record itself is 103 bytes in the store; the rest is transient while the report is built.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from e2e_support import export_json, locust_cmd, received

from rankperf_data.results.records import RECORD_DTYPE
from rankperf_data.server.testing import start_server

N = 200_000
BASE_MB = 100
BYTES_PER_RECORD = 600


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


@pytest.mark.slow
def test_soak_200k_requests_bounded_memory(tmp_path, clean_env):
    artifacts = tmp_path / "soak"
    with start_server(["--zero-latency"]) as server:
        log = tmp_path / "locust.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                locust_cmd(server.url, "-u", "32", "-r", "32", "--request-count", str(N), "--rankings-passages-mean",
                           "2", "--rankings-passages-prompt-token-mean", "16", "--num-dataset-entries", "100",
                           "--artifact-dir", str(artifacts), "TeiRerankUser"),
                env=clean_env, stdout=out, stderr=subprocess.STDOUT)
            # VmHWM of the process after exec (ru_maxrss would count the forked test runner's pages)
            peak_kb = 0
            while proc.poll() is None:
                peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
                time.sleep(0.05)
        sent = received(server)
    assert proc.returncode == 0, log.read_text()[-3000:]
    assert peak_kb > 0
    peak_mb = peak_kb / 1024
    assert RECORD_DTYPE.itemsize <= 104
    assert peak_mb <= BASE_MB + BYTES_PER_RECORD * N / 2**20, f"peak RSS {peak_mb:.0f} MB"
    exported = export_json(artifacts)
    assert sent == N == exported["request_count"]["avg"]
    with open(artifacts / "profile_export.jsonl", "rb") as fh:
        assert sum(1 for _ in fh) == N
