"""Figure 3b (issue 21): open loop at 50 % and 90 % of one process's closed-loop capacity, before and after.

    python benchmarks/open_loop_speed.py [--before REF] [--reps 3] [--seconds 10] [--loads 0.5,0.9] [--no-aiperf]
                                         [--out FILE]

Against nginx answering a fixed TEI body: rankperf's closed-loop capacity (one process, 64 users,
median of --reps runs), then Poisson arrivals at 50 % and 90 % of it (--loads) with --concurrency 512 as
the in-flight cap, in one process and with --workers 2, for the code of this tree ("after") and the
code of git ref --before ("before": extracted to a temporary directory with its own venv),
the runs alternating; AIPerf at 50 % and 90 % of its own capacity (--concurrency 16) when its venv
can be built. Per run: achieved req/s, the schedule's pace (span of intended send times / span of
actual send times), schedule lag p99, CPU per request, the 1-minute load average at its start.
Writes benchmarks/out/open-speed-<date>/results.json (or --out) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # noqa: E402
from capacity import write_bodies  # noqa: E402
from common import OUT, REPO, Mode, loadavg, median  # noqa: E402
from open_loop import RANKPERF_CAP_IN_FLIGHT, _summary  # noqa: E402
from targets import nginx  # noqa: E402
from tools import Spec, execute  # noqa: E402

CLOSED_USERS = 64
AIPERF_CONCURRENCY = 16  # AIPerf's best concurrency in the 2026-11-29 sweep (figure 1)
LOADS = (0.5, 0.9)
GOAL_PACE, GOAL_LAG_P99_MS = 0.98, 5.0


def extract(ref: str, into: Path) -> Path:
    """The tree of git ref ``ref`` in ``into``, installed in its own venv (``into/.venv``)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True, timeout=120)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True, timeout=120)
    subprocess.run([sys.executable, "-m", "venv", str(into / ".venv")], check=True, timeout=300)
    subprocess.run([str(into / ".venv" / "bin" / "pip"), "install", "-q", "-e", str(into)], check=True, timeout=900)
    return into


def meets_goal(run: dict) -> bool:
    pace, lag = run.get("schedule_pace"), run.get("lag_p99_ms")
    return pace is not None and lag is not None and pace >= GOAL_PACE and lag <= GOAL_LAG_P99_MS


def _line(what: str, r: dict) -> str:
    return (f"  {what:<34} {r.get('req_s') or 0:8,.0f} req/s  pace {r.get('schedule_pace') or 0:6.3f}  "
            f"lag p99 {r.get('lag_p99_ms') or 0:8.2f} ms  {r.get('cpu_us_per_req') or 0:6,.0f} us CPU/req  "
            f"load {r.get('loadavg_1m_at_start')}")


def closed_capacity(mode: Mode, url: str, pids: tuple, work: Path, bodies: Path, guess: float) -> dict:
    runs = []
    for rep in range(mode.reps):
        r = execute(Spec("rankperf", url, mode.size(guess), concurrency=CLOSED_USERS, label="closed loop",
                         input_file=bodies), work / f"closed-{rep}", mode.seconds * 6 + 90, pids)
        runs.append(r)
        guess = r.get("req_s") or guess
        print(_line(f"closed loop, {CLOSED_USERS} users, rep {rep}", r), flush=True)
    return {"req_s": median([r.get("req_s") for r in runs]), "cpu_us_per_req": median([r.get("cpu_us_per_req")
                                                                                      for r in runs]),
            "runs": runs}


def startup_cpu(url: str, pids: tuple, work: Path, bodies: Path) -> dict:
    """CPU of a 50-request open-loop run, one process and --workers 2: the fixed cost in every run's CPU."""
    out = {}
    for key, workers in (("one_process", 0), ("two_workers", 2)):
        r = execute(Spec("rankperf", url, 50, concurrency=RANKPERF_CAP_IN_FLIGHT, workers=workers, rate=200.0,
                         label=f"start-up {key}", input_file=bodies), work / f"startup-{key}", 120, pids)
        out[key] = {"cpu_s": r["cpu_s"], "requests": r.get("requests"), "wall_s": r["wall_s"]}
    return out


