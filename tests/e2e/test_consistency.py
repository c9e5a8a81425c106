"""--check-consistency through real Locust processes against the reference server, with and without
--score-drift: drift is found, a drift-free server is not flagged, references are asked once."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from e2e_support import (
    export_json,
    load_records,
    locust_cmd,
    private_master,
    received,
    run,
    wait_master_and_workers,
)

from rankperf_data.results.records import PHASE_PROFILING, REF_COMPARED, REF_ORDER_CHANGED
from rankperf_data.server.testing import start_server

# model time (batches of 2 ms) so that requests overlap in the server; 8 users keep several in flight
BATCHED = ["--api", "all", "--batch-overhead-ms", "2", "--per-token-us", "0"]
ENTRIES = 12
COUNT = 240


@pytest.fixture(scope="module")
def drifting_server():
    with start_server([*BATCHED, "--score-drift", "0.5"]) as server:
        yield server


@pytest.fixture(scope="module")
def drifting_10ms():
    """Answers after 10 ms (built on arrival, so they drift by how many are in flight then): a run of
    1001 requests lasts long enough for both workers to take part."""
    with start_server(["--api", "all", "--fixed-latency-ms", "10", "--score-drift", "0.5"]) as server:
        yield server


@pytest.fixture(scope="module")
def steady_server():
    with start_server(BATCHED) as server:
        yield server


def consistency(artifacts) -> dict:
    return export_json(artifacts)["rankperf"]["quality"]["consistency"]


def pool_run(server, tmp_path, clean_env, *extra: str) -> tuple[dict, str, int]:
    artifacts = tmp_path / "run"
    before = received(server)
    cmd = locust_cmd(server.url, "-u", "8", "-r", "8", "--request-count", str(COUNT), "--num-dataset-entries",
                     str(ENTRIES), "--rankings-passages-mean", "6", "--random-seed", "4", "--check-consistency",
                     "--artifact-dir", str(artifacts), *extra, "TeiRerankUser")
    proc = run(cmd, clean_env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    prof = load_records(artifacts)
    prof = prof[prof["phase"] == PHASE_PROFILING]
    assert ((prof["ref_flags"] & REF_COMPARED) != 0).all()
    return consistency(artifacts), proc.stdout, received(server) - before


def test_drift_under_load_is_detected(drifting_server, tmp_path, clean_env):
    c, stdout, sent = pool_run(drifting_server, tmp_path, clean_env)
    assert sent == COUNT + ENTRIES  # each entry asked once alone, then the measured requests
    assert c["requests_compared"] == COUNT and c["reference_requests"] == ENTRIES and c["references_failed"] == 0
    assert c["order_changed"] > 0 and c["max_score_delta"] > c["score_tolerance"]
    assert c["kendall_tau_min"] < 1.0
    assert "WARNING: answers drift under load" in stdout


def test_drift_free_server_is_not_flagged(steady_server, tmp_path, clean_env):
    c, stdout, sent = pool_run(steady_server, tmp_path, clean_env)
    assert sent == COUNT + ENTRIES
    assert c["requests_compared"] == COUNT
    assert (c["order_changed"], c["topk_changed"], c["max_score_delta"], c["kendall_tau_min"]) == (0, 0, 0.0, 1.0)
    assert "answers drift" not in stdout and "consistency: 240 answers compared" in stdout


def test_references_once_across_processes(drifting_server, tmp_path, clean_env):
    c, _, sent = pool_run(drifting_server, tmp_path, clean_env, "--processes", "2", *private_master())
    assert sent == COUNT + ENTRIES and c["requests_compared"] == COUNT and c["order_changed"] > 0


def test_jsonl_master_and_two_workers(drifting_10ms, tmp_path, clean_env):
    path = tmp_path / "lines.jsonl"
    lines = [{"query": f"river {i} mountain", "passages": [f"river mountain {j}" if j % 3 else f"ocean {i} {j}"
                                                          for j in range(7)]} for i in range(9)]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    artifacts, count = tmp_path / "run", 1001
    port_args = private_master()
    before = received(drifting_10ms)
    master = subprocess.Popen(
        locust_cmd(drifting_10ms.url, "--master", "--expect-workers", "2", "-u", "8", "-r", "8",
                   "--request-count", str(count), "--input-file", str(path), "--check-consistency",
                   "--artifact-dir", str(artifacts), *port_args, "TeiRerankUser"),
        env=clean_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = [subprocess.Popen(
        [*locust_cmd(drifting_10ms.url, "--worker", "--master-host", "127.0.0.1", *port_args[-2:]),
         "TeiRerankUser"], env=clean_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(2)]
    wait_master_and_workers(master, workers, timeout=120)
    assert received(drifting_10ms) - before == count + len(lines)
    records = load_records(artifacts)
    assert set(records["worker"].tolist()) == {0, 1}
    c = consistency(artifacts)
    assert c["requests_compared"] == count and c["reference_requests"] == len(lines)
    # the export's counts are the records' own, merged from both workers
    assert c["order_changed"] == int(((records["ref_flags"] & REF_ORDER_CHANGED) != 0).sum()) > 0
    assert c["max_score_delta"] == pytest.approx(float(np.max(records["ref_delta"].astype(np.float64))))


def test_check_consistency_without_repeats_exits_2_before_load(steady_server, tmp_path, clean_env):
    before = received(steady_server)
    cmd = locust_cmd(steady_server.url, "-u", "2", "--request-count", "5", "--check-consistency",
                     "--artifact-dir", str(tmp_path / "run"), "TeiRerankUser")
    proc = run(cmd, clean_env, timeout=60)
    assert proc.returncode == 2
    assert "field '--check-consistency': needs repeated requests" in proc.stderr
    assert received(steady_server) == before


GIVE_UP_AFTER = 5  # rankperf_data.load.references.GIVE_UP_AFTER (importing it would import Locust here)


def test_references_stop_after_failures_in_a_row(tmp_path, clean_env):
    artifacts = tmp_path / "run"
    with start_server([*BATCHED, "--fault", "500:1"]) as server:
        cmd = locust_cmd(server.url, "-u", "2", "-r", "2", "--request-count", "20", "--num-dataset-entries",
                         str(ENTRIES), "--rankings-passages-mean", "3", "--check-consistency",
                         "--artifact-dir", str(artifacts), "TeiRerankUser")
        proc = run(cmd, clean_env, timeout=60)
        assert proc.returncode == 1  # every measured request failed too
        assert received(server) == GIVE_UP_AFTER + 20
    c = consistency(artifacts)
    assert (c["reference_requests"], c["references_failed"]) == (GIVE_UP_AFTER, GIVE_UP_AFTER)
    assert c["requests_compared"] == 0 and c["not_compared"] == 20
    assert "failed in a row" in proc.stderr


def test_profile_refuses_check_consistency_without_repeats(steady_server, tmp_path, clean_env):
    from pathlib import Path

    before = received(steady_server)
    rankperf = str(Path(locust_cmd("")[0]).parent / "rankperf")
    proc = run([rankperf, "profile", "--url", steady_server.url, "--endpoint-type", "hf_tei_rankings",
                "--check-consistency", "--request-count", "5", "--artifact-dir", str(tmp_path / "run")],
               clean_env, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "rankperf: error: field '--check-consistency': needs repeated requests: give --input-file or "
        "--num-dataset-entries N (every request is distinct otherwise, so none has a reference)")
    assert received(steady_server) == before
