"""--slice-duration: the profiling records binned by start time, every metric recomputed per slice.

As AIPerf: the grid starts at the first request's start, empty slices are skipped, and the last
slice is clipped to the run's end and marked ``is_complete: false``. A slice's rates divide by its
own length. Files: profile_export_aiperf_timeslices.json (``{"timeslices": [...], "input_config"}``)
and .csv in long form (Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from rankperf_data.report.metrics import Metric, phase_metrics
from rankperf_data.results.run import RunInfo

JSON_FILE = "profile_export_aiperf_timeslices.json"
CSV_FILE = "profile_export_aiperf_timeslices.csv"
STATS = ("avg", "min", "max", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "std")


@dataclass
class Timeslice:
    index: int  # position on the grid (empty slices are skipped, so indices may jump)
    start_ns: int
    end_ns: int
    is_complete: bool
    metrics: dict[str, Metric]


def slice_duration(info: RunInfo | None) -> float:
    """The run's --slice-duration in seconds (0: off)."""
    if info is None:
        return 0.0
    try:
        return max(0.0, float(info.options.get("slice_duration") or 0.0))
    except (TypeError, ValueError):
        return 0.0


def timeslices(prof: np.ndarray, seconds: float, end_ns: int, info: RunInfo) -> list[Timeslice]:
    """Slices of the profiling records (every request sent, successes and errors)."""
    if seconds <= 0 or prof.size == 0:
        return []
    width = int(seconds * 1e9)
    origin = int(prof["start_ns"].min())
    end_ns = max(end_ns, int(prof["start_ns"].max()) + 1)
    index = (prof["start_ns"] - origin) // width
    out = []
    for i in np.unique(index).tolist():
        start = origin + i * width
        stop = min(start + width, end_ns)
        rec = prof[index == i]
        out.append(Timeslice(i, start, stop, stop == start + width, phase_metrics(rec, stop - start, info)))
    return out


def _metric_json(m: Metric) -> dict:
    if m.stats is None:
        return {"unit": m.unit, "avg": m.value}
    return {"unit": m.unit, **{k: m.stats.get(k) for k in STATS if m.stats.get(k) is not None}}


def to_json(slices: list[Timeslice], input_config: dict | None) -> dict:
    items = []
    for s in slices:
        item: dict = {"start_ns": s.start_ns, "end_ns": s.end_ns}
        if not s.is_complete:
            item["is_complete"] = False
        item.update({tag: _metric_json(m) for tag, m in s.metrics.items()})
        items.append(item)
    out: dict = {"timeslices": items}
    if input_config is not None:
        out["input_config"] = input_config
    return out


def to_csv(slices: list[Timeslice]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Timeslice", "Start_NS", "End_NS", "Metric", "Unit", "Stat", "Value"])
    for n, s in enumerate(slices):
        for tag, m in s.metrics.items():
            for stat, value in _metric_json(m).items():
                if stat != "unit":
                    w.writerow([n, s.start_ns, s.end_ns, tag, m.unit, stat, f"{value:.6g}"])
    return buf.getvalue()