def _plan(cap: float, aiperf_cap: float | None, code: dict[str, Path | None]) -> list[tuple[str, dict]]:
    plan = [(f"{version}_{setting}", {"tool": "rankperf", "rate": cap, "workers": workers, "code": path})
            for setting, workers in (("one_process", 0), ("two_workers", 2)) for version, path in code.items()]
    if aiperf_cap:
        plan.append(("aiperf", {"tool": "aiperf", "rate": aiperf_cap, "workers": 0, "code": None}))
    return plan


def open_rows(mode: Mode, url: str, pids: tuple, work: Path, bodies: Path, caps: dict,
              code: dict[str, Path | None], startup: dict, loads: tuple[float, ...] = LOADS) -> dict:
    out: dict = {}
    for load in loads:
        pct = round(load * 100)  # int() would make 0.29 the 28 % row
        plan = _plan(caps["rankperf"], caps.get("aiperf"), code)
        runs: dict[str, list[dict]] = {key: [] for key, _ in plan}
        for rep in range(mode.reps):
            shift = rep % len(plan)
            for key, p in plan[shift:] + plan[:shift]:  # rotated: no row always runs first
                rate = round(load * p["rate"], 1)
                spec = Spec(p["tool"], url, requests=mode.size(rate), rate=rate, workers=p["workers"], code=p["code"],
                            concurrency=RANKPERF_CAP_IN_FLIGHT if p["tool"] == "rankperf" else 0,
                            label=f"open {pct}% {key}", input_file=bodies)
                r = execute(spec, work / f"open-{pct}-{key}-{rep}", mode.seconds * 4 + 60, pids, records=True)
                runs[key].append(r)
                print(_line(f"{pct}% {key} rep {rep} ({rate:,.0f}/s)", r), flush=True)
        block = {}
        for key, rs in runs.items():
            s = _summary(rs)
            s["runs_meeting_goal"] = sum(meets_goal(r) for r in rs)
            fixed = startup.get("two_workers" if key.endswith("two_workers") else "one_process")
            if fixed and key != "aiperf":
                s["cpu_us_per_req_without_startup"] = median(
                    [round((r["cpu_s"] - fixed["cpu_s"]) / (r["requests"] - fixed["requests"]) * 1e6, 1)
                     for r in rs if r.get("requests") and r["requests"] > fixed["requests"]])
            block[key] = s
        out[f"load_{pct}"] = block
    return out


ROW_NAMES = {"before_one_process": "before, 1 process", "after_one_process": "after, 1 process",
             "before_two_workers": "before, `--workers 2`", "after_two_workers": "after, `--workers 2`",
             "aiperf": "AIPerf 0.13.0 (its own capacity)"}


def _runs(values: list, digits: int) -> str:
    return ", ".join(f"{v:,.{digits}f}" for v in values if v is not None)


def markdown(res: dict) -> str:
    closed = res["closed_loop"]
    base = closed.get("cpu_us_per_req_without_startup")
    lines = [f"Closed loop, 1 process, {CLOSED_USERS} users: **{closed['req_s']:,.0f} req/s** (median of "
             f"{len(closed['runs'])}: {_runs([r.get('req_s') for r in closed['runs']], 0)}), "
             f"{closed['cpu_us_per_req']:,.0f} us CPU/request ({base or 0:,.0f} without start-up); "
             f"1-minute load average at the start of each run {[r.get('loadavg_1m_at_start') for r in closed['runs']]}.",
             "", "| load | row | offered req/s | achieved req/s | pace (runs) | lag p99 ms (runs) | on goal "
             "| CPU us/req (w/o start-up) | vs closed loop | load avg (runs) |",
             "|---|---|---:|---:|---|---|---:|---:|---:|---|"]
    for load_key, block in res["open_loop"].items():
        for key, s in block.items():
            marginal = s.get("cpu_us_per_req_without_startup")
            cpu = f"{s['cpu_us_per_req'] or 0:,.0f}" + (f" ({marginal:,.0f})" if marginal else "")
            vs = f"{marginal / base:.2f}x" if marginal and base else ""
            lines.append(f"| {load_key[5:]} % | {ROW_NAMES.get(key, key)} | {s['offered_req_s'] or 0:,.1f} "
                         f"| {s['achieved_req_s'] or 0:,.0f} | {s['schedule_pace'] or 0:.3f} "
                         f"({_runs(s['schedule_pace_runs'], 3)}) | {s['schedule_lag_p99_ms'] or 0:.1f} "
                         f"({_runs(s['schedule_lag_p99_ms_runs'], 1)}) | {s['runs_meeting_goal']}/{len(s['runs'])} "
                         f"| {cpu} | {vs} | {', '.join(str(x) for x in s['loadavg_1m_at_start'])} |")
    return "\n".join(lines)


