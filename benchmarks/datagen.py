"""Figure 5: request generation speed, from benchmarks/generation.py (owned elsewhere; called, not changed)."""

from __future__ import annotations

import re
from pathlib import Path

from common import REPO, ROOT, VENV_PY, Mode, run

AIPERF_REQ_S = 3000 / 11.1  # 270.3, measured (shared/reference/aiperf-rankings.md section 3)
REAL_TOKENIZER_CASE = "WordPiece, BERT-style, 30522 vocab (exact)"
_LINE = re.compile(r"^(?P<label>.+?)\s+build\s+(?P<build>[\d.,]+) ms\s+(?P<rate>[\d,]+) requests/s\s+x\s*"
                   r"(?P<x>[\d.]+) vs AIPerf\s+\((?P<kib>[\d.]+) KiB")


def measure(mode: Mode, work: Path) -> dict:
    """Run generation.py and parse its table."""
    requests = 1000 if mode.quick else 5000
    cmd = [str(VENV_PY), str(ROOT / "generation.py"), "--requests", str(requests)]
    proc = run(cmd, work / "generation.log", 900, cwd=REPO)
    cases = {}
    for line in Path(proc.log).read_text(errors="replace").splitlines():
        m = _LINE.match(line.strip())
        if m:
            cases[m["label"].strip()] = {"requests_per_s": float(m["rate"].replace(",", "")),
                                         "build_ms": float(m["build"].replace(",", "")),
                                         "vs_aiperf": float(m["x"]), "kib_text_per_request": float(m["kib"])}
    real = cases.get(REAL_TOKENIZER_CASE, {})
    rate = real.get("requests_per_s")
    return {
        "command": f"python benchmarks/generation.py --requests {requests}",
        "requests": requests,
        "aiperf_req_s": round(AIPERF_REQ_S, 1),
        "real_tokenizer_case": REAL_TOKENIZER_CASE,
        "rankperf_req_s_real_tokenizer": rate,
        "rankperf_vs_aiperf": round(rate / AIPERF_REQ_S, 1) if rate else None,
        "cases": cases,
        "rc": proc.rc,
        "background_cores": proc.background_cores,
        "error": None if cases else Path(proc.log).read_text(errors="replace")[-2000:],
    }
