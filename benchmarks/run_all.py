"""Every benchmark figure in one command: rankperf vs AIPerf 0.13.0, bare Locust and wrk, on loopback.

    python benchmarks/run_all.py [--quick] [--only capacity,timing,open_loop,memory,generation,server_capacity]

Full mode: 3 alternating repetitions of every run, medians reported (about 40 min on 2 cores;
AIPerf's 100,000-request memory run alone takes ~4 min, so it runs once). --quick: 1 repetition,
short runs (about 5 min). A full run writes benchmarks/results.json; --quick writes
benchmarks/out/results-quick.json and --only benchmarks/out/results-partial.json, so neither
replaces the committed figures. Every run prints the table of ratios (rankperf / peer).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import capacity  # noqa: E402
import datagen  # noqa: E402
import memory  # noqa: E402
import open_loop  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402
import server_figure  # noqa: E402
import timing  # noqa: E402
from common import LEDGER, OUT, ROOT, VENV_PY, Mode, loadavg, median  # noqa: E402
from targets import nginx, reference_server  # noqa: E402

FIGURES = ("capacity", "timing", "open_loop", "memory", "generation", "server_capacity")


def machine() -> dict:
    """The host, as far as the numbers depend on it."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    venv_python = subprocess.run([str(VENV_PY), "-c", "import platform; print(platform.python_version())"],
                                 capture_output=True, text=True, timeout=60).stdout.strip()
    return {"cpus": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)), "cpu_model": model,
            "memory_gb": round(mem_kb / 2**20, 1), "kernel": platform.release(), "os": _os_name(),
            "python": venv_python, "hostname_kind": "2-vCPU VM shared with other work"}


def _os_name() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.platform()


def noise(load_start: float) -> dict:
    """How busy the machine was with other work while the clients ran."""
    bg = [r["background_cores"] for r in LEDGER]
    steal = [r["steal_cores"] for r in LEDGER]
    return {
        "runs": len(LEDGER),
        "background_cores_median": median(bg),
        "background_cores_max": max(bg, default=None),
        "runs_with_background_over_0_5_cores": sum(1 for b in bg if b > 0.5),
        "steal_cores_median": median(steal),
        "loadavg_1m_start": load_start,
        "loadavg_1m_end": loadavg(),
        "how": "per run: machine busy CPU (/proc/stat) minus the client tree's CPU minus the target's CPU, "
               "divided by the run's wall time; 1.0 = one of the 2 cores busy with other work",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repetition, short runs (< 5 min)")
    parser.add_argument("--only", default=",".join(FIGURES), help="comma list of figures (development)")
    args = parser.parse_args()
    only = set(args.only.split(","))
    mode = Mode.make(args.quick)
    started = time.monotonic()
    load_start = loadavg()
    work = OUT / f"run-{datetime.now():%Y%m%d-%H%M%S}{'-quick' if args.quick else ''}"
    work.mkdir(parents=True, exist_ok=True)
    print(f"rankperf benchmarks ({'quick' if args.quick else 'full'}), artifacts in {work}", flush=True)

    peers.ensure_debs()
    aiperf_error = peers.ensure_aiperf()
    peers.ensure_tokenizer()
    results: dict = {"date": datetime.now().strftime("%Y-%m-%d"), "started": datetime.now().isoformat(timespec="seconds"),
                     "mode": "quick" if args.quick else "full", "repetitions": mode.reps, "machine": machine(),
                     "git": peers.git_state(), "versions": peers.versions(), "artifacts": str(work)}

    with nginx() as (fast, slow):
        print(f"targets: {fast.url} ({fast.note}); {slow.url if slow else 'no 20 ms nginx'}", flush=True)
        probes = capacity.probe(mode, fast, work, aiperf_error is None)
        first = probes["startup"].get("aiperf", {})
        if aiperf_error is None and not first.get("req_s"):
            aiperf_error = "AIPerf's first run failed: " + first.get("error", "no report")
        aiperf_ok = aiperf_error is None
        cap = capacity.measure(mode, fast, work, probes, aiperf_ok) if "capacity" in only else {}
        cap_rates = {"rankperf": cap.get("rankperf_req_s") or probes["rankperf_probe"].get("req_s"),
                     "aiperf": cap.get("aiperf_req_s") or capacity.AIPERF_GUESS_REQ_S}
        results["capacity"] = {**cap, "aiperf_error": aiperf_error}
        bodies = probes["bodies_file"]  # from here on both tools send rankperf's 100 bodies from this file
        if "timing" in only:
            with reference_server(work / "reference-server.log") as ref:
                targets = {"reference_server": ref, **({"nginx_20ms": slow} if slow and not mode.quick else {})}
                results["timing"] = timing.measure(mode, targets, work, cap_rates, aiperf_ok, bodies)
        if "open_loop" in only:
            results["open_loop"] = open_loop.measure(mode, fast, work, cap_rates, aiperf_ok, bodies)
        if "memory" in only:
            best = cap.get("aiperf_best", {"concurrency": capacity.AIPERF_DEFAULT_CONCURRENCY})
            results["memory"] = memory.measure(mode, fast, work, cap_rates, best, probes["startup"], aiperf_ok,
                                               bodies)
    if "generation" in only:
        results["generation"] = datagen.measure(mode, work, aiperf_ok)
    if "server_capacity" in only:
        results["server_capacity"] = server_figure.measure(mode, work)
    results["git_at_end"] = peers.git_state()
    results["git_changed_during_run"] = results["git_at_end"] != results["git"]
    results["noise"] = noise(load_start)
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    results["commands"] = report.commands(results, str(work))

    if only != set(FIGURES):
        path = OUT / "results-partial.json"
    else:  # a quick run never replaces the committed full results
        path = OUT / "results-quick.json" if args.quick else ROOT / "results.json"
    path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    table = report.table(results)
    (work / "summary.md").write_text(report.markdown(results) + "\n")
    print(table)
    print(f"\nwrote {path} and {work / 'summary.md'} in {results['elapsed_s'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
