"""The progress file (and `rankperf profile`'s bar) carry live p50/p99 and errors from the merged summaries."""

from __future__ import annotations

import argparse

import numpy as np
import orjson
from test_live_rows import generated_records, merged

from rankperf_data import profile
from rankperf_data.load import progress
from rankperf_data.load.coordinator import Coordinator
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import PHASE_PROFILING


def test_the_progress_file_has_live_percentiles_and_errors(tmp_path, monkeypatch):
    rec = generated_records(30_000)
    coord = Coordinator(0, rec.size, 0.0, lambda *a: None)
    path = tmp_path / "progress.json"
    monkeypatch.setenv(progress.PROGRESS_ENV, str(path))
    progress.write_progress(coord)
    assert orjson.loads(path.read_bytes())["p50_ms"] is None  # nothing merged yet
    coord.summaries = merged(rec)
    progress.write_progress(coord)
    data = orjson.loads(path.read_bytes())
    prof = rec[rec["phase"] == PHASE_PROFILING]
    ok = prof[prof["error_kind"] == ErrorKind.OK]
    latency = (ok["end_ns"] - ok["start_ns"]) / 1e6
    assert data["errors"] == prof.size - ok.size
    for key, q in (("p50_ms", 50), ("p99_ms", 99)):
        exact = float(np.percentile(latency, q))
        assert abs(data[key] - exact) / exact <= 0.01, key


class _Bar:
    def __init__(self) -> None:
        self.fields: dict = {}

    def update(self, task, **fields) -> None:
        self.fields = fields


def test_the_progress_bar_shows_them():
    bar, args = _Bar(), argparse.Namespace(request_count=100, benchmark_duration=None)
    profile._show_progress(bar, 0, {"done": 40, "rate": 12.5, "p50_ms": 20.04, "p99_ms": 81.0, "errors": 3}, args)
    assert bar.fields["rate"] == "12.5 req/s  p50 ~20.0 ms  p99 ~81.0 ms  errors 3"
    profile._show_progress(bar, 0, {"done": 0, "rate": 0.0, "p50_ms": None}, args)
    assert bar.fields["rate"] == "warming up"