def _loads(text: str) -> tuple[float, ...]:
    try:
        loads = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not loads or any(x <= 0 for x in loads):
        raise argparse.ArgumentTypeError(f"each load must be > 0: {text!r}")
    return loads


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="", help="git ref of the code to compare with (default: none)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one measured run")
    parser.add_argument("--loads", type=_loads, default=LOADS,
                        help="fractions of the closed-loop capacity to offer, comma-separated (default: 0.5,0.9)")
    parser.add_argument("--no-aiperf", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    mode = Mode(False, args.reps, args.seconds, 0, 0, (), 0.0, 0)
    work = OUT / f"open-speed-{datetime.now():%Y%m%d-%H%M%S}"
    work.mkdir(parents=True, exist_ok=True)
    aiperf_error = "not run (--no-aiperf)" if args.no_aiperf else peers.ensure_aiperf()
    peers.ensure_tokenizer()
    code: dict[str, Path | None] = {"after": None}
    if args.before:
        code = {"before": extract(args.before, work / "before-code"), "after": None}
    res: dict = {"started": datetime.now().isoformat(timespec="seconds"), "loadavg_1m_start": loadavg(),
                 "git": peers.git_state(), "before_ref": args.before or None, "reps": args.reps,
                 "seconds": args.seconds, "in_flight_cap": RANKPERF_CAP_IN_FLIGHT, "aiperf_error": aiperf_error,
                 "goal": {"schedule_pace_min": GOAL_PACE, "lag_p99_ms_max": GOAL_LAG_P99_MS}}
    with nginx() as (fast, _):
        pids = fast.pids
        probe = execute(Spec("rankperf", fast.url, requests=3000, concurrency=CLOSED_USERS, label="probe"),
                        work / "probe", 180, pids)
        bodies = write_bodies(work / "probe" / "inputs.json", work / "bodies.jsonl")
        res["closed_loop"] = closed_capacity(mode, fast.url, pids, work, bodies, probe.get("req_s") or 3000)
        caps = {"rankperf": res["closed_loop"]["req_s"]}
        if aiperf_error is None:
            r = execute(Spec("aiperf", fast.url, mode.size(450), concurrency=AIPERF_CONCURRENCY, label="aiperf closed",
                             input_file=bodies), work / "closed-aiperf", mode.seconds * 6 + 90, pids)
            res["aiperf_closed_loop"] = r
            caps["aiperf"] = r.get("req_s")
            print(_line(f"AIPerf closed loop, c{AIPERF_CONCURRENCY}", r), flush=True)
        res["capacity_used"] = caps
        res["startup"] = fixed = startup_cpu(fast.url, pids, work, bodies)
        res["closed_loop"]["cpu_us_per_req_without_startup"] = median(
            [round((r["cpu_s"] - fixed["one_process"]["cpu_s"]) / (r["requests"] - fixed["one_process"]["requests"])
                   * 1e6, 1) for r in res["closed_loop"]["runs"] if r.get("requests")])
        res["open_loop"] = open_rows(mode, fast.url, pids, work, bodies, caps, code, res["startup"], args.loads)
    res["loadavg_1m_end"] = loadavg()
    path = args.out or work / "results.json"
    path.write_text(json.dumps(res, indent=1, default=str) + "\n")
    table = markdown(res)
    (work / "summary.md").write_text(table + "\n")
    print(table)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
