"""Interruption: Ctrl-C or SIGTERM mid-run leaves a complete, readable, cancelled report."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from e2e_support import export_json, load_records, locust_cmd, private_master, received

from rankperf_data.apis.errors import ErrorKind
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
