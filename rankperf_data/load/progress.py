"""The one-line JSON progress file the master keeps for `rankperf profile` (only when asked for)."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import orjson

from rankperf_data.results.records import PHASE_PROFILING

if TYPE_CHECKING:
    from rankperf_data.load.coordinator import Coordinator

PROGRESS_ENV = "RANKPERF_PROGRESS_FILE"


def live_latency(coord: Coordinator) -> dict:
    """Measured successes' p50/p99 latency (ms) from the merged sketches (None before the first),
    and the failed measured requests so far: a few numbers, whatever the request count."""
    summaries = coord.summaries
    sketch = summaries.latency.get(PHASE_PROFILING)
    failed = summaries.requests.get(PHASE_PROFILING, 0) - summaries.ok.get(PHASE_PROFILING, 0)
    return {"p50_ms": sketch.quantile(0.5) if sketch else None, "p99_ms": sketch.quantile(0.99) if sketch else None,
            "errors": failed}


def write_progress(coord: Coordinator) -> None:
    """A one-line JSON progress file for `rankperf profile` (only when asked for)."""
    path = os.environ.get(PROGRESS_ENV)
    if not path:
        return
    data = {
        "done": coord.profiling_count(),
        "records": coord.record_count(),
        "total": coord.measured,
        "warmup": coord.warmup,
        "elapsed": time.monotonic() - coord.started_mono,
        "measured_elapsed": (time.monotonic() - coord.measured_started_mono) if coord.measured_started_mono else 0.0,
        "rate": coord.measured_rate(),
        **live_latency(coord),
    }
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(orjson.dumps(data))
    os.replace(tmp, path)
