"""The one-line JSON progress file the master keeps for `rankperf profile` (only when asked for)."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from rankperf_data.load.coordinator import Coordinator

PROGRESS_ENV = "RANKPERF_PROGRESS_FILE"


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
    }
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(orjson.dumps(data))
    os.replace(tmp, path)
