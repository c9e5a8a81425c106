"""Scaling: rankperf with 1, 2 and 4 local worker processes against nginx (a fast, independent target).

    python benchmarks/scaling.py [--requests N] [--reps R]

On 2 cores the curve flattens early; the point is that nothing in rankperf serialises the
workers (the master only grants index ranges and collects records in batches).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT, median  # noqa: E402
from targets import nginx  # noqa: E402
from tools import Spec, execute  # noqa: E402

WORKERS = (0, 1, 2, 4)  # 0: one process, no master; N: a master and N worker processes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30_000, help="requests per run (default: %(default)s)")
    parser.add_argument("--reps", type=int, default=3, help="alternating repetitions (default: %(default)s)")
    args = parser.parse_args()
    runs: dict[int, list[dict]] = {w: [] for w in WORKERS}
    with nginx() as (fast, _):
        for rep in range(args.reps):
            for workers in WORKERS:  # alternate, so background noise hits every setting alike
                spec = Spec("rankperf", fast.url, requests=args.requests, concurrency=64, workers=workers,
                            label=f"rankperf-w{workers}")
                art = OUT / "scaling" / f"w{workers}-r{rep}"
                runs[workers].append(execute(spec, art, timeout=300, target_pids=fast.pids))
    result = {}
    print(f"{'setting':<22}{'req/s (median)':>16}{'CPU us/req':>12}{'vs 1 process':>14}")
    base = median([r.get("req_s") for r in runs[0] if r.get("req_s")])
    for workers in WORKERS:
        rate = median([r.get("req_s") for r in runs[workers] if r.get("req_s")])
        cpu = median([r.get("cpu_us_per_req") for r in runs[workers] if r.get("cpu_us_per_req")])
        name = "1 process" if workers == 0 else f"master + {workers} worker(s)"
        result[name] = {"req_s": rate, "cpu_us_per_req": cpu, "runs": [r.get("req_s") for r in runs[workers]]}
        ratio = f"{rate / base:.2f}x" if rate and base else "-"
        print(f"{name:<22}{rate or 0:>16,.0f}{cpu or 0:>12,.0f}{ratio:>14}")
    (OUT / "scaling.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
