"""Figure 2: timing accuracy, each tool's p50/p99 over a server that answers in exactly 20 ms."""

from __future__ import annotations

from pathlib import Path

from common import Mode, median, ratio
from targets import Target
from tools import Spec, execute

SERVER_MS = 20.0
IN_FLIGHT = (16, 256)


def _excess(value: float | None) -> float | None:
    return None if value is None else round(value - SERVER_MS, 3)


def measure(mode: Mode, targets: dict[str, Target], work: Path, caps: dict[str, float | None],
            aiperf_ok: bool, bodies: Path | None = None) -> dict:
    """For each target and in-flight count: alternating rankperf / AIPerf runs; excess of p50 and p99 over 20 ms."""
    tools = ["rankperf", "aiperf"] if aiperf_ok else ["rankperf"]
    out: dict = {"server_ms": SERVER_MS, "targets": {name: t.note for name, t in targets.items()}}
    for name, target in targets.items():
        for c in IN_FLIGHT:
            ideal = c / (SERVER_MS / 1000)
            runs: dict[str, list[dict]] = {t: [] for t in tools}
            for rep in range(mode.reps):
                for tool in tools if rep % 2 == 0 else tools[::-1]:
                    n = mode.size(min(ideal, caps.get(tool) or ideal), lo=max(1000, 4 * c))
                    spec = Spec(tool, target.url, requests=n, concurrency=c, label=f"{name} c{c}", input_file=bodies)
                    r = execute(spec, work / f"timing-{name}-c{c}-{tool}-{rep}", mode.seconds * 8 + 120, target.pids)
                    runs[tool].append(r)
                    print(f"  timing {name} c{c:<4} {tool:<9} rep {rep}: p50 {r.get('p50_ms') or 0:8.2f} ms  "
                          f"p99 {r.get('p99_ms') or 0:8.2f} ms  {r.get('req_s') or 0:7,.0f} req/s", flush=True)
            out[f"{name}_c{c}"] = _summary(runs, ideal)
    return out


def _summary(runs: dict[str, list[dict]], ideal: float) -> dict:
    block: dict = {"ideal_req_s": ideal}
    for tool, rs in runs.items():
        block[tool] = {
            "p50_excess_ms": _excess(median([r.get("p50_ms") for r in rs])),
            "p99_excess_ms": _excess(median([r.get("p99_ms") for r in rs])),
            "req_s": median([r.get("req_s") for r in rs]),
            "cpu_us_per_req": median([r.get("cpu_us_per_req") for r in rs]),
            "spread_p50_ms": [r.get("p50_ms") for r in rs],
            "spread_p99_ms": [r.get("p99_ms") for r in rs],
            "background_cores": [r["background_cores"] for r in rs],
            "runs": rs,
        }
    if "aiperf" in block:
        for q in ("p50", "p99"):
            a, b = block["aiperf"][f"{q}_excess_ms"], block["rankperf"][f"{q}_excess_ms"]
            block[f"aiperf_vs_rankperf_{q}_excess"] = ratio(a, b) if b and b > 0 else None
            block[f"rankperf_vs_aiperf_{q}_excess"] = ratio(b, a, 3) if a and a > 0 and b is not None else None
        block["rankperf_vs_aiperf_req_s"] = ratio(block["rankperf"]["req_s"], block["aiperf"]["req_s"])
    return block
