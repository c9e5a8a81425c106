"""Figure 5: synthetic rankings request generation, rankperf vs AIPerf, measured with the same tokenizer.

Each repetition runs both generators in turn (order alternating), each in a fresh interpreter
with the shared WordPiece tokenizer, for the same number of requests of 10 passages x 128 tokens
and a 32-token query: rankperf through ``generation.py --tokenizer DIR --json``, AIPerf through
``aiperf_generation.py`` (its own composer, in its own venv). Medians of the generation rate,
set-up (tokenizer load, corpus/calibration) reported apart. ``generation.py``'s table (other
tokenizers, word estimate) runs once beside it, and AIPerf's hand-measured 270.3 requests/s is kept
as a cross-check.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import peers
from common import REPO, ROOT, VENV_PY, Mode, median, ratio, run

AIPERF_HAND_MEASURED_REQ_S = 3000 / 11.1  # 270.3 (shared/reference/aiperf-rankings.md section 3): cross-check
REAL_TOKENIZER_CASE = "WordPiece, BERT-style, 30522 vocab (exact)"
_LINE = re.compile(r"^(?P<label>.+?)\s+build\s+(?P<build>[\d.,]+) ms\s+(?P<rate>[\d,]+) requests/s\s+x\s*"
                   r"(?P<x>[\d.]+) vs AIPerf\s+\((?P<kib>[\d.]+) KiB")


def _commands(requests: int) -> dict[str, tuple[list[str], dict | None]]:
    rankperf = [str(VENV_PY), str(ROOT / "generation.py"), "--tokenizer", str(peers.TOKENIZER_DIR),
                "--requests", str(requests), "--json"]
    aiperf = [str(peers.AIPERF_VENV / "bin" / "python"), str(ROOT / "aiperf_generation.py"),
              "--requests", str(requests), "--tokenizer", peers.TOKENIZER_REPO]
    return {"rankperf": (rankperf, None), "aiperf": (aiperf, peers.aiperf_env())}


def _last_json(log: str) -> dict | None:
    for line in reversed(Path(log).read_text(errors="replace").splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def head_to_head(mode: Mode, work: Path, aiperf_ok: bool) -> dict:
    """Alternating generation runs of both tools; medians of requests/s."""
    requests = mode.generation_requests
    commands = _commands(requests)
    tools = ["rankperf", "aiperf"] if aiperf_ok else ["rankperf"]
    runs: dict[str, list[dict]] = {t: [] for t in tools}
    for rep in range(mode.reps):
        for tool in tools if rep % 2 == 0 else tools[::-1]:
            cmd, env = commands[tool]
            proc = run(cmd, work / f"generation-{tool}-{rep}.log", 600, env=env, cwd=REPO)
            result = _last_json(proc.log) or {"error": Path(proc.log).read_text(errors="replace")[-2000:]}
            result.update(tool=tool, label="generation", rc=proc.rc, wall_s=round(proc.wall_s, 2),
                          cpu_s=round(proc.cpu_s, 2),
                          background_cores=proc.background_cores, cmd=" ".join(cmd))
            runs[tool].append(result)
            print(f"  generation {tool:<9} rep {rep}: {result.get('req_s') or 0:8,.0f} requests/s "
                  f"(set-up {result.get('setup_s') or 0:5.2f} s, {requests:,} requests)", flush=True)
    out: dict = {"requests": requests, "tokenizer": f"shared WordPiece 30,522 ({peers.TOKENIZER_REPO})"}
    for tool, rs in runs.items():
        out[tool] = {"req_s": _round(median([r.get("req_s") for r in rs])),
                     "req_s_with_setup": _round(median([r.get("req_s_with_setup") for r in rs])),
                     "setup_s": median([r.get("setup_s") for r in rs]),
                     "text_bytes_per_request": _round(median([r.get("text_bytes_per_request") for r in rs])),
                     "spread_req_s": [_round(r.get("req_s")) for r in rs], "runs": rs}
    return out


def _table(mode: Mode, work: Path) -> dict:
    """generation.py's table: rankperf's rate with several tokenizers and the word estimate."""
    requests = 1000 if mode.quick else 5000
    proc = run([str(VENV_PY), str(ROOT / "generation.py"), "--requests", str(requests)], work / "generation.log",
               900, cwd=REPO)
    cases = {}
    for line in Path(proc.log).read_text(errors="replace").splitlines():
        m = _LINE.match(line.strip())
        if m:
            cases[m["label"].strip()] = {"requests_per_s": float(m["rate"].replace(",", "")),
                                         "build_ms": float(m["build"].replace(",", "")),
                                         "vs_aiperf_270": float(m["x"]), "kib_text_per_request": float(m["kib"])}
    return {"command": f"python benchmarks/generation.py --requests {requests}", "requests": requests,
            "cases": cases, "rc": proc.rc, "background_cores": proc.background_cores,
            "error": None if cases else Path(proc.log).read_text(errors="replace")[-2000:]}


def measure(mode: Mode, work: Path, aiperf_ok: bool = True) -> dict:
    """The head-to-head (the figure), then rankperf's table of tokenizers."""
    h2h = head_to_head(mode, work, aiperf_ok)
    rp = h2h["rankperf"]["req_s"]
    ai = (h2h.get("aiperf") or {}).get("req_s")
    return {
        "head_to_head": h2h,
        "rankperf_req_s": rp,
        "aiperf_req_s": ai,
        "rankperf_vs_aiperf": ratio(rp, ai, 1),
        "rankperf_vs_aiperf_with_setup": ratio(h2h["rankperf"]["req_s_with_setup"],
                                               (h2h.get("aiperf") or {}).get("req_s_with_setup"), 1),
        "aiperf_hand_measured_req_s": round(AIPERF_HAND_MEASURED_REQ_S, 1),
        "aiperf_vs_hand_measured": ratio(ai, AIPERF_HAND_MEASURED_REQ_S),
        "tokenizers": _table(mode, work),
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)
