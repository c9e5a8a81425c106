"""Fewer users than worker processes: a process Locust gives no user must not hold up the run.

Such a process never sends. Indices granted to it, or an open-loop arrival schedule left to it,
would wait forever: the run hung with part of the budget received by the server.
"""

from __future__ import annotations

import os
import signal
import subprocess

import numpy as np
import pytest
from e2e_support import export_json, load_records, locust_cmd, private_master, received

from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import PHASE_PROFILING
from rankperf_data.server.testing import start_server


def run_bounded(cmd: list[str], env: dict, timeout: float) -> subprocess.CompletedProcess:
    """Run locust in a session of its own; on a hang, end it with its worker processes."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the run hung (killed after {timeout:g}s):\n{err[-3000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.mark.parametrize(("count", "extra"), [
    pytest.param(20, [], id="closed-loop-20"),
    pytest.param(200, [], id="closed-loop-200"),
    # the arrival rate is split over both processes; the one without a user sends no arrival,
    # so its share of the schedule must be sent by the other
    pytest.param(90, ["--request-rate", "30", "--arrival-pattern", "constant"], id="open-loop"),
])
def test_one_user_two_processes_sends_the_exact_count(tmp_path, clean_env, count, extra):
    artifacts = tmp_path / "run"
    with start_server(["--fixed-latency-ms", "20"]) as server:
        before = received(server)
        cmd = locust_cmd(server.url, "-u", "1", "-r", "1", "--processes", "2", "--request-count", str(count),
                         "--artifact-dir", str(artifacts), *extra, *private_master(), "TeiRerankUser")
        proc = run_bounded(cmd, clean_env, timeout=60)
        sent = received(server) - before
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = load_records(artifacts)
    prof = records[records["phase"] == PHASE_PROFILING]
    assert len(prof) == count == sent
    assert sorted(prof["index"].tolist()) == list(range(count))
    assert (prof["error_kind"] == ErrorKind.OK).all()
    assert len(set(prof["worker"].tolist())) == 1  # only the process with the user sent
    exported = export_json(artifacts)
    assert exported["was_cancelled"] is False and exported["partial"] is False, exported["notes"]
    if extra:  # open loop: the whole rate, not the half that one process's own share would give
        starts = np.sort(prof["start_ns"])
        rate = (len(starts) - 1) / ((starts[-1] - starts[0]) / 1e9)
        assert rate == pytest.approx(30, rel=0.1)  # one share alone: 15/s


@pytest.mark.slow  # a web UI and 2 worker processes per case
@pytest.mark.parametrize("extra", [
    pytest.param({}, id="closed-loop"),
    pytest.param({"request_rate": 40, "arrival_pattern": "constant"}, id="open-loop"),
])
def test_web_ui_lowering_users_below_the_process_count_keeps_the_count(tmp_path, clean_env, extra):
    # 2 users over 2 processes, then 1: the process that lost its user holds indices (and,
    # open loop, a share of the arrivals) that it must hand back for the other to send
    from test_webui import LocustWebUI, row, ui_args, wait_received

    count = 300
    env = {**clean_env, "HOME": str(tmp_path)}
    with start_server(["--fixed-latency-ms", "20"]) as server, \
            LocustWebUI(ui_args("--processes", "2", *private_master()), env, tmp_path, workers=2) as ui:
        before = received(server)
        ui.swarm(server.url, request_count=count, user_count=2, spawn_rate=100, **extra)
        wait_received(server, 60, before)
        ui.swarm(server.url, request_count=count, user_count=1, spawn_rate=100, **extra)
        _, rows = ui.wait_finished(timeout=60)
        assert received(server) - before == count
        assert row(rows, "Request Count (requests)")["avg"] == f"{count}.00"
        exported = ui.get("/rankings/artifacts/profile_export_aiperf.json").json()
        assert exported["was_cancelled"] is False and exported["partial"] is False, exported["notes"]
