"""Summaries from the merged counters, running totals and latency sketches: the live table, and the
whole report when some records stayed on workers' hosts.

Reads no record: the cost depends on the number of phases, sketch buckets and distinct error
kinds, never on the number of requests, so the web UI's Rankings tab stays cheap in a long run.
Counts, sums, min, max, avg and std are exact; the latency percentiles come from the merged
DDSketch (within its relative accuracy) and their metric is marked ``approximate``.

When a worker kept its records on its host (``--records-dir``), the master holds only part of the
records, so a table computed from them would describe part of the run: the report's figures come
from the merged summaries instead, and the report says so. Rows that need each request's record
(tokens and passages per request, the server's timing headers, bytes, goodput, the latency model,
timeslices, quality) are left out and named until `rankperf report RUN_DIR DIR...` merges the kept
record files into the exact report.
"""

from __future__ import annotations

import math
from dataclasses import replace

from rankperf_data.report.metrics import (
    DEFINITIONS,
    ErrorGroup,
    Metric,
    Summary,
    error_type,
    rate_warning,
)
from rankperf_data.report.ramp import ramp_up_note
from rankperf_data.report.stats import PERCENTILES, RecordStats
from rankperf_data.results.merged_summaries import INTENDED, LAG, MergedSummaries
from rankperf_data.results.outcomes import ErrorKind, error_label
from rankperf_data.results.phase_totals import PhaseTotals, parse_error_key
from rankperf_data.results.records import PHASE_PROFILING
from rankperf_data.results.run import RunInfo
from rankperf_data.results.sketches import LatencySketch

QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}  # the Rankings tab's percentile columns
ALL_QUANTILES = {f"p{p}": p / 100 for p in PERCENTILES}  # the exports' (AIPerf's) percentiles
SOURCE_NOTE = ("figures from every worker's merged counters and latency sketches: counts, rates, avg, min, max "
               "and std exact, percentiles approximate")


def _metric(tag: str, *, value: float | None = None, stats: RecordStats | None = None,
            approximate: bool = False) -> Metric:
    header, unit = DEFINITIONS[tag]
    return Metric(tag, header, unit, stats=stats, value=value, approximate=approximate)


def latency_stats(sketch: LatencySketch, sum_sq_ms2: float | None = None,
                  quantiles: dict[str, float] = QUANTILES) -> RecordStats:
    """avg/min/max/sum/count exact (kept beside the sketch), std exact from the sum of squares
    (None when some process sent none), p50/p90/p99 from the sketch."""
    avg = sketch.sum / sketch.count
    std = None
    if sum_sq_ms2 is not None:
        std = math.sqrt(max(sum_sq_ms2 / sketch.count - avg * avg, 0.0))  # population, as RecordStats
    return RecordStats(avg=avg, min=sketch.min, max=sketch.max, sum=sketch.sum, count=sketch.count, std=std,
                       **{name: sketch.quantile(q) for name, q in quantiles.items()})


def error_groups(totals: PhaseTotals) -> list[ErrorGroup]:
    """One group per (kind, status), the most frequent first (messages are in the records only)."""
    groups = []
    for key, count in totals.errors.items():
        kind, status = parse_error_key(key)
        groups.append(ErrorGroup(error_label(kind, status), status if kind == ErrorKind.HTTP else None,
                                 error_type(kind, status), "", count))
    return sorted(groups, key=lambda g: (-g.count, g.label))


def open_loop_metrics(merged: MergedSummaries, n_all: int, n_ok: int,
                      quantiles: dict[str, float] = QUANTILES) -> dict[str, Metric]:
    """Latency from intended send and schedule lag, when every merged summary carried their sketches
    (their counts then equal the successes and the requests; else the rows would be partial)."""
    sketches = merged.open_loop.get(PHASE_PROFILING, {})
    out = {}
    for tag, expected in ((INTENDED, n_ok), (LAG, n_all)):
        sketch = sketches.get(tag)
        if sketch is not None and sketch.count and sketch.count == expected:
            out[tag] = _metric(tag, stats=latency_stats(sketch, quantiles=quantiles), approximate=True)
    return out


def rates(totals: PhaseTotals, n_all: int, n_ok: int, request_rate: float | None) -> dict[str, Metric]:
    """Per second over the one window of the exact report (first send to last answer); the achieved
    rate over the sends (open loop)."""
    out: dict[str, Metric] = {}
    if totals.first_start_ns is None:
        return out
    window_s = (totals.last_end_ns - totals.first_start_ns) / 1e9
    if window_s > 0:
        out["request_throughput"] = _metric("request_throughput", value=n_ok / window_s)
        if totals.passages_unknown == 0:
            out["passage_throughput"] = _metric("passage_throughput", value=totals.passages / window_s)
        if totals.tokens_unknown == 0 and n_ok:
            out["pair_token_throughput"] = _metric("pair_token_throughput", value=totals.pair_tokens / window_s)
    sends_s = (totals.last_start_ns - totals.first_start_ns) / 1e9
    if request_rate and n_all > 1 and sends_s > 0:
        out["achieved_rate"] = _metric("achieved_rate", value=(n_all - 1) / sends_s)  # as stats.arrival_rate
    return out


