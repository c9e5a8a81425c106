"""Figure 3: open-loop fidelity, Poisson arrivals at 50 % and 90 % of each tool's own capacity."""

from __future__ import annotations

from pathlib import Path

from common import Mode, median
from targets import Target
from tools import Spec, execute

LOADS = (0.5, 0.9)
RANKPERF_CAP_IN_FLIGHT = 256  # rankperf needs a cap (its users); AIPerf runs uncapped (no --concurrency)

LATENCY_FROM_INTENDED = {
    "rankperf": "yes: intended_latency (end - scheduled send) beside request_latency; schedule lag and "
                "offered vs achieved rate in the report, with a warning when the rate is not achieved",
    "aiperf": "partly: effective_latency = end - credit issue; credits are issued on the schedule but a "
              "scheduler more than 10 ms late re-anchors and drops the missed arrivals, so lateness before "
              "the credit is not seen; no warning when the offered rate is not achieved",
}


def measure(mode: Mode, nginx: Target, work: Path, caps: dict[str, float | None], aiperf_ok: bool) -> dict:
    """Alternating runs per load level; achieved vs offered, schedule lag p99, latency from intended send.

    Besides each tool at a share of its own capacity, rankperf also runs at AIPerf's offered rates
    ("same_rate"), so the schedulers are also compared at one absolute rate.
    """
    tools = [t for t in ("rankperf", "aiperf") if caps.get(t) and (t != "aiperf" or aiperf_ok)]
    out: dict = {"target": nginx.note, "pattern": "poisson", "latency_from_intended_send": LATENCY_FROM_INTENDED,
                 "capacity_used": {t: caps.get(t) for t in tools}, "rankperf_in_flight_cap": RANKPERF_CAP_IN_FLIGHT}
    for load in LOADS:
        pct = int(load * 100)
        plan = [(tool, tool, round(load * caps[tool], 1)) for tool in tools]
        if "aiperf" in tools:
            plan.append(("rankperf_at_aiperf_rate", "rankperf", round(load * caps["aiperf"], 1)))
        runs: dict[str, list[dict]] = {key: [] for key, _, _ in plan}
        for rep in range(mode.reps):
            for key, tool, rate in plan if rep % 2 == 0 else plan[::-1]:
                spec = Spec(tool, nginx.url, requests=mode.size(rate), rate=rate,
                            concurrency=RANKPERF_CAP_IN_FLIGHT if tool == "rankperf" else 0, label=f"open {pct}% {key}")
                r = execute(spec, work / f"open-{pct}-{key}-{rep}", mode.seconds * 8 + 120, nginx.pids, records=True)
                runs[key].append(r)
                print(f"  open loop {pct}% {key:<23} rep {rep}: offered {rate:8,.0f}  achieved "
                      f"{r.get('req_s') or 0:8,.0f} req/s  lag p99 {r.get('lag_p99_ms') or 0:8.2f} ms", flush=True)
        block = {key: _summary(rs) for key, rs in runs.items()}
        if "rankperf_at_aiperf_rate" in block:
            block["same_rate"] = block.pop("rankperf_at_aiperf_rate")
        out[f"load_{pct}"] = block
    return out


def _summary(rs: list[dict]) -> dict:
    offered = median([r.get("offered_rate") for r in rs])
    achieved = median([r.get("req_s") for r in rs])
    sent = median([r.get("sent_rate") for r in rs])
    return {
        "offered_req_s": offered,
        "achieved_req_s": achieved,
        "achieved_over_offered": round(achieved / offered, 3) if achieved and offered else None,
        "sent_req_s": sent,
        "schedule_lag_p50_ms": median([r.get("lag_p50_ms") for r in rs]),
        "schedule_lag_p99_ms": median([r.get("lag_p99_ms") for r in rs]),
        "schedule_lag_max_ms": median([r.get("lag_max_ms") for r in rs]),
        "schedule_lag_p99_after_1s_ms": median([r.get("lag_p99_after_1s_ms") for r in rs]),
        "schedule_lag_max_after_1s_ms": median([r.get("lag_max_after_1s_ms") for r in rs]),
        "latency_p50_ms": median([r.get("p50_ms") for r in rs]),
        "latency_p99_ms": median([r.get("p99_ms") for r in rs]),
        "from_intended_p50_ms": median([r.get("intended_p50_ms") or r.get("effective_p50_ms") for r in rs]),
        "from_intended_p99_ms": median([r.get("intended_p99_ms") or r.get("effective_p99_ms") for r in rs]),
        "reported_credit_to_start_p99_ms": median([r.get("credit_to_start_p99_ms") for r in rs]),
        "rate_not_achieved_flagged": [r.get("rate_not_achieved") for r in rs],
        "cpu_us_per_req": median([r.get("cpu_us_per_req") for r in rs]),
        "background_cores": [r["background_cores"] for r in rs],
        "runs": rs,
    }
