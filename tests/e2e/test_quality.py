"""Quality of labelled runs through real Locust processes: local, --processes 2, master + 2 workers.

The expected NDCG/MRR/Recall of every file line come from asking the reference server alone (one
plain HTTP request per line, outside rankperf) and the formulas; every record must carry exactly
its line's values, and the export's means must be the means of those.
"""

from __future__ import annotations

import json
import random
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from e2e_support import export_json, load_records, locust_cmd, private_master, run, wait_master_and_workers

from rankperf_data.report.quality import judge
from rankperf_data.results.records import PHASE_PROFILING

WORDS = ["apple", "banana", "cherry", "river", "mountain", "engine", "rocket", "violin", "piano", "coffee",
         "garden", "winter", "summer", "orange", "silver", "copper", "forest", "desert", "ocean", "castle"]
LINES = 23
COUNT = 120
BIG_COUNT = 1001  # enough for both processes to take part (indices are granted 64 at a time)


def labelled_file(path: Path, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    lines = []
    for _ in range(LINES):
        n = rng.randint(2, 14)
        lines.append({"query": " ".join(rng.sample(WORDS, 3)),
                      "passages": [" ".join(rng.sample(WORDS, rng.randint(2, 6))) for _ in range(n)],
                      "relevance": [rng.choice((0, 0, 1, 2, 3)) for _ in range(n)]})
    lines[0]["relevance"] = [0] * len(lines[0]["passages"])  # nothing relevant: scores 0, still counted
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return lines


def server_order(url: str, line: dict, top_n: int = 0) -> list[int]:
    """The server's own order for one line, asked alone (TEI route, or Cohere v2 with top_n)."""
    if top_n:
        route, body = "/v2/rerank", {"model": "m", "query": line["query"], "documents": line["passages"],
                                     "top_n": top_n}
    else:
        route, body = "/rerank", {"query": line["query"], "texts": line["passages"]}
    req = urllib.request.Request(url + route, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        answer = json.loads(resp.read())
    return [item["index"] for item in (answer["results"] if top_n else answer)]


def check_quality(artifacts: Path, lines: list[dict], orders: list[list[int]], k: int, count: int) -> dict:
    records = load_records(artifacts)
    prof = records[records["phase"] == PHASE_PROFILING]
    assert len(prof) == count and (prof["error_kind"] == 0).all()
    expected = np.array([judge(orders[e], lines[e]["relevance"], k) for e in range(LINES)], dtype=np.float32)
    entry = prof["index"] % LINES  # sequential sampling: request i sends line i mod LINES
    for col, name in enumerate(("ndcg", "mrr", "recall")):
        assert (prof[name] == expected[entry, col]).all(), name  # every record, exactly
    quality = export_json(artifacts)["rankperf"]["quality"]
    assert quality["judged_requests"] == count and quality["unjudged_requests"] == 0
    for col, name in enumerate(("ndcg", "mrr", "recall")):
        assert quality[f"{name}@{k}"] == pytest.approx(float(expected[entry, col].astype(np.float64).mean()),
                                                       rel=1e-12)
    console = (artifacts / "profile_export_console.txt").read_text()
    assert f"NDCG@{k}" in console and f"Recall@{k}" in console
    return quality


@pytest.fixture(scope="module")
def server_10ms():
    """Same scoring as fast_server (the order is a pure function of the texts), answers after 10 ms."""
    from rankperf_data.server.testing import start_server

    with start_server(["--api", "all", "--fixed-latency-ms", "10"]) as server:
        yield server


@pytest.fixture(scope="module")
def labelled(fast_server, tmp_path_factory):
    path = tmp_path_factory.mktemp("labelled") / "labelled.jsonl"
    lines = labelled_file(path)
    return path, lines, [server_order(fast_server.url, line) for line in lines]


@pytest.mark.parametrize(("extra", "k"), [
    pytest.param([], 10, id="local"),
    pytest.param(["--processes", "2"], 10, id="processes-2"),
    pytest.param(["--processes", "2", "--quality-k", "3"], 3, id="processes-2-k3"),
])
def test_quality_is_exact_whatever_the_split(fast_server, server_10ms, labelled, tmp_path, clean_env, extra, k):
    path, lines, orders = labelled
    count, server = COUNT, fast_server
    if "--processes" in extra:
        # long enough (1001 x 10 ms / 6 users) that both processes surely take part
        extra, count, server = extra + private_master(), BIG_COUNT, server_10ms
    artifacts = tmp_path / "run"
    cmd = locust_cmd(server.url, "-u", "6", "-r", "6", "--request-count", str(count),
                     "--input-file", str(path), "--artifact-dir", str(artifacts), *extra, "TeiRerankUser")
    proc = run(cmd, clean_env, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    quality = check_quality(artifacts, lines, orders, k, count)
    assert 0 < quality[f"ndcg@{k}"] < 1  # random labels: neither perfect nor nothing
    if "--processes" in extra:
        assert set(load_records(artifacts)["worker"].tolist()) == {0, 1}  # both processes' records merged


def test_quality_master_and_two_workers(server_10ms, labelled, tmp_path, clean_env):
    path, lines, orders = labelled
    artifacts = tmp_path / "run"
    port_args = private_master()
    common = ["--input-file", str(path)]
    master = subprocess.Popen(
        locust_cmd(server_10ms.url, "--master", "--expect-workers", "2", "-u", "6", "-r", "6",
                   "--request-count", str(BIG_COUNT), "--artifact-dir", str(artifacts), *common, *port_args,
                   "TeiRerankUser"),
        env=clean_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = [subprocess.Popen(
        [*locust_cmd(server_10ms.url, "--worker", "--master-host", "127.0.0.1", *port_args[-2:]), *common,
         "TeiRerankUser"],
        env=clean_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    wait_master_and_workers(master, workers, timeout=90)
    check_quality(artifacts, lines, orders, 10, BIG_COUNT)
    assert set(load_records(artifacts)["worker"].tolist()) == {0, 1}


def test_top_n_answers_are_judged_against_every_label(fast_server, labelled, tmp_path, clean_env):
    path, lines, _ = labelled
    orders = [server_order(fast_server.url, line, top_n=3) for line in lines]
    assert all(len(o) == min(3, len(line["passages"])) for o, line in zip(orders, lines, strict=True))
    artifacts = tmp_path / "run"
    cmd = locust_cmd(fast_server.url, "-u", "4", "-r", "4", "--request-count", str(COUNT), "--top-n", "3",
                     "--input-file", str(path), "--artifact-dir", str(artifacts), "CohereRerankUser")
    proc = run(cmd, clean_env, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_quality(artifacts, lines, orders, 10, COUNT)


def test_failed_answers_are_not_judged(tmp_path, clean_env, labelled):
    from rankperf_data.server.testing import start_server

    path, _, _ = labelled
    artifacts = tmp_path / "run"
    with start_server(["--api", "all", "--batch-overhead-ms", "0", "--per-token-us", "0",
                       "--fault", "wrong-count:0.3", "--seed", "3"]) as server:
        cmd = locust_cmd(server.url, "-u", "4", "-r", "4", "--request-count", "60", "--input-file", str(path),
                         "--artifact-dir", str(artifacts), "TeiRerankUser")
        proc = run(cmd, clean_env, timeout=90)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    prof = load_records(artifacts)
    failed = int((prof["error_kind"] != 0).sum())
    assert 0 < failed < 60
    assert np.isnan(prof["ndcg"][prof["error_kind"] != 0]).all()
    quality = export_json(artifacts)["rankperf"]["quality"]
    assert quality["judged_requests"] == 60 - failed and quality["unjudged_requests"] == failed
    # `rankperf report` rebuilds the same section from the records on disk
    (artifacts / "profile_export_aiperf.json").unlink()
    rebuilt = run([str(Path(locust_cmd("")[0]).parent / "rankperf"), "report", str(artifacts)], clean_env)
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert export_json(artifacts)["rankperf"]["quality"] == quality


def test_shipped_labelled_set_is_valid():
    from rankperf_data.dataset.jsonl import read_jsonl
    from rankperf_data.demo import LABELLED_SET

    lines = read_jsonl(LABELLED_SET)
    assert len(lines) >= 24 and all(e.relevance is not None and max(e.relevance) == 3 for e in lines)


def test_mixed_labels_exit_2_before_any_load(fast_server, tmp_path, clean_env):
    from e2e_support import received

    path = tmp_path / "mixed.jsonl"
    path.write_text('{"query": "q", "passages": ["a"], "relevance": [1]}\n{"query": "q", "passages": ["a"]}\n')
    before = received(fast_server)
    proc = run([str(Path(locust_cmd("", )[0]).parent / "rankperf"), "profile", "--url", fast_server.url,
                "--endpoint-type", "hf_tei_rankings", "--input-file", str(path), "--request-count", "5",
                "--artifact-dir", str(tmp_path / "run")], clean_env, timeout=60)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"{path}:2: field 'relevance'" in proc.stderr + proc.stdout
    assert received(fast_server) == before
