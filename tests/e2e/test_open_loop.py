"""Open-loop arrivals and timing accuracy through real Locust processes."""

from __future__ import annotations

import numpy as np
import pytest
from e2e_support import export_json, load_records, locust_cmd, private_master, run

from rankperf_data.load.process import CONNECT_AHEAD_MIN
from rankperf_data.results.records import PHASE_PROFILING
from rankperf_data.server.testing import start_server


def sends(artifacts) -> np.ndarray:
    records = load_records(artifacts)
    prof = records[records["phase"] == PHASE_PROFILING]
    assert (prof["error_kind"] == 0).all()
    return prof


def achieved_rate(start_ns: np.ndarray) -> float:
    s = np.sort(start_ns)
    return (len(s) - 1) / ((s[-1] - s[0]) / 1e9)


def gap_cv(times_ns: np.ndarray, trim: float = 0.0) -> float:
    """Coefficient of variation of the gaps between consecutive times; ``trim`` drops that
    percentile of gaps at each end (a GC pause or a record flush makes one long gap)."""
    gaps = np.diff(np.sort(times_ns)).astype(float)
    if trim:
        lo, hi = np.percentile(gaps, [trim, 100 - trim])
        gaps = gaps[(gaps >= lo) & (gaps <= hi)]
    return float(gaps.std() / gaps.mean())


