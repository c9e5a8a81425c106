"""One finished run folder, read back from disk into the numbers a campaign compares."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rankperf_data.campaign.sla import RATE_ACHIEVED, SlaFilter
from rankperf_data.report.metrics import is_open_loop, summarize
from rankperf_data.results.disk import NoRecordsError, load_run
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import PHASE_PROFILING


@dataclass
class RunValues:
    """A run's metric statistics {tag: {stat: value}}, units {tag: unit}, and how it ended."""

    label: str
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    complete: bool = True  # not cancelled, not partial
    error: str | None = None  # why the run has no usable result
    concurrency: int | None = None  # as run: users (closed loop) or the in-flight cap
    request_rate: float | None = None  # open loop only

    @property
    def successful(self) -> bool:
        """AIPerf's rule: a run counts when it has at least one successful request."""
        return self.error is None and bool(self.values.get("request_count", {}).get("avg"))


def _margins(run, bound) -> np.ndarray:
    rec = run.records[(run.records["phase"] == PHASE_PROFILING) & (run.records["error_kind"] == ErrorKind.OK)]
    end = rec["end_ns"]
    start = rec["intended_ns"] if bound[0] == "intended_latency" else rec["start_ns"]
    latency = (end - start).astype(np.float64) / 1e6
    return latency - bound[1].limit_ms(rec["passages"])


def read_run(path: Path, label: str, filters: list[SlaFilter] = ()) -> RunValues:
    """The run in ``path``; a folder without records gives a RunValues carrying the error."""
    try:
        run = load_run(path)
    except NoRecordsError as exc:
        return RunValues(label, error=str(exc))
    summary = summarize(run)
    out = RunValues(label, complete=summary.is_complete, concurrency=run.info.concurrency,
                    request_rate=run.info.request_rate or None)
    for tag, metric in summary.metrics.items():
        if metric.stats is not None:
            out.values[tag] = {k: v for k, v in metric.stats.as_dict().items() if k != "count" and v is not None}
        else:
            out.values[tag] = {"avg": metric.value}
        out.units[tag] = metric.unit
    quality = summary.quality  # labelled inputs: NDCG/MRR/Recall per point, beside the latencies
    for tag, metric in (quality.metrics.items() if quality is not None else ()):
        if metric.stats is not None and metric.stats.count:
            out.values[tag] = {k: v for k, v in metric.stats.as_dict().items() if k != "count" and v is not None}
            out.units[tag] = metric.unit
    if is_open_loop(run.info):
        out.values[RATE_ACHIEVED] = {"avg": 0.0 if summary.rate_not_achieved else 1.0}
    for f in filters:
        if f.per_passage:
            tag = f.lookup[0]
            margins = _margins(run, (f.metric_tag, f.threshold))
            if margins.size:
                pcts = {f"p{p}": float(np.percentile(margins, p)) for p in (1, 5, 10, 25, 50, 75, 90, 95, 99)}
                out.values[tag] = {"avg": float(margins.mean()), "min": float(margins.min()),
                                   "max": float(margins.max()), **pcts}
                out.units[tag] = "ms"
    return out
