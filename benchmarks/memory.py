"""Figure 4: peak memory of each client's process tree over a long run against nginx."""

from __future__ import annotations

from pathlib import Path

from common import Mode, median, ratio
from targets import Target
from tools import Spec, execute


def measure(mode: Mode, nginx: Target, work: Path, caps: dict[str, float | None], best: dict,
            startup: dict, aiperf_ok: bool) -> dict:
    """Alternating runs; peak summed RSS and PSS of the tree (sampled every 0.25 s), bytes per request."""
    n = mode.memory_requests
    aiperf_n = min(n, mode.size(caps.get("aiperf"), mode.memory_aiperf_seconds, hi=n))
    specs = {
        "rankperf": Spec("rankperf", nginx.url, requests=n, concurrency=50, label="memory"),
        "rankperf_2proc": Spec("rankperf", nginx.url, requests=n, concurrency=50, workers=2,
                               label="memory 2 processes"),
    }
    if aiperf_ok:
        workers = best.get("workers_max")
        specs["aiperf"] = Spec("aiperf", nginx.url, requests=aiperf_n, concurrency=best.get("concurrency", 64),
                               workers=workers if isinstance(workers, int) else 0, label="memory")
    runs: dict[str, list[dict]] = {k: [] for k in specs}
    keys = list(specs)
    for rep in range(mode.reps):
        for key in keys[rep % len(keys):] + keys[:rep % len(keys)]:
            spec = specs[key]
            timeout = spec.requests / max(100.0, (caps.get(spec.tool) or 500) / 3) + 120
            r = execute(spec, work / f"memory-{key}-{rep}", timeout, nginx.pids, memory=True)
            runs[key].append(r)
            print(f"  memory {key:<15} rep {rep}: {r.get('requests') or 0:7,} requests  peak PSS "
                  f"{r.get('peak_pss_mb') or 0:7.1f} MB  RSS {r.get('peak_rss_mb') or 0:7.1f} MB", flush=True)
    out: dict = {"requests": n, "aiperf_requests": aiperf_n if aiperf_ok else None,
                 "sampling": "sum over the client's process tree of /proc/PID/smaps_rollup Rss and Pss, every 0.25 s"}
    for key, rs in runs.items():
        pss = median([r.get("peak_pss_mb") for r in rs])
        base = startup.get(key, {}).get("peak_pss_mb")
        reqs = median([r.get("requests") for r in rs]) or 0
        out[key] = {
            "peak_pss_mb": _round(pss), "peak_rss_mb": _round(median([r.get("peak_rss_mb") for r in rs])),
            "max_single_process_rss_mb": _round(median([r.get("max_single_rss_mb") for r in rs])),
            "startup_pss_mb": _round(base),
            "bytes_per_request": round(pss * 2**20 / reqs) if pss and reqs else None,
            "growth_bytes_per_request": round((pss - base) * 2**20 / reqs) if pss and base and reqs else None,
            "requests": reqs, "processes": median([r.get("processes_seen") for r in rs]),
            "wall_s": median([r.get("wall_s") for r in rs]),
            "spread_pss_mb": [_round(r.get("peak_pss_mb")) for r in rs],
            "runs": rs,
        }
    if aiperf_ok:
        out["aiperf_vs_rankperf_peak_pss"] = ratio(out["aiperf"]["peak_pss_mb"], out["rankperf"]["peak_pss_mb"])
    return out


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)
