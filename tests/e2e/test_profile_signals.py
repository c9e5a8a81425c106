"""`rankperf profile` stopped by a signal: Locust still writes its cancelled report, the exit code
says which signal, and no load process is left behind.

Each run starts in a new session, as a shell starts a foreground job: a signal to the process
group (Ctrl-C, a terminal hang-up) reaches rankperf and its Locust child alike.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from e2e_support import BIN, export_json, load_records, received

from rankperf_data.server.testing import start_server, wait_until

# Stopping takes 2-5 s on an idle 2-core machine (most of it Locust writing its report and
# exiting); the margin is for a heavily loaded host. Below rankperf's 30 s escalation to SIGTERM.
STOP_BOUND_S = 25
REPORT_FILES = ("profile_export_aiperf.json", "profile_export_aiperf.csv", "profile_export.jsonl",
                "profile_export_console.txt")


@pytest.fixture(scope="module")
def server_20ms():
    with start_server(["--fixed-latency-ms", "20"]) as server:
        yield server


@pytest.fixture
def runs():
    """Started runs; whatever a failed test left running (its whole session) is killed after it."""
    started: list[ProfileRun] = []
    yield started
    for run in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.proc.pid, signal.SIGKILL)  # its own session: rankperf and Locust alike
        for pid in run.children:  # in case one left the session; only if it is still ours
            with contextlib.suppress(OSError):
                if str(run.artifacts) in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                    os.kill(pid, signal.SIGKILL)
        run.proc.wait(timeout=10)


def descendants(pid: int) -> list[int]:
    """Every process below pid (children, their children, ...), from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaps yet counts as gone: it sends nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class ProfileRun:
    """`rankperf profile` with a huge request count against the server, in its own session."""

    def __init__(self, server, tmp_path: Path, env: dict[str, str], *extra: str) -> None:
        self.artifacts = tmp_path / "run"
        self.out, self.err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
        self.before = received(server)
        cmd = [str(BIN / "rankperf"), "profile", "--url", server.url, "--concurrency", "4",
               "--request-count", "100000", "--artifact-dir", str(self.artifacts), "--random-seed", "1",
               "--rankings-passages-mean", "3", *extra]
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, start_new_session=True)
        self.children: list[int] = []

    def wait_for_load(self, server, requests: int = 100) -> None:
        assert wait_until(lambda: received(server) - self.before >= requests, timeout=60), self.output()
        self.children = descendants(self.proc.pid)
        assert self.children, "no Locust child process found"

    def stop(self, send) -> float:
        """Send the signal, wait for rankperf to exit; the seconds it took."""
        t0 = time.monotonic()
        send()
        try:
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
        return time.monotonic() - t0

    def output(self) -> str:
        return self.out.read_text() + self.err.read_text()


def check_cancelled_report(run: ProfileRun, server, *, html: bool) -> None:
    for name in REPORT_FILES + (("locust_report.html",) if html else ()):
        assert (run.artifacts / name).exists(), name
    exported = export_json(run.artifacts)
    assert exported["was_cancelled"] is True
    time.sleep(0.2)  # the server counts a request when it arrives: nothing may still be on the wire
    # every request the server got is in the records (a success, or cancelled in flight)
    assert len(load_records(run.artifacts)) == received(server) - run.before
    assert exported["request_count"]["avg"] >= 50


def check_nothing_left(run: ProfileRun) -> None:
    assert wait_until(lambda: not any(alive(pid) for pid in run.children), timeout=STOP_BOUND_S), \
        [pid for pid in run.children if alive(pid)]


def check_no_traceback(run: ProfileRun, *, in_log: bool = False) -> None:
    assert "Traceback" not in run.output(), run.output()[-3000:]
    if in_log:  # Locust's own SIGTERM path can leave a gevent SystemExit traceback in its log
        assert "Traceback" not in (run.artifacts / "logs" / "locust.log").read_text()


@pytest.mark.parametrize(("workers", "sig"), [
    pytest.param([], signal.SIGINT, id="ctrl-c"),
    # a terminal hang-up reaches the whole group: Locust ignores it, rankperf stops it with SIGTERM
    pytest.param([], signal.SIGHUP, id="hangup"),
    # the workers get the group's SIGINT too: each ships its records before it quits
    pytest.param(["--workers", "2"], signal.SIGINT, id="ctrl-c-workers-2", marks=pytest.mark.slow),
])
def test_group_signal_ends_with_a_cancelled_report(server_20ms, tmp_path, clean_env, runs, workers, sig):
    run = ProfileRun(server_20ms, tmp_path, clean_env, *workers)
    runs.append(run)
    run.wait_for_load(server_20ms)
    took = run.stop(lambda: os.killpg(run.proc.pid, sig))
    assert run.proc.returncode == 128 + sig, run.output()[-3000:]
    assert took < STOP_BOUND_S, f"stopping took {took:.1f}s"
    check_no_traceback(run, in_log=sig == signal.SIGINT)
    if sig == signal.SIGINT:  # Ctrl-C alone stopped Locust: no escalation, no second SIGINT
        assert "SIGTERM" not in (run.artifacts / "logs" / "locust.log").read_text()
    check_cancelled_report(run, server_20ms, html=sig == signal.SIGINT)
    check_nothing_left(run)
    assert f"stopped by {signal.Signals(sig).name}" in run.output()


def test_sigterm_to_rankperf_alone_stops_locust(server_20ms, tmp_path, clean_env, runs):
    run = ProfileRun(server_20ms, tmp_path, clean_env)
    runs.append(run)
    run.wait_for_load(server_20ms)
    took = run.stop(lambda: os.kill(run.proc.pid, signal.SIGTERM))
    assert run.proc.returncode == 128 + signal.SIGTERM, run.output()[-3000:]
    assert took < STOP_BOUND_S, f"stopping took {took:.1f}s"
    check_no_traceback(run)
    check_cancelled_report(run, server_20ms, html=False)
    check_nothing_left(run)


def test_locust_stops_when_rankperf_is_killed(server_20ms, tmp_path, clean_env, runs):
    run = ProfileRun(server_20ms, tmp_path, clean_env)
    runs.append(run)
    run.wait_for_load(server_20ms)
    run.stop(lambda: os.kill(run.proc.pid, signal.SIGKILL))
    # the orphan got SIGTERM from the kernel (parent-death signal): it writes its report and ends
    check_nothing_left(run)
    check_cancelled_report(run, server_20ms, html=False)
