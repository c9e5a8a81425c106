"""Event-loop pauses in one load process: garbage-collector pauses and schedule lag, open loop.

    python benchmarks/pauses.py [--rate R] [--seconds S] [--reps N]

Runs plain `locust` (no `rankperf profile` parent competing for the CPU) against nginx at a
Poisson rate well below capacity, with a locustfile that also times every collection of the
cyclic garbage collector. While a collection runs the event loop stands still: sends are late
and answers that arrive meanwhile get late end times. Reports, per run, the collections that
happened while requests were being sent and the schedule lag (actual - intended send) p99 in the
first second and after it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from targets import nginx  # noqa: E402

from rankperf_data.results.disk import load_run  # noqa: E402

PROBE = '''
import gc, sys, time
_start = [0.0]
def _timed(phase, info):
    if phase == "start":
        _start[0] = time.perf_counter()
    else:
        sys.stderr.write(f"GC {info['generation']} {(time.perf_counter() - _start[0]) * 1e3:.2f} {time.time_ns()}\\n")
gc.callbacks.append(_timed)
from rankperf_data.load.users import TeiRerankUser  # noqa: F401
'''


def one_run(url: str, rate: int, seconds: int, out: Path) -> dict:
    probe = out / "probe_locustfile.py"
    probe.write_text(PROBE)
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "locust"), "-f", str(probe), "--headless", "-H", url, "-u", "64",
         "-r", "1000", "--request-rate", str(rate), "--request-count", str(rate * seconds),
         "--artifact-dir", str(out / "run"), "TeiRerankUser"],
        capture_output=True, text=True, timeout=seconds * 4 + 60, env=env)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    rec = load_run(out / "run").records
    first, last = int(rec["start_ns"].min()), int(rec["end_ns"].max())
    pauses = []
    for line in proc.stderr.splitlines():
        if line.startswith("GC "):
            _, gen, ms, at = line.split()
            if first <= int(at) <= last:
                pauses.append((int(gen), float(ms)))
    lag = (rec["start_ns"] - rec["intended_ns"]) / 1e6
    t = (rec["intended_ns"] - rec["intended_ns"].min()) / 1e9
    return {
        "gen2_pauses_ms": [round(ms, 1) for gen, ms in pauses if gen == 2],
        "longest_pause_ms": round(max((ms for _, ms in pauses), default=0.0), 1),
        "lag_p99_first_s_ms": round(float(np.percentile(lag[t < 1.0], 99)), 2),
        "lag_p99_after_ms": round(float(np.percentile(lag[t >= 1.0], 99)), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=256, help="requests/s (default: %(default)s)")
    parser.add_argument("--seconds", type=int, default=6, help="run length (default: %(default)s)")
    parser.add_argument("--reps", type=int, default=3, help="runs (default: %(default)s)")
    args = parser.parse_args()
    with nginx() as (fast, _), tempfile.TemporaryDirectory(prefix="rankperf-pauses-") as tmp:
        for rep in range(args.reps):
            out = Path(tmp) / f"r{rep}"
            out.mkdir()
            print(f"run {rep}: {one_run(fast.url, args.rate, args.seconds, out)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
