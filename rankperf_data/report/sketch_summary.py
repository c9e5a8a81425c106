"""The report of a run whose workers kept some records on their hosts: every figure from the merged sketches.

The master holds only part of the records then, so a table computed from them would describe part
of the run. Its figures come instead from every process's merged counters, running totals and
latency sketches (load/live_rows.whole_run_summary): counts, rates, avg, min, max and std exact,
percentiles within the sketches' relative accuracy, and the report says so. Rows that need each
request's record (tokens and passages per request, server timing headers, bytes, goodput, the
latency model, timeslices, quality) are left out and named until `rankperf report RUN_DIR DIR...`
merges the kept record files into the exact report.
"""

from __future__ import annotations

from dataclasses import replace

from rankperf_data.report.metrics import Summary, server_side
from rankperf_data.report.ramp import ramp_up_note
from rankperf_data.results.run import RunResult

SOURCE_NOTE = ("figures from every worker's merged counters and latency sketches: counts, rates, avg, min, max "
               "and std exact, percentiles approximate")


def whole_run_summary(records: Summary, whole: Summary, other_warnings: list[str], result: RunResult) -> Summary:
    """``records``: the summary of the records held here; ``whole``: the merged summaries' one;
    ``other_warnings``: the records summary's warnings apart from its rate warning (the whole run's
    own is in ``whole``)."""
    left_out = [m.header for tag, m in records.metrics.items() if tag not in whole.metrics]
    note = SOURCE_NOTE + (f"; left out until the kept records are merged: {', '.join(left_out)}" if left_out else "")
    quality_warning = records.quality.warning if records.quality is not None else None
    warnings = list(whole.warnings) + [w for w in other_warnings if w != quality_warning]
    # the server rows again: they compare the server's latency with the client's (whole-run) average
    server, server_note, _ = server_side(result, whole.metrics)
    return replace(
        records,
        metrics=dict(whole.metrics),
        errors=list(whole.errors),
        distribution=None,
        latency_model=None,
        latency_table=[],
        timeslices=[],
        quality=None,
        server=server,
        server_note=server_note,
        start_ns=whole.start_ns if whole.start_ns is not None else records.start_ns,
        end_ns=whole.end_ns if whole.end_ns is not None else records.end_ns,
        warnings=warnings,
        rate_not_achieved=bool(whole.warnings),
        source="sketches",
        approximate=True,
        ramp_up=None,  # counted over the records held here: not the run's
        notes=[n for n in records.notes if n != ramp_up_note(records.ramp_up)] + [note],
    )
