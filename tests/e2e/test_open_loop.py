"""Open-loop arrivals and timing accuracy through real Locust processes."""

from __future__ import annotations

import numpy as np
import pytest
from e2e_support import export_json, load_records, locust_cmd, private_master, run

from rankperf_data.load.records import PHASE_PROFILING
from rankperf_data.server.testing import start_server


def sends(artifacts) -> np.ndarray:
    records = load_records(artifacts)
    prof = records[records["phase"] == PHASE_PROFILING]
    assert (prof["error_kind"] == 0).all()
    return prof


def achieved_rate(start_ns: np.ndarray) -> float:
    s = np.sort(start_ns)
    return (len(s) - 1) / ((s[-1] - s[0]) / 1e9)


@pytest.mark.slow
@pytest.mark.parametrize(("pattern", "tolerance", "extra"), [
    ("poisson", 0.03, []),
    ("constant", 0.01, []),
    ("poisson", 0.03, ["--processes", "2"]),
])
def test_open_loop_rate_and_gaps(tmp_path, clean_env, pattern, tolerance, extra):
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
    assert achieved_rate(prof["start_ns"]) == pytest.approx(500, rel=tolerance)
    intended_gaps = np.diff(np.sort(prof["intended_ns"])) / 1e9
    cv = intended_gaps.std() / intended_gaps.mean()
    if pattern == "poisson":
        assert 0.9 <= cv <= 1.1
    else:
        assert cv < 0.05
        actual_gaps = np.diff(np.sort(prof["start_ns"])) / 1e9
        assert np.median(actual_gaps) == pytest.approx(1 / 500, rel=0.15)
    lag_ms = (prof["start_ns"] - prof["intended_ns"]) / 1e6
    assert np.percentile(lag_ms, 50) < 2.0
    # the report's verdict follows the measurements (the warning rule: lag p99 > 10 ms or < 95% achieved)
    exported = export_json(artifacts)
    late = np.percentile(lag_ms, 99) > 10 or achieved_rate(prof["start_ns"]) < 0.95 * 500
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


def server_floor_ms(url: str, n: int = 60) -> float:
    """Median round trip of a bare sequential stdlib client: what this server and VM deliver."""
    import http.client
    import time
    from urllib.parse import urlsplit

    host = urlsplit(url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=5)
    body = b'{"query":"what is a reranker","texts":["a reranker orders passages","bananas are yellow"]}'
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request("POST", "/rerank", body=body, headers={"Content-Type": "application/json"})
        conn.getresponse().read()
        times.append((time.perf_counter() - t0) * 1e3)
    conn.close()
    return float(np.median(times))


@pytest.mark.parametrize("users", [16])
def test_latency_accuracy_against_a_20ms_server(tmp_path, clean_env, users):
    artifacts = tmp_path / "run"
    with start_server(["--fixed-latency-ms", "20"]) as server:
        floor = server_floor_ms(server.url)
        # a pool of distinct requests keeps generation cost out of the way: this measures timing
        proc = run(locust_cmd(server.url, "-u", str(users), "-r", str(users), "--request-count", "800",
                              "--warmup-request-count", "64",  # connections and code paths warm
                              "--rankings-passages-mean", "2", "--num-dataset-entries", "64",
                              "--artifact-dir", str(artifacts), "TeiRerankUser"), clean_env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    prof = sends(artifacts)
    latency = (prof["end_ns"] - prof["start_ns"]) / 1e6
    assert latency.min() >= 20.0
    # the server answers in 20 ms plus what this VM adds on loopback (measured by a bare sequential
    # client just before); 16 users answered at the same instant queue briefly in one client
    # process: measured +0.9 to +1.2 ms on a quiet machine (benchmarks/README.md: +0.92 ms against
    # nginx), up to +2.3 ms in a loaded CI run; the bound below is what this test can hold reliably
    assert 20.0 <= floor < 21.5
    assert floor <= np.median(latency) <= floor + 3.0
    assert export_json(artifacts)["request_latency"]["p50"] == pytest.approx(np.median(latency))
