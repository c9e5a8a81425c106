"""Exact request counts through real Locust processes: local, --processes, master + workers.

The reference server's per-route counter is the independent witness.
"""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import numpy as np
import orjson
import pytest
from e2e_support import (
    BIN,
    export_json,
    load_records,
    locust_cmd,
    private_master,
    received,
    run,
    wait_master_and_workers,
)

from rankperf_data.results.records import PHASE_PROFILING, PHASE_WARMUP
from rankperf_data.server.testing import start_server

COUNT = 1001


def check_run(artifacts, server_delta: int, count: int, warmup: int) -> np.ndarray:
    records = load_records(artifacts)
    prof = records[records["phase"] == PHASE_PROFILING]
    warm = records[records["phase"] == PHASE_WARMUP]
    assert server_delta == count + warmup
    assert len(prof) == count and len(warm) == warmup
    # request indices: warmup takes [0, W), the measured phase [W, W+N), each exactly once
    assert sorted(records["index"].tolist()) == list(range(count + warmup))
    assert (prof["error_kind"] == 0).all()
    exported = export_json(artifacts)
    assert exported["request_count"]["avg"] == count
    assert exported["was_cancelled"] is False and exported["partial"] is False
    # warmup requests finish before the first measured request is sent
    if warmup:
        assert warm["end_ns"].max() <= prof["start_ns"].min()
    check_sketches(artifacts, prof, count, warmup)
    return records


def check_sketches(artifacts: Path, prof: np.ndarray, count: int, warmup: int) -> None:
    """The merged per-process summaries count every request once; their percentiles are near exact."""
    merged = orjson.loads((artifacts / "rankperf_sketches.json").read_bytes())
    assert merged["notes"] == []
    assert merged["phases"]["profiling"]["requests"] == merged["phases"]["profiling"]["ok"] == count
    assert merged["phases"].get("warmup", {"requests": 0})["requests"] == warmup
    exact = float(np.percentile((prof["end_ns"] - prof["start_ns"]) / 1e6, 50))
    assert abs(merged["phases"]["profiling"]["p50"] - exact) / exact <= 0.01


def locust_csv_counts(prefix: Path) -> dict[str, int]:
    """Name -> Request Count from Locust's final PREFIX_stats.csv."""
    with open(f"{prefix}_stats.csv", newline="") as fh:
        return {row["Name"]: int(row["Request Count"]) for row in csv.DictReader(fh)}


def check_locust_csv(prefix: Path, route: str, count: int) -> None:
    """Locust's own final CSV (written at the true end, not the stale periodic one) is exact too."""
    counts = locust_csv_counts(prefix)
    assert counts[route] == count, counts
    assert counts["Aggregated"] == count, counts  # warmup requests are in no Locust statistic either


@pytest.mark.parametrize(("extra", "warmup"), [
    pytest.param([], 0, id="local"),
    pytest.param(["--processes", "2"], 0, id="processes-2"),
    pytest.param(["--processes", "2"], 25, id="processes-2-warmup"),
    pytest.param([], 25, id="local-warmup"),
])
def test_exact_count(fast_server, tmp_path, clean_env, extra, warmup):
    if extra:
        extra = extra + private_master()
    artifacts = tmp_path / "run"
    before = received(fast_server)
    cmd = locust_cmd(fast_server.url, "-u", "8", "-r", "8", "--request-count", str(COUNT),
                     "--warmup-request-count", str(warmup), "--rankings-passages-mean", "3",
                     "--artifact-dir", str(artifacts), "--random-seed", "5", "--csv", str(tmp_path / "locust"),
                     *extra, "TeiRerankUser")
    proc = run(cmd, clean_env, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_run(artifacts, received(fast_server) - before, COUNT, warmup)
    check_locust_csv(tmp_path / "locust", "/rerank", COUNT)


@pytest.fixture(scope="module")
def paced_all_server():
    """20 ms a request: 1001 requests over 8 users take ~2.5 s, so a worker whose users start a
    moment late (a busy CPU) still finds indices left; on a zero-latency server the first worker
    can send the whole budget before the second one's users start."""
    with start_server(["--api", "all", "--fixed-latency-ms", "20"]) as server:
        yield server


@pytest.mark.parametrize("warmup", [0, 10])
def test_exact_count_master_and_two_workers(paced_all_server, tmp_path, clean_env, warmup):
    server = paced_all_server
    artifacts = tmp_path / "run"
    port_args = private_master()
    before = received(server, "/v2/rerank")
    master = subprocess.Popen(
        locust_cmd(server.url, "--master", "--expect-workers", "2", "-u", "8", "-r", "8",
                   "--request-count", str(COUNT), "--warmup-request-count", str(warmup), "--random-seed", "5",
                   "--csv", str(tmp_path / "locust"), "--artifact-dir", str(artifacts), *port_args,
                   "CohereRerankUser"),
        env=clean_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = [subprocess.Popen(
        [*locust_cmd(server.url, "--worker", "--master-host", "127.0.0.1", *port_args[-2:]),
         "CohereRerankUser"],
        env=clean_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    wait_master_and_workers(master, workers, timeout=90)
    records = check_run(artifacts, received(server, "/v2/rerank") - before, COUNT, warmup)
    assert set(records["worker"].tolist()) == {0, 1}  # both workers took part
    check_locust_csv(tmp_path / "locust", "/v2/rerank", COUNT)


@pytest.mark.parametrize(("api", "endpoint_type"), [("voyage", "voyage_rankings"), ("jina", "jina_rankings")])
def test_exact_count_for_the_apis_aiperf_lacks(tmp_path, clean_env, api, endpoint_type):
    """`rankperf profile` against the API's own route on `rankperf serve --api NAME`: every request counted
    by the server, the records and the export; the export names AIPerf's nearest type and the real one."""
    count, warmup = 203, 7
    artifacts = tmp_path / "run"
    with start_server(["--api", api, "--batch-overhead-ms", "0", "--per-token-us", "0"]) as server:
        proc = run([str(BIN / "rankperf"), "profile", "--endpoint-type", endpoint_type, "--url", server.url,
                    "--concurrency", "4", "--request-count", str(count), "--warmup-request-count", str(warmup),
                    "--top-n", "2", "--rankings-passages-mean", "3", "--random-seed", "5",
                    "--artifact-dir", str(artifacts)], clean_env, timeout=90)
        assert proc.returncode == 0, proc.stderr[-3000:]
        delta = received(server, "/v1/rerank")
    records = check_run(artifacts, delta, count, warmup)
    assert (records["results"] == np.minimum(records["passages"], 2)).all()  # --top-n reached the server
    exported = export_json(artifacts)
    assert exported["input_config"]["endpoint"]["type"] == "cohere_rankings"
    assert exported["input_config"]["endpoint"]["path"] == "/v1/rerank"
    assert exported["rankperf"]["endpoint_type"] == endpoint_type
    check_locust_csv(artifacts / "locust", "/v1/rerank", count)
