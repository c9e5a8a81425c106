"""Server-side rows from known /metrics names (TEI, vLLM pooling, Infinity) next to the client's.

Each server names its timings differently and counts different things: TEI's ``te_request_*``
count calls (queue and inference are the mean over the call's pairs), its ``te_predict_*`` and all
of vLLM's engine metrics count pairs, Infinity has only HTTP-level histograms. A row says which.
Percentiles are ``histogram_quantile`` over the bucket increases of the profiling window, summed
over series (and endpoints) first; each keeps the bucket it came from, its resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rankperf_data.report.metrics import Metric
from rankperf_data.report.promtext import Quantile, histogram_quantile
from rankperf_data.report.server_metrics import QUANTILES, Window
from rankperf_data.report.stats import RecordStats


@dataclass(frozen=True)
class Role:
    """One row: which family, how to read it, how to show it."""

    tag: str
    header: str
    family: str
    unit: str
    scale: float = 1.0  # base unit -> shown unit (seconds -> ms: 1e3)
    labels: tuple[tuple[str, str], ...] = ()  # only series with these labels
    per_call: bool = False  # a whole-call duration: comparable with the client's request latency


def _tei() -> tuple[Role, ...]:
    return (
        Role("server_request_duration", "Server Request Duration (/metrics)", "te_request_duration", "ms", 1e3,
             per_call=True),
        Role("server_queue_duration", "Server Queue Time, pair mean (/metrics)", "te_request_queue_duration", "ms",
             1e3),
        Role("server_inference_duration", "Server Inference Time, pair mean (/metrics)",
             "te_request_inference_duration", "ms", 1e3),
        Role("server_tokenization_duration", "Server Tokenization Time, pair mean (/metrics)",
             "te_request_tokenization_duration", "ms", 1e3),
        Role("server_batch_size", "Server Batch Size (/metrics)", "te_batch_next_size", "pairs"),
        Role("server_queue_size", "Server Queue Size (/metrics)", "te_queue_size", "pairs"),
        Role("server_pair_throughput", "Server Pair Throughput (/metrics)", "te_predict_success", "pairs/sec"),
    )


def _vllm() -> tuple[Role, ...]:
    return (
        Role("server_request_duration", "Server Pair Duration (/metrics)", "vllm:e2e_request_latency_seconds", "ms",
             1e3),
        Role("server_queue_duration", "Server Queue Time, per pair (/metrics)", "vllm:request_queue_time_seconds",
             "ms", 1e3),
        Role("server_inference_duration", "Server Inference Time, per pair (/metrics)",
             "vllm:request_inference_time_seconds", "ms", 1e3),
        Role("server_batch_size", "Server Tokens per Engine Step (/metrics)", "vllm:iteration_tokens_total",
             "tokens"),
        Role("server_queue_size", "Server Requests Waiting (/metrics)", "vllm:num_requests_waiting", "pairs"),
        Role("server_pair_throughput", "Server Pair Throughput (/metrics)", "vllm:request_success", "pairs/sec"),
    )


def _infinity(path: str) -> tuple[Role, ...]:
    handler = (("handler", path),)
    return (
        Role("server_request_duration", "Server Request Duration (/metrics)", "http_request_duration_seconds", "ms",
             1e3, handler, per_call=True),
        # http_requests_total: prometheus_client's parser names the counter family without _total
        Role("server_request_throughput", "Server Request Throughput (/metrics)", "http_requests",
             "requests/sec", labels=handler),
    )


def flavour(window: Window) -> str | None:
    """Which server's names the scrape has: tei, vllm, infinity (FastAPI instrumentator), or None."""
    names = window.families
    if "te_request_duration" in names or "te_request_count" in names:
        return "tei"
    if any(n.startswith("vllm:") for n in names):
        return "vllm"
    if "http_request_duration_seconds" in names:
        return "infinity"
    return None


