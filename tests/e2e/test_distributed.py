"""Master and workers as separate processes: workers that leave, die, or join late."""

from __future__ import annotations

import signal
import subprocess

import numpy as np
import pytest
from e2e_support import export_json, load_records, locust_cmd, private_master, received

from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import PHASE_PROFILING
from rankperf_data.server.testing import start_server, wait_until

COUNT = 1500

# 15-40 s each with several locust processes; the everyday run keeps test_exact_counts' master
# and workers, CI runs these too
pytestmark = pytest.mark.slow


class Cluster:
    """A master and workers on loopback, each a real `locust` process."""

    def __init__(self, url: str, env: dict, artifacts, expect: int, *extra: str) -> None:
        self.url, self.env = url, env
        self.ports = private_master()
        self.master = subprocess.Popen(
            locust_cmd(url, "--master", "--expect-workers", str(expect), "-u", "8", "-r", "8",
                       "--request-count", str(COUNT), "--artifact-dir", str(artifacts), *self.ports, *extra,
                       "TeiRerankUser"),
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.workers: list[subprocess.Popen] = []

    def add_worker(self) -> subprocess.Popen:
        worker = subprocess.Popen(
            [*locust_cmd(self.url, "--worker", "--master-host", "127.0.0.1", *self.ports[-2:]), "TeiRerankUser"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.workers.append(worker)
        return worker

    def wait(self, timeout: float = 120) -> str:
        try:
            _, err = self.master.communicate(timeout=timeout)
            return err
        finally:
            for p in (self.master, *self.workers):
                if p.poll() is None:
                    p.kill()
                    p.wait()


@pytest.fixture
def slow_server():
    with start_server(["--fixed-latency-ms", "40"]) as server:
        yield server


def profiling(artifacts):
    records = load_records(artifacts)
    return records[records["phase"] == PHASE_PROFILING]


def test_worker_leaving_early_keeps_the_count_exact(slow_server, tmp_path, clean_env):
    artifacts = tmp_path / "run"
    before = received(slow_server)
    cluster = Cluster(slow_server.url, clean_env, artifacts, 2)
    cluster.add_worker()
    leaving = cluster.add_worker()
    assert wait_until(lambda: received(slow_server) - before > 200, timeout=60)
    leaving.send_signal(signal.SIGTERM)  # a graceful exit: it reports and gives back what it did not send
    err = cluster.wait()
    assert cluster.master.returncode == 0, err[-3000:]
    prof = profiling(artifacts)
    assert len(prof) == COUNT == received(slow_server) - before
    assert set(prof["error_kind"].tolist()) <= {ErrorKind.OK, ErrorKind.CANCELLED}
    assert export_json(artifacts)["partial"] is False


def test_worker_dying_is_reported_and_marks_the_report_partial(slow_server, tmp_path, clean_env):
    artifacts = tmp_path / "run"
    before = received(slow_server)
    cluster = Cluster(slow_server.url, clean_env, artifacts, 2)
    cluster.add_worker()
    dying = cluster.add_worker()
    assert wait_until(lambda: received(slow_server) - before > 200, timeout=60)
    dying.kill()  # SIGKILL: no goodbye, its last unreported records are gone
    err = cluster.wait(timeout=180)
    exported = export_json(artifacts)
    assert exported["partial"] is True
    notes = " ".join(exported["notes"])
    assert "lost mid-run" in notes and "unaccounted" in notes
    prof = profiling(artifacts)
    sent = received(slow_server) - before
    assert len(prof) < COUNT and len(prof) <= sent
    assert "partial" in (artifacts / "profile_export_console.txt").read_text().lower(), err[-2000:]


def mean_in_flight(prof, start: float, end: float) -> float:
    """Mean number of requests in flight between two fractions of the run's time span."""
    t0, t1 = int(prof["start_ns"].min()), int(prof["end_ns"].max())
    a, b = t0 + (t1 - t0) * start, t0 + (t1 - t0) * end
    overlap = np.minimum(prof["end_ns"], b) - np.maximum(prof["start_ns"], a)
    return float(np.clip(overlap, 0, None).sum() / (b - a))


def run_with_a_late_worker(server, artifacts, env, *extra: str, late: int = 1):
    """One worker from the start, ``late`` more at once after 100 requests; the measured records."""
    before = received(server)
    cluster = Cluster(server.url, env, artifacts, 1, *extra)
    cluster.add_worker()
    assert wait_until(lambda: received(server) - before > 100, timeout=60)
    for _ in range(late):
        cluster.add_worker()
    err = cluster.wait()
    assert cluster.master.returncode == 0, err[-3000:]
    prof = profiling(artifacts)
    assert len(prof) == COUNT == received(server) - before
    assert len(set(prof["index"].tolist())) == COUNT
    assert export_json(artifacts)["partial"] is False
    return prof


@pytest.mark.parametrize(("late", "extra"), [(1, ()), (1, ("--enable-rebalancing",)), (3, ())],
                         ids=["one", "one-enable-rebalancing", "three-at-once"])
def test_workers_joining_late_take_part_and_the_count_stays_exact(slow_server, tmp_path, clean_env, late, extra):
    # Locust moves users to a worker that connects while the test runs; that worker asks the
    # master for the run's configuration, draws indices from the same budget, and says done.
    # Three at once: Locust rebalances for the first and may leave the others idle (they connect
    # while its dispatch is in progress); idle workers must not hold up or skew the run.
    artifacts = tmp_path / "run"
    prof = run_with_a_late_worker(slow_server, artifacts, clean_env, *extra, late=late)
    # users that Locust moves away finish the request they have in flight: nothing is cancelled
    assert (prof["error_kind"] == ErrorKind.OK).all()
    sent_by = set(prof["worker"].tolist())
    assert {0, 1} <= sent_by <= set(range(late + 1))
    # once the moves are over, exactly -u 8 users send: none lost or doubled by the bookkeeping
    assert 7.0 <= mean_in_flight(prof, 0.5, 0.9) <= 8.05
    assert set(export_json(artifacts)["rankperf"]["client_cpu"]) == {str(w) for w in sent_by}


def test_worker_joining_a_running_open_loop_test_adds_no_rate(slow_server, tmp_path, clean_env):
    # the arrival rate is split among the workers present at the start: a late one sends nothing
    prof = run_with_a_late_worker(slow_server, tmp_path / "run", clean_env, "--request-rate", "150")
    assert set(prof["worker"].tolist()) == {0}


def test_open_loop_rate_holds_when_a_worker_leaves(slow_server, tmp_path, clean_env):
    # 150/s split over two workers; one leaves: the other takes over its arrivals from then on
    artifacts = tmp_path / "run"
    before = received(slow_server)
    cluster = Cluster(slow_server.url, clean_env, artifacts, 2, "--request-rate", "150")
    cluster.add_worker()
    leaving = cluster.add_worker()
    assert wait_until(lambda: received(slow_server) - before > 300, timeout=60)
    leaving.send_signal(signal.SIGTERM)
    err = cluster.wait()
    assert cluster.master.returncode == 0, err[-3000:]
    prof = profiling(artifacts)
    assert len(prof) == COUNT == received(slow_server) - before
    assert set(prof["error_kind"].tolist()) <= {ErrorKind.OK, ErrorKind.CANCELLED}
    # after the leave only one worker sends, at the whole rate (without the hand-over: half)
    last_send = {w: int(prof["start_ns"][prof["worker"] == w].max()) for w in set(prof["worker"].tolist())}
    assert len(last_send) == 2
    a = min(last_send.values()) + 1_000_000_000  # a second after the leaver's last send
    b = max(last_send.values()) - 500_000_000
    assert b - a > 3e9, "too little of the run after the leave to measure a rate"
    starts = prof["start_ns"]
    rate = ((starts >= a) & (starts < b)).sum() / ((b - a) / 1e9)
    assert rate == pytest.approx(150, rel=0.12)
