"""Figure 1: client capacity against nginx at saturation, requests/s and CPU per request."""

from __future__ import annotations

import json
from pathlib import Path

from common import Mode, median, ratio
from targets import Target
from tools import BODY_FILE, Spec, execute

RANKPERF_USERS = 50
AIPERF_DEFAULT_CONCURRENCY = 64
AIPERF_GUESS_REQ_S = 600.0  # sizes AIPerf's first run (its start-up alone takes longer than a probe would)


def _body_stats(inputs: Path) -> dict:
    """Compact JSON sizes of the distinct bodies in a tool's inputs.json (as orjson/AIPerf send them)."""
    data = json.loads(inputs.read_text())["data"]
    sizes = [len(json.dumps(e["payloads"][0], separators=(",", ":"), ensure_ascii=False).encode()) for e in data]
    return {"entries": len(sizes), "mean_bytes": round(sum(sizes) / len(sizes), 1), "min_bytes": min(sizes),
            "max_bytes": max(sizes)}


def write_bodies(inputs: Path, out: Path) -> Path:
    """rankperf's distinct request bodies as an AIPerf single_turn JSONL, the input file of both tools' runs.

    Both tools then send the same query and passages (request i of the file is request i of each
    tool), so body sizes match and only the clients differ.
    """
    lines = []
    for entry in json.loads(inputs.read_text())["data"]:
        body = entry["payloads"][0]
        texts = [{"name": "query", "contents": [body["query"]]}, {"name": "passages", "contents": body["texts"]}]
        lines.append(json.dumps({"texts": texts}, separators=(",", ":"), ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n")
    return out


def _write_body(inputs: Path) -> int:
    """Write rankperf's request 0 (compact, as sent) for bare Locust and wrk; returns its size."""
    body = json.loads(inputs.read_text())["data"][0]["payloads"][0]
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    BODY_FILE.parent.mkdir(parents=True, exist_ok=True)
    BODY_FILE.write_bytes(raw)
    return len(raw)


def _timeout(mode: Mode) -> float:
    return mode.seconds * 6 + 90


def probe(mode: Mode, nginx: Target, work: Path, aiperf_ok: bool) -> dict:
    """A short rankperf run that sizes the rest and writes the shared bodies; 50-request runs for fixed costs.

    The probe generates rankperf's 100 distinct synthetic bodies; from then on both tools read
    them from ``bodies.jsonl`` (``out["bodies_file"]``).
    """
    pids = nginx.pids
    out: dict = {}
    r = execute(Spec("rankperf", nginx.url, requests=3000, concurrency=RANKPERF_USERS, label="probe"),
                work / "probe-rankperf", _timeout(mode), pids, records=True)
    out["rankperf_probe"] = r
    inputs = work / "probe-rankperf" / "inputs.json"
    bodies = out["bodies_file"] = write_bodies(inputs, work / "bodies.jsonl")
    out["bodies"] = {"file": str(bodies), "distinct": sum(1 for _ in bodies.open()),
                     "rankperf_synthetic": _body_stats(inputs),
                     "bare_locust_and_wrk_bytes": _write_body(inputs)}
    # fixed cost: start-up, dataset, report, shutdown (50 requests, with memory sampling)
    specs = {"rankperf": Spec("rankperf", nginx.url, requests=50, concurrency=RANKPERF_USERS, label="startup",
                              input_file=bodies)}
    if not mode.quick:
        specs["rankperf_2proc"] = Spec("rankperf", nginx.url, requests=50, concurrency=RANKPERF_USERS, workers=2,
                                       label="startup 2 processes", input_file=bodies)
    if aiperf_ok:
        specs["aiperf"] = Spec("aiperf", nginx.url, requests=50, concurrency=AIPERF_DEFAULT_CONCURRENCY,
                               label="startup", input_file=bodies)
    out["startup"] = {k: execute(s, work / f"startup-{k}", _timeout(mode), pids, memory=True, records=k == "rankperf")
                      for k, s in specs.items()}
    out["bodies"].update(_sent_bodies(work, out["startup"]))
    return out


def _sent_bodies(work: Path, startup: dict) -> dict:
    """Body sizes each tool says it sent in its start-up run (both read bodies.jsonl): they should match."""
    out: dict = {"rankperf_wire_mean_bytes": startup["rankperf"].get("request_bytes_mean")}
    for tool in ("rankperf", "aiperf"):
        inputs = work / f"startup-{tool}" / "inputs.json"
        if tool in startup and inputs.exists():
            out[tool] = _body_stats(inputs)
    if "rankperf" in out and "aiperf" in out:
        out["mean_bytes_difference"] = round(out["rankperf"]["mean_bytes"] - out["aiperf"]["mean_bytes"], 1)
    return out


def aiperf_best(mode: Mode, nginx: Target, work: Path, rate: float | None,
                bodies: Path | None = None) -> tuple[int, int, list[dict]]:
    """AIPerf's best settings: one run per concurrency (and 2 workers at 64); returns (concurrency, workers, runs)."""
    runs = []
    for c in mode.aiperf_sweep:
        runs.append(execute(Spec("aiperf", nginx.url, requests=mode.size(rate), concurrency=c, label=f"sweep c{c}",
                                 input_file=bodies), work / f"sweep-aiperf-c{c}", _timeout(mode), nginx.pids))
    if mode.aiperf_sweep:
        runs.append(execute(Spec("aiperf", nginx.url, requests=mode.size(rate), concurrency=64, workers=2,
                                 label="sweep c64 workers-max 2", input_file=bodies),
                            work / "sweep-aiperf-c64-w2", _timeout(mode), nginx.pids))
    ok = [r for r in runs if r.get("req_s")]
    if not ok:
        return AIPERF_DEFAULT_CONCURRENCY, 0, runs
    best = max(ok, key=lambda r: r["req_s"])
    return best["concurrency"], best["workers"], runs


def measure(mode: Mode, nginx: Target, work: Path, probes: dict, aiperf_ok: bool) -> dict:
    """Alternating repetitions of every client at saturation; medians, ratios, CPU per request."""
    rates = {"rankperf": probes["rankperf_probe"].get("req_s"), "aiperf": AIPERF_GUESS_REQ_S}
    rates["rankperf_2proc"] = (rates["rankperf"] or 1000) * 1.6
    bodies = probes.get("bodies_file")
    best_c, best_w, sweep = (AIPERF_DEFAULT_CONCURRENCY, 0, [])
    if aiperf_ok:
        best_c, best_w, sweep = aiperf_best(mode, nginx, work, rates["aiperf"], bodies)
        swept = [r["req_s"] for r in sweep if r.get("req_s")]
        rates["aiperf"] = max(swept) if swept else rates["aiperf"]

    def spec(key: str) -> Spec:
        if key == "rankperf":
            return Spec("rankperf", nginx.url, mode.size(rates[key]), concurrency=RANKPERF_USERS, label=key,
                        input_file=bodies)
        if key == "rankperf_2proc":
            return Spec("rankperf", nginx.url, mode.size(rates[key]), concurrency=RANKPERF_USERS, workers=2, label=key,
                        input_file=bodies)
        if key == "aiperf":
            return Spec("aiperf", nginx.url, mode.size(rates[key]), concurrency=best_c, workers=best_w, label=key,
                        input_file=bodies)
        if key == "locust_bare":
            return Spec("locust_bare", nginx.url, seconds=mode.seconds, concurrency=RANKPERF_USERS, label=key)
        return Spec("wrk", nginx.url, seconds=mode.seconds, concurrency=RANKPERF_USERS, label=key)

    keys = ["rankperf", "rankperf_2proc", "aiperf", "locust_bare", "wrk"]
    if not aiperf_ok:
        keys.remove("aiperf")
    runs: dict[str, list[dict]] = {k: [] for k in keys}
    for rep in range(mode.reps):
        order = keys[rep % len(keys):] + keys[:rep % len(keys)]  # rotate: no tool always runs first
        for key in order:
            r = execute(spec(key), work / f"cap-{key}-{rep}", _timeout(mode), nginx.pids)
            runs[key].append(r)
            if r.get("req_s"):
                rates[key] = r["req_s"]
            print(f"  capacity {key:<15} rep {rep}: {r.get('req_s') or 0:9,.0f} req/s  "
                  f"{r.get('cpu_us_per_req') or 0:7,.0f} us CPU/req  background {r['background_cores']:.2f} cores",
                  flush=True)
    return summarise(runs, probes, sweep, best_c, best_w)


def _marginal_us(run: dict, startup: dict | None) -> float | None:
    """CPU per request with the fixed start-up cost (a 50-request run) taken out."""
    if not startup or not run.get("requests") or startup.get("cpu_s") is None:
        return None
    extra = run["requests"] - (startup.get("requests") or 0)
    return round((run["cpu_s"] - startup["cpu_s"]) / extra * 1e6, 1) if extra > 0 else None


def summarise(runs: dict[str, list[dict]], probes: dict, sweep: list[dict], best_c: int, best_w: int) -> dict:
    """The capacity block of results.json."""
    med = {k: median([r.get("req_s") for r in v]) for k, v in runs.items()}
    cpu = {k: median([r.get("cpu_us_per_req") for r in v]) for k, v in runs.items()}
    startup = probes.get("startup", {})
    marginal = {k: median([_marginal_us(r, startup.get(k)) for r in v]) for k, v in runs.items()
                if k in startup}
    out = {
        "rankperf_req_s": med.get("rankperf"),
        "rankperf_2proc_req_s": med.get("rankperf_2proc"),
        "aiperf_req_s": med.get("aiperf"),
        "locust_bare_req_s": med.get("locust_bare"),
        "wrk_req_s": med.get("wrk"),
        "rankperf_vs_aiperf": ratio(med.get("rankperf"), med.get("aiperf")),
        "rankperf_2proc_vs_aiperf": ratio(med.get("rankperf_2proc"), med.get("aiperf")),
        "rankperf_vs_locust_bare": ratio(med.get("rankperf"), med.get("locust_bare")),
        "rankperf_vs_wrk": ratio(med.get("rankperf"), med.get("wrk"), 3),
        "rankperf_cpu_us_per_req": cpu.get("rankperf"),
        "rankperf_2proc_cpu_us_per_req": cpu.get("rankperf_2proc"),
        "aiperf_cpu_us_per_req": cpu.get("aiperf"),
        "locust_bare_cpu_us_per_req": cpu.get("locust_bare"),
        "wrk_cpu_us_per_req": cpu.get("wrk"),
        "aiperf_vs_rankperf_cpu_per_req": ratio(cpu.get("aiperf"), cpu.get("rankperf")),
        "rankperf_vs_aiperf_cpu_per_req": ratio(cpu.get("rankperf"), cpu.get("aiperf"), 3),
        "rankperf_vs_locust_bare_cpu_per_req": ratio(cpu.get("rankperf"), cpu.get("locust_bare"), 3),
        "rankperf_vs_aiperf_marginal_cpu_per_req": ratio(marginal.get("rankperf"), marginal.get("aiperf"), 3),
        "marginal_cpu_us_per_req": marginal,
        "startup_cpu_s": {k: v.get("cpu_s") for k, v in startup.items()},
        "startup_wall_s": {k: round(v.get("wall_s", 0), 2) for k, v in startup.items()},
        "aiperf_best": {"concurrency": best_c, "workers_max": best_w or "default (1 on 2 CPUs)"},
        "rankperf_users": RANKPERF_USERS,
        "bodies": probes.get("bodies"),
        "spread_req_s": {k: [round(r["req_s"]) if r.get("req_s") else None for r in v] for k, v in runs.items()},
        "background_cores": {k: [r["background_cores"] for r in v] for k, v in runs.items()},
        "runs": runs,
        "aiperf_sweep": sweep,
        "probe": probes.get("rankperf_probe"),
        "startup_runs": startup,
    }
    return out
