"""The run's summary while it goes, from the merged counters, running totals and latency sketches.

The statistics are report/sketch_summary.py's; this module hands them the master's merger.
The exact table is computed once from the records when the run has ended (load/webui.py).
"""

from __future__ import annotations

from rankperf_data.load.summaries import SummaryMerger
from rankperf_data.report import sketch_summary
from rankperf_data.report.metrics import Summary


def live_summary(merger: SummaryMerger, request_rate: float | None = None,
                 arrival_pattern: str | None = None) -> Summary:
    """The measured phase so far. ``request_rate``: the offered open-loop rate (None: closed loop);
    ``arrival_pattern``: its pattern (the rate warning allows for Poisson noise)."""
    return sketch_summary.merged_summary(merger.state(), request_rate, arrival_pattern)
