"""Interruption: Ctrl-C or SIGTERM mid-run leaves a complete, readable, cancelled report."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from e2e_support import export_json, load_records, locust_cmd, private_master, received

from rankperf_data.report.artifacts import FILES
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.server.testing import start_server, wait_until


@pytest.mark.parametrize(("sig", "extra"), [
    pytest.param(signal.SIGINT, [], id="sigint-local"),
    pytest.param(signal.SIGTERM, [], id="sigterm-local"),
    pytest.param(signal.SIGINT, ["--processes", "2"], id="sigint-processes-2"),
    # open loop: arrivals scheduled or queued but not sent go back, so each worker reports done
    pytest.param(signal.SIGINT, ["--processes", "2", "--request-rate", "60"], id="sigint-processes-2-open-loop"),
])
def test_interrupt_leaves_a_cancelled_report(tmp_path, clean_env, sig, extra):
    if extra:
        extra = extra + private_master()
    artifacts = tmp_path / "run"
    with start_server(["--fixed-latency-ms", "100"]) as server:
        proc = subprocess.Popen(
            locust_cmd(server.url, "-u", "8", "-r", "8", "--request-count", "100000",
                       "--artifact-dir", str(artifacts), *extra, "TeiRerankUser"),
            env=clean_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            assert wait_until(lambda: received(server) >= 40, timeout=30), "the run never got going"
            proc.send_signal(sig)
            t0 = time.monotonic()
            proc.wait(timeout=20)
            took = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
        time.sleep(0.2)
        sent = received(server)
    assert took < 8, f"shutdown took {took:.1f}s"
    exported = export_json(artifacts)
    assert exported["was_cancelled"] is True
    assert exported["partial"] is False, exported["notes"]  # every worker reported before the end
    records = load_records(artifacts)
    kinds = records["error_kind"]
    # every request the server saw is in the records: a success, or cancelled while in flight
    assert len(records) == sent
    assert set(kinds.tolist()) <= {ErrorKind.OK, ErrorKind.CANCELLED}
    assert (kinds == ErrorKind.OK).sum() >= 30
    assert exported["request_count"]["avg"] == (kinds == ErrorKind.OK).sum()
    assert "cancelled" in (artifacts / "profile_export_console.txt").read_text().lower()


def stop_a_distributed_run(tmp_path, env, sig: int, to_group: bool, after: int):
    """`--processes 2` in a session of its own; after ``after`` requests, ``sig`` to the whole
    process group (a terminal's Ctrl-C reaches the workers too) or to the master only.
    Returns (seconds from the signal to the exit, requests the server received, artifacts dir)."""
    artifacts = tmp_path / "run"
    with start_server(["--fixed-latency-ms", "20"]) as server:
        before = received(server)
        proc = subprocess.Popen(
            locust_cmd(server.url, "-u", "8", "-r", "8", "--request-count", "100000", "--processes", "2",
                       "--artifact-dir", str(artifacts), *private_master(), "TeiRerankUser"),
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            assert wait_until(lambda: received(server) - before >= after, timeout=30, interval=0.005), \
                "the run never got going"
            if to_group:
                os.killpg(proc.pid, sig)  # the session leader's pid is the group id
            else:
                proc.send_signal(sig)
            t0 = time.monotonic()
            _, err = proc.communicate(timeout=30)
            took = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        time.sleep(0.3)  # requests still on the wire when the client stopped
        sent = received(server) - before
    return took, sent, artifacts, err


@pytest.mark.parametrize("after", [40, 300], ids=["early", "later"])
@pytest.mark.parametrize(("sig", "to_group"), [
    pytest.param(signal.SIGINT, True, id="ctrl-c-to-the-group"),
    pytest.param(signal.SIGTERM, True, id="sigterm-to-the-group"),
    pytest.param(signal.SIGTERM, False, id="sigterm-to-the-master"),
])
def test_signal_to_a_distributed_run_keeps_every_completed_request(tmp_path, clean_env, sig, to_group, after):
    took, sent, artifacts, err = stop_a_distributed_run(tmp_path, clean_env, sig, to_group, after)
    assert took < 8, f"shutdown took {took:.1f}s\n{err[-3000:]}"
    for name in (*FILES.values(), "inputs.json"):
        assert (artifacts / name).is_file(), f"{name} missing\n{err[-3000:]}"
    exported = export_json(artifacts)
    assert exported["was_cancelled"] is True
    assert exported["partial"] is False, exported["notes"]
    records = load_records(artifacts)
    # each request the server saw is a record: completed before the signal, or cancelled in flight
    assert len(records) == sent >= after, err[-3000:]
    kinds = records["error_kind"]
    assert set(kinds.tolist()) <= {ErrorKind.OK, ErrorKind.CANCELLED}
    assert (kinds == ErrorKind.OK).sum() >= after - 16  # at most -u 8 per worker were in flight
    assert len(set(records["index"].tolist())) == len(records)  # no index sent twice
