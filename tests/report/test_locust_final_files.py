"""Locust's own final files (--csv, --html) agree with Locust's final summary, also when interrupted.

finish.finalize runs at `quitting`, before Locust stops its users and takes the workers' last stats
reports; the files must be (re)written after that, when Locust prints its own summary.

What that summary counts: Locust records a request when it completes. A request still in flight at
the interrupt never completes (rankperf records it as `cancelled`; Locust, like for any user killed
mid-request, not at all), so the summary holds exactly rankperf's measured records that are not
cancelled, and at most the users' count (one request in flight each) fewer than the server had
received when the signal was sent.
"""

from __future__ import annotations

import csv
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rankperf_data.ports import free_port
from rankperf_data.results.disk import load_run
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import PHASE_PROFILING
from rankperf_data.server.testing import start_server, wait_until

REPO = Path(__file__).resolve().parents[2]
LOCUST = str(Path(sys.executable).parent / "locust")
# print_stats' Aggregated row: "Aggregated  <requests>  <failures>(<percent>%) | ..."
SUMMARY_ROW = re.compile(r"^\s*Aggregated\s+(\d+)\s+\d+\(", re.M)
USERS = 8  # closed loop: at most this many requests in flight at the interrupt


def _csv_count(path: Path) -> int:
    with path.open(newline="") as f:
        return next(int(r["Request Count"]) for r in csv.DictReader(f) if r["Name"] == "Aggregated")


def _html_count(path: Path) -> int:
    text = path.read_text()
    start = text.index("{", text.index("window.templateArgs = "))
    args, _ = json.JSONDecoder().raw_decode(text, start)
    return next(r["num_requests"] for r in args["requests_statistics"] if r["name"] == "Aggregated")


@pytest.mark.parametrize("processes", [[], ["--processes", "2"]], ids=["local", "processes-2"])
def test_interrupted_run_final_csv_and_html_match_locust_summary(tmp_path, clean_env, processes):
    port = str(free_port())
    if processes:
        processes = [*processes, "--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--master-port", port]
    with start_server(["--fixed-latency-ms", "100"]) as server:
        proc = subprocess.Popen(
            [LOCUST, "-f", str(REPO / "locustfiles" / "rerank.py"), "--headless", "-H", server.url,
             "-u", str(USERS), "-r", str(USERS), "--request-count", "100000", *processes,
             "--csv", str(tmp_path / "locust"), "--html", str(tmp_path / "report.html"), "--only-summary",
             "--artifact-dir", str(tmp_path / "run"), "TeiRerankUser"],
            env={**clean_env, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            got_going = wait_until(
                lambda: server.metric("rankperf_requests_received_total", route="/rerank") >= 40, timeout=60)
            assert got_going, "the run never got going"
            seen_at_signal = server.metric("rankperf_requests_received_total", route="/rerank")
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        seen = server.metric("rankperf_requests_received_total", route="/rerank")
    rows = SUMMARY_ROW.findall(out)
    assert rows, out[-3000:]
    final = int(rows[-1])
    records = load_run(tmp_path / "run").records
    measured = records[records["phase"] == PHASE_PROFILING]
    cancelled = int((measured["error_kind"] == ErrorKind.CANCELLED).sum())
    assert final == measured.size - cancelled, (final, measured.size, cancelled)
    assert final >= seen_at_signal - USERS, (final, seen_at_signal)
    assert cancelled <= USERS
    assert seen <= records.size  # every request the server got is in rankperf's records
    assert _csv_count(tmp_path / "locust_stats.csv") == final
    assert _html_count(tmp_path / "report.html") == final
    assert "I/O operation on closed file" not in out  # Locust's CSV writer did not outlive its files
