"""Figure 3: open-loop fidelity, Poisson arrivals at 50 % and 90 % of each tool's own capacity."""

from __future__ import annotations

from pathlib import Path

from common import Mode, median, ratio
from targets import Target
from tools import Spec, execute

LOADS = (0.5, 0.9)
# rankperf needs a cap on requests in flight (its users); AIPerf runs uncapped (no --concurrency).
# 512 (issue 21's setting) is far above rate x latency against nginx (~4k/s x ~1-20 ms): the records
# show whether any run reached it (in_flight_max, and for how long), so a rate not achieved is the
# client's CPU.
RANKPERF_CAP_IN_FLIGHT = 512

LATENCY_FROM_INTENDED = {
    "rankperf": "yes: intended_latency (end - scheduled send) beside request_latency; schedule lag and "
                "offered vs achieved rate in the report, with a warning when the rate is not achieved",
    "aiperf": "partly: effective_latency = end - credit issue; credits are issued on the schedule but a "
              "scheduler more than 10 ms late re-anchors and drops the missed arrivals, so lateness before "
              "the credit is not seen; no warning when the offered rate is not achieved",
}


def _plan(load: float, caps: dict[str, float | None], tools: list[str]) -> list[tuple[str, str, float, int]]:
    """(key, tool, offered rate, worker processes) of every run at one load level."""
    plan = [(tool, tool, round(load * caps[tool], 1), 0) for tool in tools]
    if "rankperf" in tools:  # rankperf's own offered rate, from two processes (the 2-core machine has a spare core)
        plan.append(("rankperf_2proc", "rankperf", round(load * caps["rankperf"], 1), 2))
    if "aiperf" in tools:  # both schedulers at one absolute rate
        plan.append(("rankperf_at_aiperf_rate", "rankperf", round(load * caps["aiperf"], 1), 0))
    return plan


def measure(mode: Mode, nginx: Target, work: Path, caps: dict[str, float | None], aiperf_ok: bool,
            bodies: Path | None = None) -> dict:
    """Alternating runs per load level; achieved vs offered, schedule lag p99, latency from intended send.

    "Capacity" is each tool's closed-loop capacity (figure 1). Besides each tool at a share of it,
    rankperf also runs with ``--workers 2`` at its own offered rate ("two_processes": AIPerf's
    multi-process client uses ~1.5 cores here, one rankperf process at most one), and at AIPerf's
    offered rate ("same_rate").
    """
    tools = [t for t in ("rankperf", "aiperf") if caps.get(t) and (t != "aiperf" or aiperf_ok)]
    out: dict = {"target": nginx.note, "pattern": "poisson", "latency_from_intended_send": LATENCY_FROM_INTENDED,
                 "capacity_used": {t: caps.get(t) for t in tools}, "capacity_is": "closed-loop capacity (figure 1)",
                 "rankperf_in_flight_cap": RANKPERF_CAP_IN_FLIGHT}
    for load in LOADS:
        pct = int(load * 100)
        plan = _plan(load, caps, tools)
        runs: dict[str, list[dict]] = {key: [] for key, *_ in plan}
        for rep in range(mode.reps):
            for key, tool, rate, workers in plan if rep % 2 == 0 else plan[::-1]:
                if key == "rankperf_2proc" and runs[key] and not any(r.get("requests") for r in runs[key]):
                    continue  # the extra row failed outright before: do not spend the run's time on it again
                spec = Spec(tool, nginx.url, requests=mode.size(rate), rate=rate, workers=workers,
                            concurrency=RANKPERF_CAP_IN_FLIGHT if tool == "rankperf" else 0, label=f"open {pct}% {key}",
                            input_file=bodies)
                r = execute(spec, work / f"open-{pct}-{key}-{rep}", _timeout(mode), nginx.pids, records=True)
                runs[key].append(r)
                print(f"  open loop {pct}% {key:<23} rep {rep}: offered {rate:8,.0f}  achieved "
                      f"{r.get('req_s') or 0:8,.0f} req/s  lag p99 {r.get('lag_p99_ms') or 0:8.2f} ms  "
                      f"in flight max {r.get('in_flight_max') or 0}", flush=True)
        block = {key: _summary(rs) for key, rs in runs.items()}
        if "rankperf_at_aiperf_rate" in block:
            block["same_rate"] = block.pop("rankperf_at_aiperf_rate")
        if "rankperf_2proc" in block:
            block["two_processes"] = block.pop("rankperf_2proc")
        block.update(_ratios(block))
        out[f"load_{pct}"] = block
    return out


def _timeout(mode: Mode) -> float:
    """A run follows its schedule (~mode.seconds) plus start-up and report; one that hangs costs at most this."""
    return mode.seconds * 4 + 60


def _ratios(block: dict) -> dict:
    """rankperf / AIPerf for achieved/offered and schedule lag p99 (each at its own share of capacity, and at one rate)."""
    ai = block.get("aiperf")
    if not ai:
        return {}
    out = {}
    for name, rp in (("", block.get("rankperf")), ("same_rate_", block.get("same_rate")),
                     ("two_processes_", block.get("two_processes"))):
        if not rp:
            continue
        out[f"rankperf_{name}vs_aiperf_achieved_over_offered"] = ratio(rp["achieved_over_offered"],
                                                                       ai["achieved_over_offered"], 3)
        for lag in ("schedule_lag_p99_ms", "schedule_lag_p99_after_1s_ms"):
            out[f"rankperf_{name}vs_aiperf_{lag[:-3]}"] = ratio(rp[lag], ai[lag], 3)
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
        "schedule_pace": median([r.get("schedule_pace") for r in rs]),
        "schedule_pace_runs": [None if r.get("schedule_pace") is None else round(r["schedule_pace"], 4) for r in rs],
        "schedule_lag_p99_ms_runs": [None if r.get("lag_p99_ms") is None else round(r["lag_p99_ms"], 2) for r in rs],
        "loadavg_1m_at_start": [r.get("loadavg_1m_at_start") for r in rs],
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
        "failed_runs": sum(1 for r in rs if not r.get("requests")),
        "rate_not_achieved_flagged": [r.get("rate_not_achieved") for r in rs],
        "in_flight_max": [r.get("in_flight_max") for r in rs],
        "in_flight_max_for_s": [None if r.get("in_flight_max_for_s") is None else round(r["in_flight_max_for_s"], 4)
                                for r in rs],
        "cpu_us_per_req": median([r.get("cpu_us_per_req") for r in rs]),
        "background_cores": [r["background_cores"] for r in rs],
        "runs": rs,
    }
