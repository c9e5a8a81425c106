"""The real master with synthetic workers over zmq (benchmarks/master_scale.py, small): merged
summaries count every request once, percentiles within 1 %, a duplicated summary is named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "master_scale.py"

pytestmark = pytest.mark.slow  # a Locust master start and ~2 s of simulated load


def run_scale(*extra: str) -> dict:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--workers", "4", "--rate", "20000", "--seconds", "1",
                           "--json", *extra], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_master_counts_every_synthetic_request_once_with_close_percentiles():
    result = run_scale()
    assert result["exact_count"] is True and result["master_requests"] == 20000
    assert result["p50_rel_error"] <= 0.01 and result["p99_rel_error"] <= 0.01
    assert result["master_notes"] == []


def test_a_duplicated_summary_is_named_by_the_master_and_counted_once():
    result = run_scale("--inject-duplicate")
    assert result["exact_count"] is True
    assert len(result["master_notes"]) == 1 and "arrived twice" in result["master_notes"][0]
