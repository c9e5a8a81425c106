"""CPU per request of one rankperf process against nginx: closed loop, or Poisson arrivals at --rate.

    python benchmarks/open_loop_cpu.py [--rate R] [--count N] [--users U] [--reps K] [--profile FILE]

Runs this tree's Locust entry point (the venv's ``locust``, ``locustfiles/rerank.py``, class
TeiRerankUser, 10 synthetic passages x 128 tokens) against nginx answering a fixed TEI body
(benchmarks/nginx.conf). Per run it prints the process's CPU (``os.wait4``: user + sys),
CPU per request (start-up included: a 2,000-request closed-loop run costs ~2 s), voluntary
context switches per request (how often the process slept), achieved rate and, open loop, the
schedule's pace and lag. CPU per request is robust to other load on the machine; lag is not.
``--profile`` runs the client under cProfile.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from targets import nginx  # noqa: E402

from rankperf_data.results.disk import load_run  # noqa: E402
from rankperf_data.results.records import PHASE_PROFILING  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LOCUST = Path(sys.executable).parent / "locust"


def one_run(url: str, args: argparse.Namespace, art: Path) -> str:
    cmd = [str(LOCUST), "-f", str(REPO / "locustfiles" / "rerank.py"), "--headless", "-H", url,
           "-u", str(args.users), "-r", str(args.users), "--request-count", str(args.count), "--random-seed", "1",
           "--artifact-dir", str(art)]
    if args.input_file:
        cmd += ["--input-file", args.input_file, "--custom-dataset-type", "single_turn"]
    else:
        cmd += ["--rankings-passages-mean", "10", "--rankings-passages-prompt-token-mean", "128"]
    if args.rate:
        cmd += ["--request-rate", str(args.rate), "--arrival-pattern", "poisson"]
    cmd.append("TeiRerankUser")
    if args.profile:
        cmd = [sys.executable, "-m", "cProfile", "-o", args.profile, *cmd]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANKPERF_", "LOCUST_"))}
    load = os.getloadavg()[0]
    art.parent.mkdir(parents=True, exist_ok=True)
    with open(art.parent / "client.log", "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, use = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit((art.parent / "client.log").read_text(errors="replace")[-3000:])
    records = load_run(art).records
    measured = records[records["phase"] == PHASE_PROFILING]
    cpu = use.ru_utime + use.ru_stime
    start = np.sort(measured["start_ns"])
    line = (f"{'rate ' + str(args.rate) if args.rate else 'closed loop'}, {args.users} users: {len(records)} requests, "
            f"CPU {cpu:.2f} s ({use.ru_utime:.2f} user), {cpu / len(records) * 1e6:.0f} us/request, "
            f"{use.ru_nvcsw / len(records):.2f} sleeps/request, "
            f"achieved {(len(start) - 1) / ((start[-1] - start[0]) / 1e9):,.0f}/s")
    if args.rate:
        intended = np.sort(measured["intended_ns"])
        lag = (measured["start_ns"] - measured["intended_ns"]) / 1e6
        line += (f", pace {(intended[-1] - intended[0]) / (start[-1] - start[0]):.3f}, "
                 f"lag p50 {np.percentile(lag, 50):.2f} p99 {np.percentile(lag, 99):.2f} ms")
    return line + f", load {load:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=0.0, help="Poisson arrivals per second (0: closed loop)")
    parser.add_argument("--count", type=int, default=30000)
    parser.add_argument("--users", type=int, default=64, help="users (open loop: the in-flight cap)")
    parser.add_argument("--input-file", default="", help="send these single_turn bodies (JSONL) instead of synthetic ones")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--profile", default="", help="write a cProfile of the client here")
    args = parser.parse_args()
    with nginx() as (fast, _), tempfile.TemporaryDirectory(prefix="rankperf-cpu-") as tmp:
        for rep in range(args.reps):
            print(one_run(fast.url, args, Path(tmp) / f"run-{rep}" / "art"), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
