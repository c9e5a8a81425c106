"""The commands as a user runs them: `rankperf --help`, `rankperf demo`, the seed `profile` commands."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from e2e_support import BIN, REPO, export_json, load_records, received

from rankperf_data.results.records import PHASE_PROFILING
from rankperf_data.server.testing import start_server


def rankperf(*args: str, env, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "rankperf"), *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def test_help_lists_every_subcommand(clean_env):
    out = rankperf("--help", env=clean_env).stdout
    for command in ("profile", "serve", "report", "plot", "demo", "convert-beir"):
        assert re.search(rf"^\s+{command}\s", out, re.M), command
        assert rankperf(command, "--help", env=clean_env).returncode == 0


def test_profile_help_tells_the_real_defaults(clean_env):
    out = rankperf("profile", "--help", env=clean_env).stdout
    assert "--rankings-passages-mean" in out and "--endpoint-type" in out
    from rankperf_data import options

    # the help is generated from the declarations whose defaults the code uses
    assert options.BY_DEST["rankings_passages_mean"].default == 10
    assert options.BY_DEST["rankings_passages_prompt_token_mean"].default == 128
    assert options.BY_DEST["rankings_query_prompt_token_mean"].default == 32
    # the request count: AIPerf's default for profile, no limit for plain locust, both said
    help_text = " ".join(out.split())
    assert "Default: 10 (AIPerf's effective default)" in help_text and "Plain locust" in help_text


def test_demo_runs_both_seed_scenarios(tmp_path, clean_env):
    proc = rankperf("demo", env=clean_env, cwd=tmp_path, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("rankperf | Ranking Metrics") == 3
    for name in ("demo-hf_tei_rankings-synthetic", "demo-cohere_rankings-jsonl"):
        exported = export_json(tmp_path / "artifacts" / name)
        assert exported["request_count"]["avg"] == 10
    quality = export_json(tmp_path / "artifacts" / "demo-nim_rankings-labelled")["rankperf"]["quality"]
    assert quality["judged_requests"] == 30 and quality["consistency"]["requests_compared"] == 30
    assert quality["consistency"]["order_changed"] == 0  # the reference server does not drift by default


def test_readme_quick_start_and_ci_agree():
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    assert blocks[0].strip().endswith("rankperf demo")
    test_command = blocks[1].strip()
    assert "pytest" in test_command
    assert test_command in (REPO / ".ci" / "run").read_text()


@pytest.fixture(scope="module")
def server_20ms():
    with start_server(["--fixed-latency-ms", "20"]) as server:
        yield server


def test_seed_tei_command(server_20ms, tmp_path, clean_env):
    before = received(server_20ms)
    proc = rankperf("profile", "-m", "BAAI/bge-reranker-base", "--endpoint-type", "hf_tei_rankings",
                    "--url", server_20ms.url.removeprefix("http://"), "--request-count", "10",
                    "--rankings-passages-mean", "5", "--rankings-passages-stddev", "1",
                    "--rankings-passages-prompt-token-mean", "32", "--rankings-passages-prompt-token-stddev", "8",
                    "--rankings-query-prompt-token-mean", "16", "--rankings-query-prompt-token-stddev", "4",
                    env=clean_env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # AIPerf's naming rule for the artifacts directory
    artifacts = tmp_path / "artifacts" / "BAAI_bge-reranker-base-openai-hf_tei_rankings-concurrency1"
    exported = export_json(artifacts)
    assert received(server_20ms) - before == 10 == exported["request_count"]["avg"]
    assert 20 <= exported["request_latency"]["p50"] < 30  # known server latency (precision: test_open_loop)
    assert "rankperf | Ranking Metrics" in proc.stdout and "JSON Export:" in proc.stdout
    # one load process, mostly waiting on a 20 ms server: busy well under one core
    assert 0 < exported["rankperf"]["client_cpu"]["0"] < 0.9
    records = load_records(artifacts)
    prof = records[records["phase"] == PHASE_PROFILING]
    # unseeded: counts are N(5, 1) draws, so only a 4-sigma band is certain enough for CI
    assert prof["passages"].min() >= 1 and prof["passages"].max() <= 9
    assert 3.5 <= prof["passages"].mean() <= 6.5
    for name in ("profile_export_aiperf.csv", "profile_export.jsonl", "inputs.json",
                 "profile_export_console.txt", "locust_stats.csv", "locust_report.html"):
        assert (artifacts / name).exists(), name
    inputs = json.loads((artifacts / "inputs.json").read_text())
    assert len(inputs["data"]) == 10 and set(inputs["data"][0]["payloads"][0]) == {"query", "texts"}
    # what was recorded is what was sent
    sent = sorted(len(entry["payloads"][0]["texts"]) for entry in inputs["data"])
    assert sent == sorted(prof["passages"].tolist())


def test_seed_cohere_jsonl_command(server_20ms, tmp_path, clean_env):
    jsonl = tmp_path / "rankings.jsonl"
    jsonl.write_text((REPO / "tests" / "fixtures" / "aiperf_samples" / "rankings.jsonl").read_text())
    before = received(server_20ms, "/v2/rerank")
    proc = rankperf("profile", "-m", "BAAI/bge-reranker-v2-m3", "--endpoint-type", "cohere_rankings",
                    "--url", server_20ms.url, "--input-file", "./rankings.jsonl", "--custom-dataset-type",
                    "single_turn", "--request-count", "10", env=clean_env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    artifacts = tmp_path / "artifacts" / "BAAI_bge-reranker-v2-m3-openai-cohere_rankings-concurrency1"
    exported = export_json(artifacts)
    assert received(server_20ms, "/v2/rerank") - before == 10 == exported["request_count"]["avg"]
    records = load_records(artifacts)
    # the five lines are used in order and wrap around
    assert sorted(records["index"].tolist()) == list(range(10))
    lat = (records["end_ns"] - records["start_ns"]) / 1e6
    assert np.median(lat) == pytest.approx(exported["request_latency"]["p50"])
    assert exported["input_config"]["datasets"][0]["type"] == "file"


def test_report_rebuilds_a_run_and_reads_plain_locust_csvs(server_20ms, tmp_path, clean_env):
    from e2e_support import locust_cmd, run

    artifacts = tmp_path / "run"
    proc = run(locust_cmd(server_20ms.url, "-u", "4", "--request-count", "80", "--csv", str(tmp_path / "plain"),
                          "--artifact-dir", str(artifacts), "TeiRerankUser"), clean_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    original = export_json(artifacts)
    rebuilt_dir = tmp_path / "rebuilt"
    rebuilt = rankperf("report", str(artifacts), "--output", str(rebuilt_dir), env=clean_env)
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    again = json.loads((rebuilt_dir / "profile_export_aiperf.json").read_text())
    for tag in ("request_latency", "request_throughput", "request_count"):
        assert again[tag] == original[tag]
    from_csv = rankperf("report", "--locust-csv", str(tmp_path / "plain"), "--output", str(tmp_path / "csv"),
                        env=clean_env)
    assert from_csv.returncode == 0, from_csv.stderr[-2000:]
    assert "approximate" in from_csv.stdout.lower()
    csv_json = json.loads(next((tmp_path / "csv").glob("profile_export_aiperf*.json")).read_text())
    assert csv_json["request_count"]["avg"] == 80
    plots = rankperf("plot", str(artifacts), env=clean_env)
    assert plots.returncode == 0, plots.stderr[-2000:]
    pngs = list((artifacts / "plots").glob("*.png"))
    assert len(pngs) >= 4 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


@pytest.mark.parametrize("command", ["profile", "locust"])
def test_endpoint_without_leading_slash_is_a_path(server_20ms, tmp_path, clean_env, command):
    from e2e_support import locust_cmd, run

    before = received(server_20ms, "/v1/rerank")
    if command == "profile":
        proc = rankperf("profile", "--url", server_20ms.url, "--endpoint-type", "cohere_rankings",
                        "--endpoint", "v1/rerank", "--request-count", "5", "--artifact-dir", str(tmp_path / "run"),
                        env=clean_env, timeout=60)
    else:
        proc = run(locust_cmd(server_20ms.url, "--request-count", "5", "--endpoint", "v1/rerank",
                              "--artifact-dir", str(tmp_path / "run"), "CohereRerankUser"), clean_env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert received(server_20ms, "/v1/rerank") - before == 5
    assert export_json(tmp_path / "run")["input_config"]["endpoint"]["path"] == "/v1/rerank"


def test_endpoint_that_is_no_path_is_refused_before_load(server_20ms, tmp_path, clean_env):
    before = received(server_20ms)
    proc = rankperf("profile", "--url", server_20ms.url, "--endpoint", f"{server_20ms.url}/rerank",
                    "--request-count", "5", "--artifact-dir", str(tmp_path / "run"), env=clean_env, timeout=60)
    assert proc.returncode == 2
    assert "--endpoint" in proc.stderr and "--url" in proc.stderr
    assert received(server_20ms) == before


@pytest.mark.parametrize(("args", "message"), [
    (["--workers", "-3"], "-1 (one per CPU core) or >= 0"),
    (["-u", "127.0.0.1:1", "-u", "127.0.0.1:2"], "one URL per run"),
    (["--url", "127.0.0.1:1", "-u", "127.0.0.1:2"], "one URL per run"),
    (["--tokenizer", "builtin"], "tokenizer.json"),
    (["--arrival-pattern", "gamma"], "use poisson"),
    (["--request-rate-mode", "concurrency-burst"], "--concurrency"),
    (["--custom-dataset-type", "random_pool"], "single_turn"),
    (["--custom-dataset-type", "inputs_json"], "single_turn"),
    (["--custom-dataset-type", "raw_payload"], "single_turn"),
])
def test_aiperf_values_rankperf_lacks_exit_2_with_the_alternative(clean_env, args, message):
    proc = rankperf("profile", *args, env=clean_env, timeout=60)
    assert proc.returncode == 2, proc.stderr[-2000:]
    error = proc.stderr.strip().splitlines()[-1]
    assert message in error
    if "--workers" not in args and "-u" not in args:
        assert "not supported by rankperf" in error


def test_profile_without_a_count_sends_aiperfs_default(server_20ms, tmp_path, clean_env):
    before = received(server_20ms)
    proc = rankperf("profile", "--url", server_20ms.url, "--concurrency", "4", "--artifact-dir",
                    str(tmp_path / "run"), env=clean_env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert received(server_20ms) - before == 10 == export_json(tmp_path / "run")["request_count"]["avg"]
    # where everything went, as AIPerf says it
    assert f"Results saved to: {tmp_path / 'run'}" in proc.stdout
    for label, name in (("JSON Export", "profile_export_aiperf.json"), ("CSV Export", "profile_export_aiperf.csv")):
        assert f"{label}: {tmp_path / 'run' / name}" in proc.stdout


def test_profile_with_a_duration_has_no_count_limit(server_20ms, tmp_path, clean_env):
    proc = rankperf("profile", "--url", server_20ms.url, "--benchmark-duration", "1", "--artifact-dir",
                    str(tmp_path / "run"), env=clean_env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert export_json(tmp_path / "run")["request_count"]["avg"] > 10  # ~45 at 20 ms, one in flight


def test_progress_bar_on_a_terminal_shows_a_percentage(server_20ms, tmp_path, clean_env):
    import os
    import pty
    import threading

    primary, secondary = pty.openpty()
    chunks: list[bytes] = []

    def read_all() -> None:
        while True:
            try:
                data = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    with subprocess.Popen([str(BIN / "rankperf"), "profile", "--url", server_20ms.url, "--request-count", "150",
                           "--artifact-dir", str(tmp_path / "run")], env={**clean_env, "COLUMNS": "120"},
                          stdout=secondary, stderr=secondary) as proc:
        os.close(secondary)
        assert proc.wait(timeout=60) == 0
    reader.join(timeout=5)
    os.close(primary)
    screen = b"".join(chunks).decode(errors="replace")
    assert re.search(r"Profiling.*\b\d{1,3}%", screen), screen[-2000:]
    assert "Results saved to:" in screen
