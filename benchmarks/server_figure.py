"""Figure 6: what `rankperf serve` sustains on one core at zero model latency (issue 4), per API route.

Calls ``server_capacity.py`` (owned elsewhere; its CLI is used as is) once per route and
repetition, routes alternating, and keeps the medians of the achieved requests/s and of the
server's CPU time per request (from /proc): on 2 cores the load generator shares the machine, so
CPU per request, and the whole-core rate it implies, is the steadier figure.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from common import REPO, ROOT, VENV_PY, Mode, median, run

ROUTES = ("/rerank", "/v2/rerank", "/v1/ranking")
_RATE = re.compile(r"^\s*completed .*?([\d,]+(?:\.\d+)?) req/s\s*$", re.M)
_BUSY = re.compile(r"= (\d+(?:\.\d+)?)% of one core")
_CPU = re.compile(r"([\d,]+(?:\.\d+)?) us CPU per request")
_CORE = re.compile(r"-> ([\d,]+(?:\.\d+)?) req/s per fully used core")
_BODY = re.compile(r"(\d+) B body, client (\w+)")


def _number(pattern: re.Pattern, text: str) -> float | None:
    m = pattern.search(text)
    return float(m.group(1).replace(",", "")) if m else None


def _from_json(text: str) -> dict | None:
    """The figures from a ``--json`` line (server_capacity.py prints one object per route with --json)."""
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                r = json.loads(line)
            except ValueError:
                continue
            share = r.get("server_core_share")
            return {"req_s": r.get("req_per_s"), "server_cpu_us_per_req": r.get("cpu_us_per_request"),
                    "req_s_per_core": r.get("req_per_s_per_core"),
                    "server_busy_pct": None if share is None else round(share * 100, 1),
                    "body_bytes": r.get("body_bytes"), "client": r.get("client")}
    return None


def _json_flag() -> list[str]:
    """``--json`` when this version of server_capacity.py has it (its summary text is parsed otherwise)."""
    try:
        out = subprocess.run([str(VENV_PY), str(ROOT / "server_capacity.py"), "--help"], capture_output=True,
                             text=True, timeout=60, cwd=REPO).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return ["--json"] if "--json" in out else []


def parse(text: str) -> dict:
    """The figures of one ``server_capacity.py`` run, from its JSON line or its printed summary."""
    found = _from_json(text)
    if found:
        return found
    body = _BODY.search(text)
    return {"req_s": _number(_RATE, text), "server_cpu_us_per_req": _number(_CPU, text),
            "req_s_per_core": _number(_CORE, text), "server_busy_pct": _number(_BUSY, text), "body_bytes": int(body.group(1)) if body else None,
            "client": body.group(2) if body else None}


def measure(mode: Mode, work: Path) -> dict:
    """``mode.reps`` alternating runs per route; medians of req/s and server CPU us/request."""
    runs: dict[str, list[dict]] = {route: [] for route in ROUTES}
    flags = _json_flag()
    for rep in range(mode.reps):
        order = ROUTES[rep % len(ROUTES):] + ROUTES[:rep % len(ROUTES)]
        for route in order:
            cmd = [str(VENV_PY), str(ROOT / "server_capacity.py"), "--route", route,
                   "--duration", f"{mode.server_seconds:g}", *flags]
            log = work / f"server-capacity{route.replace('/', '-')}-{rep}.log"
            proc = run(cmd, log, mode.server_seconds + 90, cwd=REPO)
            text = Path(proc.log).read_text(errors="replace")
            r = {**parse(text), "tool": "server_capacity.py", "label": route, "rc": proc.rc, "wall_s": round(proc.wall_s, 2),
                 "background_cores": proc.background_cores, "cmd": " ".join(cmd)}
            if proc.rc != 0 or r["req_s"] is None:
                r["error"] = "\n".join(text.splitlines()[-12:])
            runs[route].append(r)
            print(f"  server capacity {route:<12} rep {rep}: {r['req_s'] or 0:8,.0f} req/s  "
                  f"{r['server_cpu_us_per_req'] or 0:6,.0f} us server CPU/request", flush=True)
    out: dict = {"server": "rankperf serve --zero-latency, pinned to one CPU; load from server_capacity.py",
                 "seconds_per_run": mode.server_seconds}
    for route, rs in runs.items():
        out[route] = {
            "req_s": _round(median([r["req_s"] for r in rs])),
            "server_cpu_us_per_req": _round(median([r["server_cpu_us_per_req"] for r in rs])),
            "req_s_per_core": _round(median([r["req_s_per_core"] for r in rs])),
            "server_busy_pct": median([r["server_busy_pct"] for r in rs]),
            "body_bytes": rs[0]["body_bytes"], "client": rs[0]["client"],
            "spread_req_s": [r["req_s"] for r in rs], "runs": rs,
        }
    return out


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)