def merged_summary(merged: MergedSummaries, request_rate: float | None = None,
                   arrival_pattern: str | None = None, quantiles: dict[str, float] = QUANTILES) -> Summary:
    """The measured phase so far. ``request_rate``: the offered open-loop rate (None: closed loop);
    ``arrival_pattern``: its pattern (the rate warning allows for Poisson noise)."""
    n_all = merged.requests.get(PHASE_PROFILING, 0)
    n_ok = merged.ok.get(PHASE_PROFILING, 0)
    sketch = merged.latency.get(PHASE_PROFILING)
    whole = merged.totals_complete  # every merged summary carried its running totals
    totals = merged.totals.get(PHASE_PROFILING, PhaseTotals())
    metrics: dict[str, Metric] = {}
    if sketch is not None and sketch.count:
        stats = latency_stats(sketch, totals.latency_sq_ms2 if whole else None, quantiles)
        metrics["request_latency"] = _metric("request_latency", stats=stats, approximate=True)
    if whole:  # else the times and sums lack some requests: no rate is shown rather than a wrong one
        metrics.update(rates(totals, n_all, n_ok, request_rate))
    metrics["request_count"] = _metric("request_count", value=float(n_ok))
    metrics["completed_request_count"] = _metric("completed_request_count", value=float(n_all))
    if n_all > n_ok:
        metrics["error_request_count"] = _metric("error_request_count", value=float(n_all - n_ok))
    if n_all:
        metrics["request_error_rate"] = _metric("request_error_rate", value=100.0 * (n_all - n_ok) / n_all)
    warnings = []
    if request_rate:
        metrics["offered_rate"] = _metric("offered_rate", value=float(request_rate))
        metrics.update(open_loop_metrics(merged, n_all, n_ok, quantiles))
        info = RunInfo("", "", "", "", 1, request_rate=request_rate, arrival_pattern=arrival_pattern)
        warning = rate_warning(metrics, info, n_all)
        warnings = [warning] if warning else []
    return Summary(metrics=metrics, errors=error_groups(totals), warnings=warnings, approximate=True)


def merged_window(merged: MergedSummaries) -> tuple[int, int] | None:
    """The measured phase's first send and last answer (epoch ns), when every summary gave its times."""
    totals = merged.totals.get(PHASE_PROFILING)
    if not merged.totals_complete or totals is None or totals.first_start_ns is None:
        return None
    return (totals.first_start_ns, totals.last_end_ns) if totals.last_end_ns > totals.first_start_ns else None


def whole_run(merged: MergedSummaries, request_rate: float | None = None,
              arrival_pattern: str | None = None) -> Summary:
    """The ended run from every process's merged summaries, with the exports' percentiles and the
    benchmark duration."""
    summary = merged_summary(merged, request_rate, arrival_pattern, ALL_QUANTILES)
    window = merged_window(merged)
    if window is not None:
        summary.metrics["benchmark_duration"] = _metric("benchmark_duration", value=(window[1] - window[0]) / 1e9)
        summary.start_ns, summary.end_ns = window
    summary.source = "sketches"
    return summary


def with_whole_run_figures(records: Summary, whole: Summary, other_warnings: list[str]) -> Summary:
    """``records``: the summary of the records held here (its server rows already compared with
    ``whole``'s latency); ``whole``: every process's merged summaries (``whole_run``);
    ``other_warnings``: the records summary's warnings apart from its rate warning (the whole
    run's own comes from the merged summaries)."""
    left_out = [m.header for tag, m in records.metrics.items() if tag not in whole.metrics]
    note = SOURCE_NOTE + (f"; left out until the kept records are merged: {', '.join(left_out)}" if left_out else "")
    return replace(
        records,
        metrics=dict(whole.metrics),
        errors=list(whole.errors),
        distribution=None,
        start_ns=whole.start_ns if whole.start_ns is not None else records.start_ns,
        end_ns=whole.end_ns if whole.end_ns is not None else records.end_ns,
        warnings=list(whole.warnings) + list(other_warnings),
        rate_not_achieved=bool(whole.warnings),
        source="sketches",
        approximate=True,
        ramp_up=None,  # counted over the records held here: not the run's
        notes=[n for n in records.notes if n != ramp_up_note(records.ramp_up)] + [note],
    )