@pytest.mark.slow
@pytest.mark.parametrize(("pattern", "extra"), [
    ("poisson", []),
    ("constant", []),
    ("poisson", ["--processes", "2"]),
    # each process sends every other arrival: evenly interleaved only if both start their
    # schedule from the same instant (their own start differs by spawn and message delays)
    ("constant", ["--processes", "2"]),
])
def test_open_loop_rate_and_gaps(tmp_path, clean_env, pattern, extra):
    if extra:
        extra = extra + private_master()
    artifacts = tmp_path / "run"
    with start_server(["--fixed-latency-ms", "2"]) as server:
        proc = run(locust_cmd(server.url, "-u", "64", "-r", "64", "--request-rate", "500",
                              "--arrival-pattern", pattern, "--request-count", "10000", "--random-seed", "3",
                              "--rankings-passages-mean", "2", "--rankings-passages-prompt-token-mean", "16",
                              "--artifact-dir", str(artifacts), *extra, "TeiRerankUser"), clean_env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    prof = sends(artifacts)
    assert len(prof) == 10000
    # intended = the schedule; start_ns = when each request was really sent
    intended_cv, actual_cv = gap_cv(prof["intended_ns"]), gap_cv(prof["start_ns"])
    achieved = achieved_rate(prof["start_ns"])
    if pattern == "poisson":
        assert achieved == pytest.approx(500, rel=0.03)  # seed 3: 507/s (1 process), 511/s (2)
        assert 0.9 <= intended_cv <= 1.1
        # send jitter adds a little variance: measured 1.06 (1 process), 1.03 (2)
        assert 0.9 <= actual_cv <= 1.1
    else:
        assert achieved == pytest.approx(500, rel=0.01)
        # the merged schedule has equal gaps: with 2 processes only if both start from one
        # instant (each from its own start: 0.03 and 0.30 measured here, 0.60 in the bug report)
        assert intended_cv < 0.01
        # Real sends wake from a gevent timer (about 1 ms granularity): the 2 ms gaps jitter.
        # Measured on 2 quiet cores, 1-99th percentile of gaps: 0.15-0.20 with 1 process,
        # 0.22-0.26 with 2 (0.35 with other jobs running); 0.43 from a schedule of CV 0.30
        assert gap_cv(prof["start_ns"], trim=1) < 0.35
        actual_gaps = np.diff(np.sort(prof["start_ns"])) / 1e9
        assert np.median(actual_gaps) == pytest.approx(1 / 500, rel=0.15)
    lag_ms = (prof["start_ns"] - prof["intended_ns"]) / 1e6
    assert np.percentile(lag_ms, 50) < 2.0
    # the report's verdict follows the measurements (the warning rule: lag p99 > 10 ms or < 95% achieved)
    exported = export_json(artifacts)
    late = np.percentile(lag_ms, 99) > 10 or achieved < 0.95 * 500
    assert exported["rankperf"]["rate_not_achieved"] == late


def test_overload_is_measured_not_hidden(tmp_path, clean_env):
    """Offered 100/s, 2 in flight, 50 ms server (capacity 40/s): the run says so."""
    artifacts = tmp_path / "run"
    with start_server(["--fixed-latency-ms", "50"]) as server:
        proc = run(locust_cmd(server.url, "-u", "2", "-r", "2", "--request-rate", "100",
                              "--arrival-pattern", "constant", "--request-count", "120",
                              "--artifact-dir", str(artifacts), "TeiRerankUser"), clean_env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    prof = sends(artifacts)
    service = (prof["end_ns"] - prof["start_ns"]) / 1e6
    corrected = (prof["end_ns"] - prof["intended_ns"]) / 1e6
    assert np.median(service) == pytest.approx(50, abs=5)
    order = np.argsort(prof["intended_ns"])
    # latency from the intended send grows as the backlog builds
    assert corrected[order][-10:].mean() > 5 * corrected[order][:10].mean()
    assert achieved_rate(prof["start_ns"]) < 45
    exported = export_json(artifacts)
    assert exported["rankperf"]["rate_not_achieved"] is True
    console = (artifacts / "profile_export_console.txt").read_text()
    assert "not achieved" in console.lower()


ACCURACY_ATTEMPTS = 3


def test_latency_accuracy_against_a_20ms_server(tmp_path, clean_env):
    """At 16 users against a server answering in exactly 20 ms, the recorded median is within 1 ms of 20 ms.

    Other processes on a shared VM only ever add time (a wake-up, a preempted core), never take it
    away, so the best of a few runs is the client's own accuracy: a client adding a millisecond of
    its own would miss the bound in every run. Quiet-machine medians: 20.6-20.9 ms.
    """
    medians = []
    with start_server(["--fixed-latency-ms", "20"]) as server:
        for attempt in range(ACCURACY_ATTEMPTS):
            artifacts = tmp_path / f"run{attempt}"
            # a pool of distinct requests keeps generation cost out of the way: this measures timing
            proc = run(locust_cmd(server.url, "-u", "16", "-r", "16", "--request-count", "800",
                                  "--warmup-request-count", "64",  # connections and code paths warm
                                  "--rankings-passages-mean", "2", "--num-dataset-entries", "64",
                                  "--artifact-dir", str(artifacts), "TeiRerankUser"), clean_env, timeout=60)
            assert proc.returncode == 0, proc.stderr[-3000:]
            prof = sends(artifacts)
            latency = (prof["end_ns"] - prof["start_ns"]) / 1e6
            assert latency.min() >= 20.0  # never early: the clock spans the whole round trip
            assert export_json(artifacts)["request_latency"]["p50"] == pytest.approx(np.median(latency))
            medians.append(float(np.median(latency)))
            if medians[-1] <= 21.0:
                break
    assert 20.0 <= min(medians) <= 21.0, medians


def test_open_loop_keeps_as_few_users_busy_as_the_load_needs(tmp_path, clean_env):
    """512 users as the in-flight cap, 300 arrivals/s, a 2 ms server: well under one request in
    flight on average. Arrivals go to the user idle the shortest time, so a handful of users (and
    connections) carry the load; handed round-robin, every user opened its own connection."""
    artifacts = tmp_path / "run"
    with start_server(["--fixed-latency-ms", "2"]) as server:
        proc = run(locust_cmd(server.url, "-u", "512", "-r", "512", "--request-rate", "300",
                              "--arrival-pattern", "poisson", "--request-count", "1500", "--random-seed", "5",
                              "--rankings-passages-mean", "2", "--rankings-passages-prompt-token-mean", "16",
                              "--no-server-metrics",  # its scrapes would open connections too
                              "--artifact-dir", str(artifacts), "TeiRerankUser"), clean_env, timeout=120)
        opened = server.metric("rankperf_connections_opened")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(sends(artifacts)) == 1500
    # the users that connect before the schedule starts, and a few more for bursts of a Poisson
    # schedule on a busy machine (rate x latency is ~0.6); one per user (512) without the LIFO hand-off
    assert CONNECT_AHEAD_MIN <= opened <= CONNECT_AHEAD_MIN + 16, opened  # 300/s: the minimum ahead
