"""Is a local run's memory flat in the number of requests? Peak RSS of runs of N and 10 N requests.

Runs `locust` (one local process, rankperf's locustfile) against `rankperf serve` with no model
latency, for each request count, and samples the process's resident memory every 50 ms:
`load_peak_mb` is the peak while requests were still being sent (from rankperf's progress file),
`peak_mb` the peak of the whole run (VmHWM), the end included, where the exports are built from
every record. Run: `python benchmarks/soak_memory.py --counts 40000 400000 --json`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rankperf_data.load.progress import PROGRESS_ENV
from rankperf_data.server.testing import start_server

REPO = Path(__file__).resolve().parents[1]


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def progress_done(path: Path) -> int:
    try:
        return int(json.loads(path.read_text())["done"])
    except (OSError, ValueError, KeyError):
        return 0


def one_run(url: str, count: int, out: Path, timeout: float, extra: list[str] = ()) -> dict:
    progress = out / f"progress-{count}.json"
    env = {**os.environ, PROGRESS_ENV: str(progress)}
    cmd = [str(Path(sys.executable).with_name("locust")), "-f", str(REPO / "locustfiles" / "rerank.py"), "--headless",
           "-H", url, "-u", "32", "-r", "32", "--request-count", str(count), "--rankings-passages-mean", "2",
           "--rankings-passages-prompt-token-mean", "16", "--num-dataset-entries", "100",
           "--artifact-dir", str(out / f"run-{count}"), "--only-summary", *extra, "TeiRerankUser"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    load_peak = peak = 0
    try:
        while proc.poll() is None and time.monotonic() - started < timeout:
            try:
                rss, peak = status_kb(proc.pid, "VmRSS"), max(peak, status_kb(proc.pid, "VmHWM"))
            except OSError:
                break
            if progress_done(progress) < count:
                load_peak = max(load_peak, rss)
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return {"requests": count, "exit": proc.returncode, "seconds": round(time.monotonic() - started, 1),
            "load_peak_mb": round(load_peak / 1024, 1), "peak_mb": round(peak / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[40_000, 400_000])
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run at most")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-server-metrics", action="store_true",
                        help="do not scrape the server's /metrics (its scrapes are parsed at the end and grow with "
                             "the run's duration, not with its requests)")
    args = parser.parse_args()
    server = start_server(["--zero-latency", "--max-concurrent-requests", "0"])
    try:
        with tempfile.TemporaryDirectory(prefix="soak_memory_") as tmp:
            extra = ["--no-server-metrics"] if args.no_server_metrics else []
            runs = [one_run(server.url, n, Path(tmp), args.timeout, extra) for n in args.counts]
    finally:
        server.stop()
    small, large = runs[0], runs[-1]
    result = {"runs": runs,
              "load_peak_ratio": round(large["load_peak_mb"] / small["load_peak_mb"], 3) if small["load_peak_mb"] else None,
              "peak_ratio": round(large["peak_mb"] / small["peak_mb"], 3) if small["peak_mb"] else None}
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
