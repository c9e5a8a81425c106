"""The console view of a Summary: AIPerf's table layout, rendered with rich as plain text."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rankperf_data.report.latency_model import LatencyModel
from rankperf_data.report.metrics import RATE_WINDOWS, Metric, Summary

TITLE = "rankperf | Ranking Metrics"
ERROR_TITLE = "rankperf | Error Summary"
COLUMNS = ("avg", "min", "max", "p99", "p90", "p50", "std")
APPROXIMATE_NOTE = "percentiles approximate: Locust rounds response times to buckets"
SKETCH_APPROXIMATE_NOTE = "percentiles approximate: from every worker's merged latency sketches (see the notes)"

# Row order; a tag missing from the summary (no data, does not apply) has no row.
ROWS = (
    "request_latency",
    "network_adjusted_request_latency",
    "network_rtt",
    "intended_latency",
    "schedule_lag",
    "request_throughput",
    "passage_throughput",
    "pair_token_throughput",
    "passages_per_request",
    "query_tokens",
    "passage_tokens_per_request",
    "server_queue_time",
    "server_tokenization_time",
    "server_inference_time",
    "request_count",
    "completed_request_count",
    "error_request_count",
    "request_error_rate",
    "goodput",
    "good_request_count",
    "good_request_fraction",
    "offered_rate",
    "achieved_rate",
    "late_start_count",  # open loop only, like the two rows above
    "late_start_rate",
)
# Shown only when there were errors (a 0 % row says nothing the counts don't).
ERROR_ONLY = {"error_request_count", "request_error_rate"}


def _cell(value: float | None) -> str:
    return "N/A" if value is None else f"{value:,.2f}"


def metrics_table(summary: Summary) -> Table:
    has_errors = "error_request_count" in summary.metrics
    rows: list[tuple[str, list[str]]] = []
    for tag in ROWS:
        metric: Metric | None = summary.metrics.get(tag)
        if metric is None or (tag in ERROR_ONLY and not has_errors):
            continue
        rows.append((metric.label, [_cell(metric.stat(c)) for c in COLUMNS]))
    if summary.quality is not None:  # labelled inputs: NDCG@k, MRR@k, Recall@k per request
        rows += [(m.label, [_cell(m.stat(c)) for c in COLUMNS]) for m in summary.quality.metrics.values()]
    server = summary.server
    for metric in (server.rows if server is not None else []):  # the server's own view, from /metrics
        rows.append((metric.label, [_cell(metric.stat(c)) for c in COLUMNS]))
    table = Table(title=TITLE)
    # on a narrow terminal the metric names wrap (as AIPerf's do); numbers are never cut
    table.add_column("Metric", justify="right", overflow="fold", min_width=12)
    for i, name in enumerate(COLUMNS):
        widest = max([len(name), *(len(cells[i]) for _, cells in rows)])
        table.add_column(name, justify="right", no_wrap=True, min_width=widest)
    for label, cells in rows:
        table.add_row(Text(label), *cells)
    return table


def error_table(summary: Summary) -> Table:
    table = Table(title=ERROR_TITLE)
    table.add_column("Code", justify="right", no_wrap=True)
    table.add_column("Type", justify="right", no_wrap=True)
    table.add_column("Message", justify="left", no_wrap=True)
    table.add_column("Count", justify="right", no_wrap=True)
    for g in summary.errors:
        code = "N/A" if g.code is None else str(g.code)
        table.add_row(code, Text(g.type), Text(g.message), f"{g.count:,}")
    return table


def facts_line(summary: Summary) -> str:
    """One line of run facts: outcome, window, tokenizer, realised dataset."""
    parts = list(summary.notes)
    duration = summary.metrics.get("benchmark_duration")
    if duration is not None:
        # every rate's denominator; AIPerf's request throughput uses its phase window instead
        start, end = RATE_WINDOWS[summary.source]
        parts.append(f"rates per second over {duration.value:,.3f} s ({start} to {end})")
    info = summary.info
    if info is not None and info.tokenizer:
        parts.append(f"tokens: {info.tokenizer}")
    if summary.distribution is not None:
        parts.append(inputs_text(summary))
    if summary.quality is not None:
        parts.append(quality_text(summary.quality.values))
    if summary.late_start_threshold_ms is not None:
        parts.append(f"late start: sent more than {summary.late_start_threshold_ms:,.2f} ms after its intended "
                     "time (max of 1 ms and one mean arrival gap)")
    return "; ".join(parts)


def inputs_text(summary: Summary) -> str:
    """The realised dataset: mean (min, max) of passages, query tokens and tokens per passage."""
    d = summary.distribution
    assert d is not None
    text = (f"dataset sent: {d.requests:,} requests, passages/request mean {d.passages.avg:,.2f} "
            f"(min {d.passages.min:,.0f}, max {d.passages.max:,.0f})")
    if d.query_tokens is not None:
        q = d.query_tokens
        text += f", query tokens mean {q.avg:,.1f} (min {q.min:,.0f}, max {q.max:,.0f})"
    if d.passage_tokens_per_passage is not None:
        text += f", tokens/passage mean {d.passage_tokens_per_passage:,.1f}"
        m = d.request_mean_passage_tokens
        if m is not None:
            # records hold each request's passage-token total, not single passages' sizes
            text += f" (per-request means: min {m.min:,.1f}, max {m.max:,.1f})"
    return text


def quality_text(values: dict) -> str:
    """Judged requests and, with --check-consistency, the comparison counts."""
    texts = []
    if "judged_requests" in values:
        texts.append(f"quality: {values['judged_requests']:,} requests judged against labels at k={values['k']}"
                     f" ({values['unjudged_requests']:,} failed answers not judged)")
    c = values.get("consistency")
    if c is not None:
        text = (f"consistency: {c['requests_compared']:,} answers compared with the same request sent alone "
                f"({c['reference_requests']:,} references, {c['references_failed']:,} failed), "
                f"{c['order_changed']:,} in another order, {c['topk_changed']:,} with another top-{c['k']}")
        if c["max_score_delta"] is not None:
            text += f", max score delta {c['max_score_delta']:.6g}, Kendall tau min {c['kendall_tau_min']:.4f}"
        texts.append(text)
    return "; ".join(texts)


def model_line(model: LatencyModel) -> str:
    """'latency model: 4.1 ms + 1.49 ms per passage, R^2 0.98 (n 200; per passage 95% CI 1.41..1.57 ms)'."""
    text = f"latency model: {model.line()} (n {model.n:,}"
    ci = model.ci95.get("per_passage_ms")
    if ci is not None:
        text += f"; per passage 95% CI {ci[0]:,.3g}..{ci[1]:,.3g} ms"
    if model.per_pair_token_us is None:
        text += "; pair tokens collinear with passages: not fitted"
    return text + ")"


def _natural_width(*tables: Table) -> int:
    probe = Console(width=100_000, file=io.StringIO())
    return max(probe.measure(t).maximum for t in tables)


def render_console(summary: Summary, width: int | None = None) -> str:
    """The console text (no ANSI codes). width=None: as wide as the widest table needs."""
    tables = ([error_table(summary)] if summary.errors else []) + [metrics_table(summary)]
    console = Console(record=True, width=width or _natural_width(*tables), file=io.StringIO(),
                      color_system=None, force_terminal=False, highlight=False)
    for table in tables:
        console.print(table)
        console.print()
    if summary.approximate:
        console.print(Text(SKETCH_APPROXIMATE_NOTE if summary.source == "sketches" else APPROXIMATE_NOTE),
                      soft_wrap=True)
    for warning in summary.warnings:
        console.print(Text(warning), soft_wrap=True)
    if summary.latency_model is not None:
        console.print(Text(model_line(summary.latency_model)), soft_wrap=True)
    if summary.server_note:
        console.print(Text(summary.server_note), soft_wrap=True)
    facts = facts_line(summary)
    if facts:
        console.print(Text(facts), soft_wrap=True)
    lines = console.export_text(styles=False).splitlines()
    return "\n".join(line.rstrip() for line in lines).rstrip("\n") + "\n"
