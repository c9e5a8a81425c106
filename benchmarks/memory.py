"""Figure 4: peak memory of each client's process tree over a run of the same number of requests against nginx."""

from __future__ import annotations

from pathlib import Path

from common import Mode, median, ratio
from targets import Target
from tools import Spec, execute

RANKPERF_USERS = 50
BARE_LOCUST_MAX_SECONDS = 300  # bare Locust has no request count of its own: the locustfile stops it, -t bounds it


def _specs(mode: Mode, nginx: Target, best: dict, aiperf_ok: bool, bodies: Path | None) -> dict[str, Spec]:
    n = mode.memory_requests
    specs = {
        "rankperf": Spec("rankperf", nginx.url, requests=n, concurrency=RANKPERF_USERS, label="memory",
                         input_file=bodies),
        "rankperf_2proc": Spec("rankperf", nginx.url, requests=n, concurrency=RANKPERF_USERS, workers=2,
                               label="memory 2 processes", input_file=bodies),
        "locust_bare": Spec("locust_bare", nginx.url, requests=n, seconds=BARE_LOCUST_MAX_SECONDS,
                            concurrency=RANKPERF_USERS, label="memory"),
    }
    if aiperf_ok:
        workers = best.get("workers_max")
        specs["aiperf"] = Spec("aiperf", nginx.url, requests=n, concurrency=best.get("concurrency", 64),
                               workers=workers if isinstance(workers, int) else 0, label="memory", input_file=bodies)
    return specs


def _timeout(spec: Spec, caps: dict[str, float | None]) -> float:
    """Room for the whole run at half the tool's measured capacity, plus start-up and report (AIPerf: ~400 s)."""
    if spec.tool == "locust_bare":
        return spec.seconds + 60
    return spec.requests / max(100.0, (caps.get(spec.tool) or 500) / 2) + 120


def measure(mode: Mode, nginx: Target, work: Path, caps: dict[str, float | None], best: dict,
            startup: dict, aiperf_ok: bool, bodies: Path | None = None) -> dict:
    """Alternating runs of every tool for the same request count; peak summed RSS and PSS of the tree.

    AIPerf's 100,000-request run takes ~200 s, so it runs ``mode.memory_aiperf_reps`` times (once in
    the full run: its peak varied by 0.4 % over 3 runs before); the others run ``mode.reps`` times.
    """
    specs = _specs(mode, nginx, best, aiperf_ok, bodies)
    runs: dict[str, list[dict]] = {k: [] for k in specs}
    keys = list(specs)
    for rep in range(mode.reps):
        for key in keys[rep % len(keys):] + keys[:rep % len(keys)]:
            if key == "aiperf" and rep >= mode.memory_aiperf_reps:
                continue
            spec = specs[key]
            r = execute(spec, work / f"memory-{key}-{rep}", _timeout(spec, caps), nginx.pids, memory=True)
            runs[key].append(r)
            print(f"  memory {key:<15} rep {rep}: {r.get('requests') or 0:7,} requests  peak PSS "
                  f"{r.get('peak_pss_mb') or 0:7.1f} MB  RSS {r.get('peak_rss_mb') or 0:7.1f} MB  "
                  f"{r['wall_s']:6.1f} s", flush=True)
    out: dict = {"requests": mode.memory_requests, "runs_per_tool": {k: len(v) for k, v in runs.items()},
                 "same_bodies": bodies is not None,
                 "sampling": "sum over the client's process tree of /proc/PID/smaps_rollup Rss and Pss, every 0.25 s"}
    for key, rs in runs.items():
        out[key] = _summary(rs, startup.get(key, {}).get("peak_pss_mb"))
    # back-compat: the request count AIPerf's run actually made (it used to be cut to 120 s)
    out["aiperf_requests"] = out.get("aiperf", {}).get("requests")
    rp = out["rankperf"]["peak_pss_mb"]
    for peer in ("aiperf", "locust_bare"):
        if peer in out:
            peak = out[peer]["peak_pss_mb"]
            out[f"rankperf_vs_{peer}_peak_pss"] = ratio(rp, peak, 3)
            out[f"{peer}_vs_rankperf_peak_pss"] = ratio(peak, rp)
    return out


def _summary(rs: list[dict], base: float | None) -> dict:
    pss = median([r.get("peak_pss_mb") for r in rs])
    reqs = median([r.get("requests") for r in rs]) or 0
    return {
        "peak_pss_mb": _round(pss), "peak_rss_mb": _round(median([r.get("peak_rss_mb") for r in rs])),
        "max_single_process_rss_mb": _round(median([r.get("max_single_rss_mb") for r in rs])),
        "startup_pss_mb": _round(base),
        "bytes_per_request": round(pss * 2**20 / reqs) if pss and reqs else None,
        "growth_bytes_per_request": round((pss - base) * 2**20 / reqs) if pss and base and reqs else None,
        "requests": reqs, "processes": median([r.get("processes_seen") for r in rs]),
        "wall_s": median([r.get("wall_s") for r in rs]),
        "complete": all(not r.get("timed_out") and r.get("rc") == 0 for r in rs),
        "spread_pss_mb": [_round(r.get("peak_pss_mb")) for r in rs],
        "runs": rs,
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)
