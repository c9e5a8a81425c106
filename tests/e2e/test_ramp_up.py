"""The report says how many measured requests were sent while Locust was still starting users.

Real `locust` runs against the reference server (10 ms per request). The witness is the records
themselves: before the ramp-up's end no more requests overlap than the users started by then.
"""

from __future__ import annotations

import numpy as np
import pytest
from e2e_support import BIN, export_json, load_records, locust_cmd, run

from rankperf_data.results.records import PHASE_PROFILING
from rankperf_data.server.testing import start_server

LATENCY_MS = 10


@pytest.fixture(scope="module")
def server():
    with start_server(["--fixed-latency-ms", str(LATENCY_MS)]) as s:
        yield s


def _run(server, env, artifacts, *args: str):
    proc = run(locust_cmd(server.url, *args, "--artifact-dir", str(artifacts), "--only-summary", "TeiRerankUser"),
               env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, export_json(artifacts)["rankperf"]["ramp_up"]


def _max_overlap(rec: np.ndarray) -> int:
    """The most requests in flight at once among these records."""
    events = sorted([(int(s), 1) for s in rec["start_ns"]] + [(int(e), -1) for e in rec["end_ns"]],
                    key=lambda x: (x[0], x[1]))
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak


def test_requests_during_ramp_up_are_counted_and_reported(server, clean_env, tmp_path):
    # 4 users at 2 per second: 2 users for the first second, then 4
    artifacts = tmp_path / "run"
    out, ramp = _run(server, clean_env, artifacts, "-u", "4", "-r", "2", "--request-count", "400")
    prof = load_records(artifacts)
    prof = prof[prof["phase"] == PHASE_PROFILING]
    assert ramp["finished"] is True and ramp["users"] == 4 and ramp["measured_requests"] == prof.size == 400
    assert 1.0 <= ramp["duration_s"] < 10.0  # Locust's second batch of users comes one second after the first
    first_send = int(prof["start_ns"].min())
    done_ns = first_send + int(ramp["duration_s"] * 1e9)  # the run starts before its first send
    during = prof[prof["start_ns"] < done_ns]
    assert 0 < ramp["measured_during_ramp_up"] < 400
    assert ramp["measured_during_ramp_up"] <= during.size  # the run (and its clock) starts before its first send
    sent_during = prof[np.argsort(prof["start_ns"])][: ramp["measured_during_ramp_up"]]
    assert _max_overlap(sent_during) <= 2  # only the first two users were running then
    assert _max_overlap(prof) == 4
    note = f"ramp-up: {ramp['measured_during_ramp_up']:,} of 400 measured requests were sent while users were still starting"
    assert note in out, out[-3000:]
    # `rankperf report` rebuilds the same note from the artifacts
    again = run([str(BIN / "rankperf"), "report", str(artifacts), "--output", str(tmp_path / "again")], clean_env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert note in again.stdout


def test_spawn_rate_equal_to_users_measures_no_ramp_up(server, clean_env, tmp_path):
    out, ramp = _run(server, clean_env, tmp_path / "run", "-u", "4", "-r", "4", "--request-count", "100")
    assert ramp["finished"] is True and ramp["measured_during_ramp_up"] == 0 and ramp["measured_requests"] == 100
    assert "ramp-up:" not in out


def test_run_that_ends_during_ramp_up_says_so(server, clean_env, tmp_path):
    out, ramp = _run(server, clean_env, tmp_path / "run", "-u", "8", "-r", "1", "--request-count", "20")
    assert ramp["finished"] is False and ramp["duration_s"] is None
    assert ramp["measured_during_ramp_up"] == ramp["measured_requests"] == 20
    assert "ramp-up: 20 of 20 measured requests were sent while users were still starting " \
           "(the run ended before all 8 users were started)" in out, out[-3000:]
