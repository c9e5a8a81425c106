"""rankperf against a real third-party server: Infinity 0.0.78 (torch, CPU) serving a tiny cross-encoder.

Each run is small (tens of requests) so a test takes seconds on a shared 2-core machine; the
server-side count comes from Infinity's own /metrics (prometheus-fastapi-instrumentator).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rankperf_data.results.disk import load_run
from rankperf_data.results.outcomes import ErrorKind

pytestmark = [pytest.mark.real_server, pytest.mark.slow]

RANKPERF = str(Path(sys.executable).parent / "rankperf")
# Ten (query, passages) lines, 1 to 10 passages each, words from the tiny model's vocabulary.
JSONL_LINES = [
    {"texts": [{"name": "query", "contents": [f"what is query {i}"]},
               {"name": "passages", "contents": [f"passage {j} of document {i} and the rest" for j in range(i + 1)]}]}
    for i in range(10)
]


def profile(server, artifacts: Path, env: dict[str, str], *args: str, timeout: float = 60, code: int = 0) -> dict:
    """Run `rankperf profile` against the server's Cohere-style /rerank; return the JSON export."""
    cmd = [RANKPERF, "profile", "-m", "tiny", "--endpoint-type", "cohere_rankings", "--endpoint", "/rerank",
           "--url", server.url, "--tokenizer", str(server.model_dir / "tokenizer.json"),
           "--artifact-dir", str(artifacts), "--ui", "none", *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == code, proc.stderr[-3000:] + proc.stdout[-2000:]
    return json.loads((artifacts / "profile_export_aiperf.json").read_text())


def all_ok(export: dict, records: np.ndarray, count: int) -> None:
    assert export["request_count"]["avg"] == count
    assert export["error_summary"] == []
    assert export["was_cancelled"] is False and export["partial"] is False
    assert len(records) == count
    assert sorted(records["index"].tolist()) == list(range(count))  # each request exactly once
    assert (records["status"] == 200).all() and (records["error_kind"] == ErrorKind.OK).all()


def test_synthetic_profile_with_top_n(infinity, tmp_path, clean_env):
    before = infinity.rerank_2xx()
    export = profile(infinity, tmp_path / "run", clean_env, "--request-count", "30", "--concurrency", "4",
                     "--rankings-passages-mean", "6", "--rankings-passages-stddev", "2",
                     "--rankings-passages-prompt-token-mean", "24", "--top-n", "3", "--random-seed", "7")
    records = load_run(tmp_path / "run").records
    all_ok(export, records, 30)
    assert infinity.rerank_2xx() - before == 30  # Infinity's own count agrees
    # Every answer was checked by rankperf: indices in range, sorted, exactly min(top_n, passages) results.
    assert (records["results"] == np.minimum(3, records["passages"])).all()
    assert records["passages"].min() < records["passages"].max()  # the stddev varied the list length
    assert (records["query_tokens"] > 0).all()  # counted with the model's own tokenizer file


def test_wrong_result_count_from_real_server_is_a_validation_error(infinity, tmp_path, clean_env):
    """The check of real answers can fail: the body asks for 2 results while rankperf expects 3."""
    before = infinity.rerank_2xx()
    cmd_args = ("--request-count", "8", "--concurrency", "2", "--rankings-passages-mean", "5",
                "--top-n", "3", "--extra-inputs", "top_n:2")
    export = profile(infinity, tmp_path / "run", clean_env, *cmd_args, code=1)  # 1: every request failed
    run = load_run(tmp_path / "run")
    records = run.records
    assert len(records) == 8 and (records["status"] == 200).all()
    assert (records["error_kind"] == ErrorKind.VALIDATION).all()
    assert export["request_count"]["avg"] == 0
    assert {run.messages[i] for i in records["error_msg"]} == {"expected 3 results, got 2"}
    assert infinity.rerank_2xx() - before == 8


def test_jsonl_input(infinity, tmp_path, clean_env):
    jsonl = tmp_path / "rankings.jsonl"
    jsonl.write_text("".join(json.dumps(line) + "\n" for line in JSONL_LINES))
    before = infinity.rerank_2xx()
    export = profile(infinity, tmp_path / "run", clean_env, "--input-file", str(jsonl),
                     "--custom-dataset-type", "single_turn", "--request-count", "20", "--concurrency", "3")
    records = load_run(tmp_path / "run").records
    all_ok(export, records, 20)
    assert infinity.rerank_2xx() - before == 20
    # Request i is line i mod 10 (sequential sampling): i + 1 passages, all returned (no top_n).
    expected = (records["index"] % 10) + 1
    assert (records["passages"] == expected).all()
    assert (records["results"] == expected).all()
    sent = json.loads((tmp_path / "run" / "inputs.json").read_text())["data"]
    assert sent[3]["payloads"][0]["documents"] == JSONL_LINES[3]["texts"][1]["contents"]


def test_two_workers_exact_count(infinity, tmp_path, clean_env):
    before = infinity.rerank_2xx()
    export = profile(infinity, tmp_path / "run", clean_env, "--workers", "2", "--request-count", "41",
                     "--concurrency", "4", "--rankings-passages-mean", "4", timeout=90)
    records = load_run(tmp_path / "run").records
    all_ok(export, records, 41)
    assert set(records["worker"].tolist()) == {0, 1}  # both workers sent
    assert infinity.rerank_2xx() - before == 41  # not one more, not one less, on the server too


def test_open_loop_rate(infinity, tmp_path, clean_env):
    before = infinity.rerank_2xx()
    export = profile(infinity, tmp_path / "run", clean_env, "--request-rate", "20", "--arrival-pattern",
                     "constant", "--request-count", "30", "--concurrency", "8", "--rankings-passages-mean", "4")
    records = load_run(tmp_path / "run").records
    all_ok(export, records, 30)
    assert infinity.rerank_2xx() - before == 30
    # The schedule is the constant 50 ms grid, whatever the server's latency.
    intended = np.sort(records["intended_ns"])
    assert np.allclose(np.diff(intended) / 1e6, 50.0, atol=1.0)
    # Latency is also measured from the intended send time. (Whether the rate was achieved is not
    # asserted: on a shared 2-core machine a send can start late for reasons that are not the server's.)
    assert export["offered_rate"]["avg"] == 20
    assert export["intended_latency"]["avg"] >= export["request_latency"]["avg"]
    assert export["schedule_lag"]["avg"] >= 0


def test_server_metrics_scraped_from_infinity(infinity, tmp_path, clean_env):
    """rankperf scrapes Infinity's own /metrics (on by default) and knows its names: the server rows
    count exactly the requests of the profiling window."""
    export = profile(infinity, tmp_path / "run", clean_env, "--request-count", "20", "--concurrency", "2",
                     "--rankings-passages-mean", "4", "--random-seed", "3")
    all_ok(export, load_run(tmp_path / "run").records, 20)
    server = export["rankperf"]["server_metrics"]
    assert server["flavour"] == "infinity", server
    duration = server["rows"]["server_request_duration"]
    assert duration["unit"] == "ms" and 0 < duration["avg"] < export["request_latency"]["max"], duration
    assert duration["count"] == 20  # Infinity's histogram saw exactly the measured requests
    assert "p99_bucket" in duration  # the bucket a percentile lies in is stated
    files = json.loads((tmp_path / "run" / "server_metrics_export.json").read_text())
    assert files  # AIPerf's server-metrics file is written too
