"""What a sweep costs per point beyond the load itself (start-up, report, cooldown), rankperf vs AIPerf.

Both tools run the same 3-point concurrency sweep against `rankperf serve --fixed-latency-ms 20`; a
point's overhead is (sweep wall time - the sum of its points' benchmark_duration) / points. A single
run at the first value gives the one-run overhead for comparison. AIPerf is skipped when its venv
(benchmarks/.env/aiperf, see README) is missing. Usage: RANKPERF_VENV=.venv python3 benchmarks/campaign_overhead.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import peers
from common import OUT, VENV, free_port, wait_port

MODEL = "BAAI/bge-reranker-base"


def _common(url: str, requests: int) -> list[str]:
    return ["-m", MODEL, "--url", url, "--endpoint-type", "hf_tei_rankings", "--random-seed", "1",
            "--ui-type", "none", "--num-dataset-entries", "100", "--request-count", str(requests)]


def commands(tool: str, url: str, requests: int, concurrency: str, art: Path) -> tuple[list[str], dict | None]:
    if tool == "rankperf":
        return [str(VENV / "bin" / "rankperf"), "profile", *_common(url, requests), "--concurrency", concurrency,
                "--tokenizer", str(peers.TOKENIZER_DIR), "--artifact-dir", str(art)], None
    return [str(peers.AIPERF), "profile", *_common(url, requests), "--concurrency", concurrency,
            "--tokenizer", peers.TOKENIZER_REPO, "--no-server-metrics", "--no-gpu-telemetry",
            "--artifact-dir", str(art)], peers.aiperf_env()


def windows(art: Path, values: list[str]) -> list[float]:
    folders = [art / f"concurrency_{v}" for v in values] if len(values) > 1 else [art]
    return [json.loads((f / "profile_export_aiperf.json").read_text())["benchmark_duration"]["avg"] for f in folders]


def measure(tool: str, url: str, requests: int, values: list[str], art: Path, log: Path) -> dict:
    cmd, env = commands(tool, url, requests, ",".join(values), art)
    start = time.monotonic()
    with open(log, "wb") as out:
        code = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=900).returncode
    wall = time.monotonic() - start
    if code != 0:
        return {"error": f"exit {code}, see {log}"}
    load = windows(art, values)
    return {"wall_s": round(wall, 3), "load_s": round(sum(load), 3),
            "overhead_per_point_s": round((wall - sum(load)) / len(values), 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--values", default="1,2,4")
    opts = p.parse_args()
    peers.ensure_tokenizer()
    values = opts.values.split(",")
    run_dir = OUT / time.strftime("campaign-%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True)
    port = free_port()
    server = subprocess.Popen([str(VENV / "bin" / "rankperf"), "serve", "--port", str(port), "--fixed-latency-ms",
                               "20", "--max-concurrent-requests", "0"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    results: dict = {"requests_per_point": opts.requests, "values": values}
    try:
        wait_port(port)
        url = f"http://127.0.0.1:{port}"
        tools = ["rankperf"] + (["aiperf"] if peers.AIPERF.exists() else [])
        for tool in tools:
            results[tool] = {
                "single": measure(tool, url, opts.requests, values[:1], run_dir / f"{tool}-single",
                                  run_dir / f"{tool}-single.log"),
                "sweep": measure(tool, url, opts.requests, values, run_dir / f"{tool}-sweep",
                                 run_dir / f"{tool}-sweep.log")}
    finally:
        server.terminate()
        server.wait(timeout=10)
    (run_dir / "campaign_overhead.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