@dataclass
class ServerRows:
    """The server-side rows of a run, and how they were computed."""

    flavour: str
    rows: list[Metric] = field(default_factory=list)
    quantiles: dict[str, dict[float, Quantile]] = field(default_factory=dict)  # tag -> p -> estimate (base unit)
    scales: dict[str, float] = field(default_factory=dict)
    overhead_ms: float | None = None  # client request latency avg - server whole-call duration avg
    resets: int = 0

    def to_dict(self) -> dict:
        out: dict = {"flavour": self.flavour, "overhead_ms": self.overhead_ms, "counter_resets": self.resets,
                     "rows": {}}
        for m in self.rows:
            row: dict = {"header": m.header, "unit": m.unit}
            row.update({k: v for k, v in (m.stats.as_dict() if m.stats else {"avg": m.value}).items()
                        if v is not None})
            scale = self.scales.get(m.tag, 1.0)
            for q, est in self.quantiles.get(m.tag, {}).items():
                row[f"p{round(q * 100)}_bucket"] = est.to_dict(scale)["bucket"]
            out["rows"][m.tag] = row
        return out


def _matching(window: Window, role: Role):
    fam = window.families.get(role.family)
    if fam is None:
        return None, []
    wanted = dict(role.labels)
    return fam, [s for s in fam.series if all(s.labels.get(k) == v for k, v in wanted.items())]


def _histogram_row(role: Role, series: list) -> tuple[Metric, dict[float, Quantile], int] | None:
    buckets: dict[str, float] = {}
    total, count, resets = 0.0, 0.0, 0
    for s in series:
        for k, v in (s.buckets or {}).items():
            buckets[k] = buckets.get(k, 0.0) + v
        total += s.stats["sum"] or 0.0
        count += s.stats["count"] or 0.0
        resets += s.resets
    if count <= 0 or total == 0:  # a timing that is 0 for every observation says nothing
        return None
    quantiles = {q: est for q in QUANTILES if (est := histogram_quantile(q, buckets)) is not None}
    k = role.scale
    pct = {f"p{round(q * 100)}": est.value * k for q, est in quantiles.items()}
    stats = RecordStats(avg=total / count * k, min=None, max=None, sum=total * k, count=int(count), **pct)
    return Metric(role.tag, role.header, role.unit, stats=stats), quantiles, resets


def _row(role: Role, window: Window) -> tuple[Metric, dict[float, Quantile], int] | None:
    fam, series = _matching(window, role)
    if fam is None or not series:
        return None
    if fam.type == "histogram":
        return _histogram_row(role, series)
    if fam.type == "counter":
        rates = [s.stats["rate"] for s in series if s.stats.get("rate") is not None]
        resets = sum(s.resets for s in series)
        return (Metric(role.tag, role.header, role.unit, value=float(sum(rates))), {}, resets) if rates else None
    avgs = [s.stats for s in series if s.stats.get("avg") is not None]
    if not avgs:
        return None
    stats = RecordStats(avg=sum(a["avg"] for a in avgs), min=sum(a["min"] for a in avgs),
                        max=sum(a["max"] for a in avgs), sum=None, count=len(avgs))
    return Metric(role.tag, role.header, role.unit, stats=stats), {}, 0


def server_rows(window: Window | None, client_latency_avg_ms: float | None, path: str) -> ServerRows | None:
    """The known rows of the window's families; None when no known server names were scraped."""
    kind = flavour(window) if window is not None else None
    if kind is None:
        return None
    roles = {"tei": _tei(), "vllm": _vllm(), "infinity": _infinity(path)}[kind]
    out = ServerRows(kind)
    for role in roles:
        got = _row(role, window)
        if got is None:
            continue
        metric, quantiles, resets = got
        out.rows.append(metric)
        out.resets += resets
        if quantiles:
            out.quantiles[role.tag] = quantiles
            out.scales[role.tag] = role.scale
        if role.per_call and client_latency_avg_ms is not None and metric.stats is not None:
            out.overhead_ms = client_latency_avg_ms - metric.stats.avg
    if out.overhead_ms is not None:
        out.rows.append(Metric("client_overhead", "Client - Server Request Duration (avg)", "ms",
                               value=out.overhead_ms))
    return out
