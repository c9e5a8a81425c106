"""Every kind of profile_export_aiperf.json a user can get passes AIPerf 0.13.0's export model.

Small real runs (closed loop with warmup and goodput, open loop, errors with --benchmark-duration,
a custom endpoint with a JSONL file, NIM, Voyage and Jina (types AIPerf lacks), a run cancelled by Ctrl-C, a
web UI run, `rankperf
report DIR`, `rankperf report --locust-csv`) against the reference server, run side by side;
then the schema check (every run) and AIPerf's own pydantic model (`aiperf` marker).
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from aiperf_check import assert_aiperf_accepts, assert_schema_accepts
from e2e_support import BIN, locust_cmd, received
from test_webui import LocustWebUI, ui_args

from rankperf_data.server.testing import start_server, wait_until

EXPORT = "profile_export_aiperf.json"
RUN_TIMEOUT_S = 120
JSONL = ('{"texts":[{"name":"query","contents":["what is ai"]},{"name":"passages","contents":["ai is x","ai y"]}]}\n'
         '{"query":"second query","passages":["a b","c d","e f"]}\n')


def profile(url: str, out: Path, *args: str) -> list[str]:
    return [str(BIN / "rankperf"), "profile", "-m", "BAAI/bge-reranker-base", "--url", url, "--random-seed", "7",
            "--artifact-dir", str(out), *args]


def _finish(procs: dict[str, subprocess.Popen]) -> None:
    try:
        for name, proc in procs.items():
            _, err = proc.communicate(timeout=RUN_TIMEOUT_S)
            assert proc.returncode in (0, 130), (name, proc.returncode, err[-3000:])
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _web_ui_run(server_url: str, tmp_path: Path, env: dict[str, str]) -> Path:
    web_env = {**env, "HOME": str(tmp_path)}  # no ~/.locust.conf
    with LocustWebUI(ui_args(), web_env, tmp_path) as ui:
        ui.swarm(server_url, request_count=10)
        ui.wait_finished()
        exported = ui.get(f"/rankings/artifacts/{EXPORT}")
        assert exported.status_code == 200
    out = tmp_path / "webui" / EXPORT
    out.parent.mkdir()
    out.write_bytes(exported.content)
    return out


@pytest.fixture(scope="module")
def exports(tmp_path_factory, clean_env) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("kinds")
    (tmp / "in.jsonl").write_text(JSONL)
    with start_server(["--api", "all", "--fixed-latency-ms", "5"]) as ok, \
            start_server(["--api", "all", "--fixed-latency-ms", "5", "--fault", "500:0.5", "--seed", "1"]) as bad, \
            start_server(["--api", "voyage", "--fixed-latency-ms", "5"]) as voyage, \
            start_server(["--api", "jina", "--fixed-latency-ms", "5"]) as jina:
        commands = {
            "closed_warmup_goodput": profile(ok.url, tmp / "closed", "--concurrency", "2", "--request-count", "12",
                                             "--warmup-request-count", "3", "--goodput", "request_latency:500"),
            "open_loop": profile(ok.url, tmp / "open", "--concurrency", "4", "--request-count", "12",
                                 "--request-rate", "100"),
            "errors_duration": profile(bad.url, tmp / "errors", "--concurrency", "2", "--benchmark-duration", "1"),
            "custom_endpoint_jsonl": profile(ok.url, tmp / "custom", "--endpoint-type", "cohere_rankings",
                                             "--endpoint", "/v1/rerank", "--input-file", str(tmp / "in.jsonl"),
                                             "--request-count", "6"),
            "nim": profile(ok.url, tmp / "nim", "--endpoint-type", "nim_rankings", "--request-count", "6"),
            "voyage": profile(voyage.url, tmp / "voyage", "--endpoint-type", "voyage_rankings", "--request-count", "6",
                              "--top-n", "2"),
            "jina": profile(jina.url, tmp / "jina", "--endpoint-type", "jina_rankings", "--request-count", "6"),
            # a sweep with trials: every point's every run is an export of its own
            "campaign": profile(ok.url, tmp / "campaign", "--concurrency", "1,2", "--request-count", "4",
                                "--num-profile-runs", "2", "--profile-run-cooldown-seconds", "0"),
        }
        procs = {name: subprocess.Popen(cmd, env=clean_env, cwd=tmp, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True) for name, cmd in commands.items()}
        # a plain-locust run stopped by Ctrl-C: the only one posting to /v2/rerank, so the server counts it alone
        procs["cancelled"] = subprocess.Popen(
            locust_cmd(ok.url, "-u", "4", "-r", "4", "--request-count", "100000", "--artifact-dir",
                       str(tmp / "cancelled"), "CohereRerankUser"),
            env=clean_env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            assert wait_until(lambda: received(ok, "/v2/rerank") >= 20, timeout=60), "the run never got going"
            procs["cancelled"].send_signal(signal.SIGINT)
            webui = _web_ui_run(ok.url, tmp, clean_env)
        finally:
            _finish(procs)
    found = {"webui": webui}
    found.update({name: tmp / name.split("_")[0] / EXPORT for name in ("closed_warmup_goodput", "open_loop",
                                                                       "errors_duration", "nim", "voyage", "jina",
                                                                       "cancelled")})
    found["custom_endpoint_jsonl"] = tmp / "custom" / EXPORT
    campaign = sorted((tmp / "campaign").rglob(EXPORT))
    assert len(campaign) == 4, campaign  # 2 points x 2 trials
    found.update({f"campaign:{p.parent.relative_to(tmp)}": p for p in campaign})
    for name, args in (("report_dir", [str(tmp / "closed")]),
                       ("report_locust_csv", ["--locust-csv", str(tmp / "closed" / "locust")])):
        proc = subprocess.run([str(BIN / "rankperf"), "report", *args, "--output", str(tmp / name)], env=clean_env,
                              capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        assert proc.returncode == 0, (name, proc.stderr[-3000:])
        found[name] = tmp / name / EXPORT
    return found


def test_every_kind_of_export_passes_aiperfs_schema(exports):
    assert_schema_accepts(exports.values())
    data = {name: json.loads(path.read_text()) for name, path in exports.items()}
    # each file is the kind it is named for
    closed = data["closed_warmup_goodput"]
    assert [p["name"] for p in closed["input_config"]["phases"]] == ["warmup", "profiling"]
    assert closed["input_config"]["slos"] == {"request_latency": 500.0} and "goodput" in closed
    assert data["open_loop"]["input_config"]["phases"][0]["rate"] == 100.0
    errors = data["errors_duration"]
    assert errors["error_summary"] and errors["error_request_count"]["avg"] > 0
    assert errors["input_config"]["phases"][0]["duration"] == 1.0
    custom = data["custom_endpoint_jsonl"]["input_config"]
    assert custom["endpoint"]["path"] == "/v1/rerank" and custom["datasets"][0]["type"] == "file"
    assert data["nim"]["input_config"]["endpoint"]["type"] == "nim_rankings"
    for kind in ("voyage", "jina"):  # AIPerf's nearest type and the path it would not guess; the real type beside
        assert data[kind]["input_config"]["endpoint"] == {"urls": [data[kind]["input_config"]["endpoint"]["urls"][0]],
                                                          "type": "cohere_rankings", "path": "/v1/rerank"}
        assert data[kind]["rankperf"]["endpoint_type"] == f"{kind}_rankings" and data[kind]["request_count"]["avg"] == 6
    assert data["nim"]["rankperf"]["endpoint_type"] == "nim_rankings"
    assert data["cancelled"]["was_cancelled"] is True
    assert data["webui"]["request_count"]["avg"] == 10
    assert data["report_dir"]["request_count"] == closed["request_count"]
    assert data["report_locust_csv"]["rankperf"]["source"] == "locust_csv"
    for name, d in data.items():
        assert d["aiperf_version"] == "0.13.0" and "input_token_throughput" not in d, name


@pytest.mark.aiperf
def test_every_kind_of_export_passes_aiperfs_own_model(exports):
    assert_aiperf_accepts(exports.values())
