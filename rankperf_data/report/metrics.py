"""Which metrics a run has, and their values: the typed Summary every report renders."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING

import numpy as np

from rankperf_data.report import stats
from rankperf_data.report.goodput import GOODPUT_TAGS, good_mask, parse_goodput  # noqa: F401 (re-exported)
from rankperf_data.report.ramp import ramp_up, ramp_up_note
from rankperf_data.report.stats import RecordStats
from rankperf_data.results.outcomes import ErrorKind, error_label
from rankperf_data.results.records import PHASE_PROFILING, PHASE_WARMUP
from rankperf_data.results.run import RunInfo, RunResult

if TYPE_CHECKING:  # only for hints: these modules import this one
    from rankperf_data.report.quality_report import QualityReport
    from rankperf_data.report.server_metrics import Window
    from rankperf_data.report.server_rows import ServerRows

# Definitions (profiling-phase records only; "successes" = error_kind OK):
# - every rate divides by ONE window, RunResult.end_ns - start_ns (first send to last response),
#   which is also benchmark_duration;
# - request_latency = end - start (successes); intended_latency = end - intended (successes);
#   schedule_lag = start - intended (every request sent); achieved_rate = (sends - 1) / send span;
# - pair tokens = tokens in the (query, passage) pairs the server scores, per success
#   query_tokens * passages + passage_tokens (the query counted once per passage). Not AIPerf's
#   input tokens (query and passages once each, which AIPerf 0.13.0 never computes for rankings),
#   hence not AIPerf's name input_token_throughput.
# tag -> (header, unit). Tags/headers/units shared with AIPerf are spelled exactly as AIPerf does.
DEFINITIONS: dict[str, tuple[str, str]] = {
    "request_latency": ("Request Latency", "ms"),
    "intended_latency": ("Latency from Intended Send", "ms"),
    "network_adjusted_request_latency": ("Network Adjusted Request Latency", "ms"),
    "network_rtt": ("Network RTT", "ms"),
    "schedule_lag": ("Schedule Lag", "ms"),
    "request_throughput": ("Request Throughput", "requests/sec"),
    "passage_throughput": ("Passage Throughput", "passages/sec"),
    "pair_token_throughput": ("Pair Token Throughput", "tokens/sec"),
    "passages_per_request": ("Passages per Request", "passages"),
    "query_tokens": ("Query Tokens", "tokens"),
    "passage_tokens_per_request": ("Passage Tokens per Request", "tokens"),
    "server_queue_time": ("Server Queue Time", "ms"),
    "server_tokenization_time": ("Server Tokenization Time", "ms"),
    "server_inference_time": ("Server Inference Time", "ms"),
    "http_req_data_sent": ("HTTP Data Sent", "KB"),
    "http_req_data_received": ("HTTP Data Received", "KB"),
    "request_count": ("Request Count", "requests"),
    "completed_request_count": ("Completed Requests (Success + Error)", "requests"),
    "error_request_count": ("Error Request Count", "requests"),
    "request_error_rate": ("Request Error Rate", "%"),
    "benchmark_duration": ("Benchmark Duration", "sec"),
    "goodput": ("Goodput", "requests/sec"),
    "good_request_count": ("Good Request Count", "requests"),
    "good_request_fraction": ("GoodRequestFraction", "ratio"),  # AIPerf's header, kept for CSV parsers
    "offered_rate": ("Offered Rate", "requests/sec"),
    "achieved_rate": ("Achieved Rate", "requests/sec"),
    # open loop: requests sent later than LATE_START_FLOOR_MS / one mean arrival gap after their
    # scheduled time (count, and percent of the phase's requests, as request_error_rate is)
    "late_start_count": ("Late Starts", "requests"),
    "late_start_rate": ("Late Start Rate", "%"),
}

# Open loop: the offered rate counts as not achieved when the measured arrival rate falls more
# than this fraction below it (for Poisson arrivals, at least 3 sigma of the rate estimate)...
RATE_SHORTFALL = 0.05
# ...or when the scheduler sent requests late: p99 of (actual send - intended send) above this.
LAG_P99_LIMIT_MS = 10.0
# A load process busier than this (of its one core) delays its own sends and answer timestamps;
# Locust warns at the same level.
CLIENT_BUSY_LIMIT = 0.9
# ...but a CPU fraction measured over a few milliseconds says nothing (a 16 ms run of 20 requests
# read as 100 %): warn only when the sending window is this long (then the busy fraction stands
# for >= 0.9 s of CPU time, well above timer and start-up noise).
SATURATION_MIN_WALL_S = 1.0
# Open loop: a request counts as a late start when sent more than max(this, 1 / rate) after its
# intended time. One mean gap late means the schedule, not noise, was missed.
LATE_START_FLOOR_MS = 1.0

# What every rate divides by, per Summary.source: (from, to) of the window (benchmark_duration).
RATE_WINDOWS = {"records": ("first request sent", "last response received"),
                "sketches": ("first request sent", "last response received"),
                "locust_csv": ("Locust's stats start", "Locust's last request")}

MESSAGE_LIMIT = 120


@dataclass(frozen=True)
class Metric:
    """One metric: a record metric carries stats, a scalar carries value (shown as avg)."""

    tag: str
    header: str
    unit: str
    stats: RecordStats | None = None
    value: float | None = None
    approximate: bool = False  # percentiles from Locust's rounded buckets

    @property
    def is_record(self) -> bool:
        return self.stats is not None

    @property
    def label(self) -> str:
        return f"{self.header} ({self.unit})" if self.unit else self.header

    def stat(self, name: str) -> float | None:
        if self.stats is not None:
            return self.stats.get(name)
        return self.value if name == "avg" else None


@dataclass(frozen=True)
class ErrorGroup:
    """Failed requests with the same label and the same normalised message."""

    label: str  # error_label(kind, status): "500", "timeout", ...
    code: int | None  # HTTP status for HTTP errors
    type: str  # reason phrase for HTTP errors, else the kind's name
    message: str  # normalised pattern
    count: int


@dataclass(frozen=True)
class Distribution:
    """The dataset actually sent (all profiling requests, from the records)."""

    requests: int
    passages: RecordStats
    query_tokens: RecordStats | None  # None when token counts are unknown
    passage_tokens_per_passage: float | None  # all passage tokens / all passages
    # per request: its passage tokens / its passages. Records hold per-request totals only, so the
    # min and max here are of per-request means, not of single passages.
    request_mean_passage_tokens: RecordStats | None = None

    def to_dict(self) -> dict:
        def brief(s: RecordStats | None) -> dict | None:
            return None if s is None else {"mean": s.avg, "min": s.min, "max": s.max}

        return {
            "requests": self.requests,
            "passages": brief(self.passages),
            "query_tokens": brief(self.query_tokens),
            "passage_tokens_per_passage": self.passage_tokens_per_passage,
            "request_mean_passage_tokens": brief(self.request_mean_passage_tokens),
        }


@dataclass
class Summary:
    """Everything the console, JSON and CSV show, computed once."""

    metrics: dict[str, Metric]
    warmup_metrics: dict[str, Metric] = field(default_factory=dict)
    errors: list[ErrorGroup] = field(default_factory=list)
    distribution: Distribution | None = None
    info: RunInfo | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    was_cancelled: bool = False
    partial: bool = False
    notes: list[str] = field(default_factory=list)  # facts about the run
    warnings: list[str] = field(default_factory=list)  # things the reader must not miss
    rate_not_achieved: bool = False
    source: str = "records"  # records | locust_csv
    approximate: bool = False
    # distinct dataset entries the run used: the pool / file size, else distinct requests sent
    dataset_entries: int | None = None
    late_start_threshold_ms: float | None = None  # open loop only
    quality: QualityReport | None = None  # labelled inputs, --check-consistency
    server: object | None = None  # report.server_rows.ServerRows: rows from the server's /metrics
    server_note: str | None = None  # how the server rows were computed (window, bucket resolution)
    latency_model: object | None = None  # report.latency_model.LatencyModel (None: passages did not vary)
    latency_table: list[dict] = field(default_factory=list)  # latency by passage count
    timeslices: list = field(default_factory=list)  # report.timeslices.Timeslice, with --slice-duration
    ramp_up: dict | None = None  # report/ramp.py: measured requests sent while users were starting

    @property
    def is_complete(self) -> bool:
        return not (self.was_cancelled or self.partial)


def _metric(tag: str, **kwargs) -> Metric:
    header, unit = DEFINITIONS[tag]
    return Metric(tag, header, unit, **kwargs)


class _Builder:
    """Collects metrics in order, skipping the ones with no data."""

    def __init__(self) -> None:
        self.metrics: dict[str, Metric] = {}

    def record(self, tag: str, values: np.ndarray) -> None:
        s = stats.record_stats(values)
        if s is not None:
            self.metrics[tag] = _metric(tag, stats=s)

    def scalar(self, tag: str, value: float | None) -> None:
        if value is not None and math.isfinite(value):
            self.metrics[tag] = _metric(tag, value=float(value))


def _ms(delta_ns: np.ndarray) -> np.ndarray:
    return delta_ns.astype(np.float64) / 1e6


def is_open_loop(info: RunInfo) -> bool:
    return bool(info.request_rate)


def unsupported_slos(slos: dict[str, float | str]) -> list[str]:
    return [tag for tag in slos if tag not in GOODPUT_TAGS]


def _token_metrics(b: _Builder, ok: np.ndarray, window_s: float | None) -> None:
    b.record("passages_per_request", ok["passages"])
    known = (ok["query_tokens"] >= 0) & (ok["passage_tokens"] >= 0)
    if ok.size == 0 or not known.any():
        return
    k = ok[known]
    b.record("query_tokens", k["query_tokens"])
    b.record("passage_tokens_per_request", k["passage_tokens"])
    # Pair tokens = tokens in the (query, passage) pairs the server scores: the query is
    # paired with every passage, so query_tokens * passages + passage tokens, per request.
    # Only when every success has known counts: a partial sum would understate the rate.
    if window_s and known.all():
        pair_tokens = k["query_tokens"].astype(np.int64) * k["passages"] + k["passage_tokens"]
        b.scalar("pair_token_throughput", float(pair_tokens.sum()) / window_s)


def _server_metrics(b: _Builder, ok: np.ndarray) -> None:
    for tag, column in (("server_queue_time", "server_queue_ms"),
                        ("server_tokenization_time", "server_tokenization_ms"),
                        ("server_inference_time", "server_inference_ms")):
        values = ok[column].astype(np.float64)
        values = values[~np.isnan(values)]
        if values.any():  # TEI reports whole ms: a timing that is 0 for every request says nothing
            b.record(tag, values)


def _byte_metrics(b: _Builder, ok: np.ndarray) -> None:
    # AIPerf's http_req_data_*: body bytes / 1024, successes only.
    for tag, column in (("http_req_data_sent", "request_bytes"), ("http_req_data_received", "response_bytes")):
        values = ok[column]
        b.record(tag, values[values >= 0].astype(np.float64) / 1024.0)


def late_start_threshold_ms(rate: float) -> float:
    """How late (ms after the intended time) a send may be before it counts as a late start."""
    return max(LATE_START_FLOOR_MS, 1000.0 / rate)


def late_starts(rec: np.ndarray, rate: float) -> int:
    """Requests sent more than late_start_threshold_ms after their scheduled time."""
    return int((_ms(rec["start_ns"] - rec["intended_ns"]) > late_start_threshold_ms(rate)).sum())


def phase_metrics(rec: np.ndarray, window_ns: int, info: RunInfo) -> dict[str, Metric]:
    """Metrics of one phase's records. window_ns is the one denominator of every rate."""
    ok = rec[rec["error_kind"] == ErrorKind.OK]
    n_ok, n_all = int(ok.size), int(rec.size)
    window_s = window_ns / 1e9 if window_ns > 0 else None
    b = _Builder()
    b.record("request_latency", _ms(ok["end_ns"] - ok["start_ns"]))
    if info.network_rtt_ms is not None:  # AIPerf: one run-level mean RTT off every latency, clamped at 0
        b.record("network_adjusted_request_latency",
                 np.maximum(_ms(ok["end_ns"] - ok["start_ns"]) - info.network_rtt_ms, 0.0))
        b.scalar("network_rtt", info.network_rtt_ms)
    if is_open_loop(info):
        b.record("intended_latency", _ms(ok["end_ns"] - ok["intended_ns"]))
        b.record("schedule_lag", _ms(rec["start_ns"] - rec["intended_ns"]))
    if window_s:
        b.scalar("request_throughput", n_ok / window_s)
        b.scalar("passage_throughput", float(ok["passages"].sum()) / window_s)
    _token_metrics(b, ok, window_s)
    _server_metrics(b, ok)
    _byte_metrics(b, ok)
    b.scalar("request_count", float(n_ok))
    b.scalar("completed_request_count", float(n_all))
    if n_all > n_ok:
        b.scalar("error_request_count", float(n_all - n_ok))
    if n_all:
        b.scalar("request_error_rate", 100.0 * (n_all - n_ok) / n_all)
    if window_s:
        b.scalar("benchmark_duration", window_s)
    if info.goodput:
        good = int(good_mask(ok, info.goodput).sum())
        if window_s:
            b.scalar("goodput", good / window_s)
        b.scalar("good_request_count", float(good))
        if n_all:
            b.scalar("good_request_fraction", good / n_all)  # AIPerf: good / (success + error)
    if is_open_loop(info):
        b.scalar("offered_rate", float(info.request_rate))
        b.scalar("achieved_rate", stats.arrival_rate(rec["start_ns"]))
        if n_all:
            late = late_starts(rec, float(info.request_rate))
            b.scalar("late_start_count", float(late))
            b.scalar("late_start_rate", 100.0 * late / n_all)
    return b.metrics


def saturation_warning(info: RunInfo | None, window_s: float) -> str | None:
    """The load generator itself was the bottleneck: a process near 100 % of its one core.

    window_s (the run's window, about each process's sending time: RunInfo keeps only the
    fraction) must be at least SATURATION_MIN_WALL_S for the fraction to mean something.
    """
    if window_s < SATURATION_MIN_WALL_S:
        return None
    busy = {w: f for w, f in (info.client_cpu if info else {}).items() if f >= CLIENT_BUSY_LIMIT}
    if not busy:
        return None
    who = ", ".join(f"worker {w} {100 * f:.0f}%" for w, f in sorted(busy.items(), key=lambda kv: int(kv[0])))
    return (f"WARNING: load generator saturated ({who} of a CPU core while sending): its own queueing "
            "is in the latencies and it may not have reached the load asked for. Spread the users over "
            "more processes (rankperf profile --workers N, locust --processes N).")


def rate_warning(metrics: dict[str, Metric], info: RunInfo, sends: int) -> str | None:
    """Why the offered open-loop rate was not achieved, or None when it was."""
    if not is_open_loop(info):
        return None
    offered = float(info.request_rate)
    achieved = metrics.get("achieved_rate")
    lag = metrics.get("schedule_lag")
    reasons = []
    shortfall = RATE_SHORTFALL
    if (info.arrival_pattern or "poisson") == "poisson" and sends > 1:
        shortfall = max(shortfall, 3.0 / math.sqrt(sends - 1))  # Poisson noise of the estimate
    if achieved is not None and achieved.value < (1.0 - shortfall) * offered:
        reasons.append(f"sent {achieved.value:,.2f} requests/sec ({100 * achieved.value / offered:.1f}% of "
                       f"{offered:,.2f} offered)")
    if lag is not None and lag.stats.p99 > LAG_P99_LIMIT_MS:
        reasons.append(f"schedule lag p99 {lag.stats.p99:,.2f} ms > {LAG_P99_LIMIT_MS:g} ms")
    if not reasons:
        return None
    return ("WARNING: offered rate not achieved: " + "; ".join(reasons)
            + ". Latency from Intended Send includes the wait; the client or its in-flight cap (-u) "
            "was the bottleneck.")


_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
_HEX = re.compile(r"\b0x[0-9a-f]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.I)
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


# Kept as they are: an errno names the cause, and a URL is the same for every request of a run.
_KEEP = re.compile(r"\[Errno -?\d+\]|https?://\S+")


def _pattern(text: str) -> str:
    return _DIGITS.sub("N", _HEX.sub("X", _UUID.sub("X", text)))


def normalise_message(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """Message pattern for grouping: uuids/hex -> X, digit runs -> N (errnos and URLs kept), one
    line, <= limit chars."""
    text = _SPACE.sub(" ", message).strip()
    parts, last = [], 0
    for kept in _KEEP.finditer(text):
        parts += [_pattern(text[last:kept.start()]), kept.group()]
        last = kept.end()
    text = "".join(parts) + _pattern(text[last:])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_type(kind: int, status: int) -> str:
    """AIPerf's error "type": the reason phrase for HTTP errors, else the kind's name."""
    if kind == ErrorKind.HTTP:
        try:
            return HTTPStatus(int(status)).phrase
        except ValueError:
            return f"HTTP {int(status)}"
    return ErrorKind(kind).name.lower()


def status_line(status: int) -> str:
    """'401 Unauthorized' ('HTTP 599' for a status without a standard reason phrase)."""
    try:
        return f"{int(status)} {HTTPStatus(int(status)).phrase}"
    except ValueError:
        return f"HTTP {int(status)}"


# The load generator's message for a 2xx body that does not parse: "response is not JSON (<parser
# error>): <body excerpt>" (apis/_validate.py). The parser's own message has no parentheses.
_NOT_JSON = re.compile(r"^(response is not JSON \([^()]*\))")


def error_message(kind: int, status: int, raw: str) -> str:
    """The message an error group shows, and groups by.

    An HTTP error with an empty body (the load generator writes "HTTP <status>") shows the status
    line; a body that is not JSON groups by the parser's error alone, since excerpts of bodies cut
    at different places would split one cause into many groups.
    """
    text = raw.strip()
    if kind == ErrorKind.HTTP and text in ("", f"HTTP {int(status)}"):
        return status_line(status)
    if kind == ErrorKind.INVALID_RESPONSE:
        match = _NOT_JSON.match(text)
        if match:
            text = match[1]
    return normalise_message(text)


def group_errors(rec: np.ndarray, messages: list[str]) -> list[ErrorGroup]:
    """Failed records grouped by (label, normalised message), largest group first."""
    bad = rec[rec["error_kind"] != ErrorKind.OK]
    if bad.size == 0:
        return []
    # One int key per distinct (kind, status, message id): numpy does the counting.
    key = ((bad["error_kind"].astype(np.int64) << 48) | ((bad["status"].astype(np.int64) & 0xFFFF) << 32)
           | (bad["error_msg"].astype(np.int64) + 1))
    uniq, counts = np.unique(key, return_counts=True)
    groups: dict[tuple[str, str], list] = {}
    for k, n in zip(uniq.tolist(), counts.tolist(), strict=True):
        kind, status, msg_id = k >> 48, (k >> 32) & 0xFFFF, (k & 0xFFFFFFFF) - 1
        raw = messages[msg_id] if 0 <= msg_id < len(messages) else ""
        pattern = error_message(kind, status, raw)
        label = error_label(kind, status)
        entry = groups.setdefault((label, pattern), [status if kind == ErrorKind.HTTP else None,
                                                     error_type(kind, status), 0])
        entry[2] += n
    out = [ErrorGroup(label, code, typ, msg, n) for (label, msg), (code, typ, n) in groups.items()]
    return sorted(out, key=lambda g: (-g.count, g.label, g.message))


def distribution(rec: np.ndarray) -> Distribution | None:
    """Realised dataset distribution over every request sent in the phase."""
    passages = stats.record_stats(rec["passages"])
    if passages is None:
        return None
    known = (rec["query_tokens"] >= 0) & (rec["passage_tokens"] >= 0)
    per_passage = None
    n_passages = int(rec["passages"][known].sum())
    if known.any() and n_passages:
        per_passage = float(rec["passage_tokens"][known].sum()) / n_passages
    with_passages = rec[known & (rec["passages"] > 0)]
    request_means = stats.record_stats(with_passages["passage_tokens"] / with_passages["passages"])
    return Distribution(int(rec.size), passages, stats.record_stats(rec["query_tokens"][known]), per_passage,
                        request_means)


def dataset_entries(result: RunResult) -> int | None:
    """Distinct dataset entries the run used: the pool or file size when the dataset has one,
    else the distinct requests sent (every phase: warmup draws from the same dataset)."""
    entries = result.info.dataset.get("entries")
    if isinstance(entries, int) and entries > 0:
        return entries
    return int(np.unique(result.records["index"]).size) if result.records.size else None


def _warmup_window(rec: np.ndarray) -> int:
    return int(rec["end_ns"].max()) - int(rec["start_ns"].min()) if rec.size else 0


def _run_notes(result: RunResult) -> list[str]:
    notes = []
    if result.was_cancelled:
        notes.append("run cancelled before it finished: the numbers cover the requests recorded until then")
    if result.partial:
        notes.append("partial: records may be missing (a worker died, did not report in time or kept its records)")
    return notes + list(result.notes)


def summarize(result: RunResult) -> Summary:
    """The summary of a run: profiling-phase records only (warmup reported apart)."""
    rec = result.records
    prof = rec[rec["phase"] == PHASE_PROFILING]
    warm = rec[rec["phase"] == PHASE_WARMUP]
    info = result.info
    metrics = phase_metrics(prof, result.end_ns - result.start_ns, info)
    warmup = phase_metrics(warm, _warmup_window(warm), info) if warm.size else {}
    # records kept on workers' hosts: the figures are the merged summaries' (report/sketch_summary.py),
    # and what only the records held here could give is not computed
    whole = _whole_run(result)
    records_only = whole is None
    warning = rate_warning(metrics, info, int(prof.size))
    warnings = []
    saturated = saturation_warning(info, (result.end_ns - result.start_ns) / 1e9)
    warnings += [saturated] if saturated else []
    warnings += [f"goodput SLO {tag!r} ignored: supported are {', '.join(GOODPUT_TAGS)}"
                 for tag in unsupported_slos(info.goodput)]
    from rankperf_data.report.quality_report import quality_report  # it builds on this module's Metric

    quality = quality_report(prof, info) if records_only else None
    warnings += [quality.warning] if quality is not None and quality.warning else []
    server, server_note, server_warnings = server_side(result, metrics if records_only else whole.metrics)
    warnings += server_warnings
    from rankperf_data.report.latency_model import model_of_records

    model, table = model_of_records(prof[prof["error_kind"] == ErrorKind.OK]) if records_only else (None, [])
    from rankperf_data.report.timeslices import slice_duration, timeslices

    slices = timeslices(prof, slice_duration(info), result.end_ns, info) if records_only else []
    ramp = ramp_up(result)
    ramp_note = ramp_up_note(ramp)
    summary = Summary(
        timeslices=slices,
        latency_model=model,
        latency_table=table,
        server=server,
        server_note=server_note,
        metrics=metrics,
        warmup_metrics=warmup,
        errors=group_errors(prof, result.messages),
        distribution=distribution(prof),
        info=info,
        start_ns=result.start_ns,
        end_ns=result.end_ns,
        was_cancelled=result.was_cancelled,
        partial=result.partial,
        notes=_run_notes(result) + ([ramp_note] if ramp_note else []),
        warnings=([warning] if warning else []) + warnings,
        rate_not_achieved=warning is not None,
        dataset_entries=dataset_entries(result),
        late_start_threshold_ms=late_start_threshold_ms(float(info.request_rate)) if is_open_loop(info) else None,
        quality=quality,
        ramp_up=ramp,
    )
    if records_only:
        return summary
    from rankperf_data.report.sketch_summary import with_whole_run_figures  # it builds on this module

    return with_whole_run_figures(summary, whole, warnings)


def _whole_run(result: RunResult) -> Summary | None:
    """The merged summaries' figures when the result carries them, else None."""
    if result.merged_summaries is None:
        return None
    from rankperf_data.report.sketch_summary import whole_run  # it builds on this module

    return whole_run(result.merged_summaries, result.info.request_rate, result.info.arrival_pattern)


def server_side(result: RunResult, metrics: dict[str, Metric]) -> tuple[object | None, str | None, list[str]]:
    """Rows from the server's /metrics over the profiling window, a note on how, and scrape warnings."""
    if not result.server_metrics:
        return None, None, []
    from rankperf_data.report.server_metrics import ServerScrapes, compute_window
    from rankperf_data.report.server_rows import server_rows

    data = ServerScrapes.from_dict(result.server_metrics)
    window_s = (result.end_ns - result.start_ns) / 1e9 if result.end_ns > result.start_ns else None
    window = compute_window(data, "profiling", window_s)
    latency = metrics.get("request_latency")
    rows = server_rows(window, latency.stats.avg if latency else None, result.info.endpoint)
    return rows, server_note(rows, window), list(data.warnings)


def server_note(rows: ServerRows | None, window: Window | None) -> str | None:
    """Says where the server rows come from and how precise their percentiles are."""
    if rows is None or window is None:
        return None
    text = (f"server rows: {rows.flavour} /metrics, histogram_quantile over bucket increases of "
            f"{window.scrapes} scrapes of the profiling window (rates per client window); a percentile "
            "lies within its bucket")
    dur = rows.quantiles.get("server_request_duration", {}).get(0.99)
    if dur is not None:
        hi = "+Inf" if dur.at_least else f"{dur.upper * 1e3:,.3g}"
        text += f" (request duration p99 in ({dur.lower * 1e3:,.3g}, {hi}] ms)"
    if rows.resets:
        text += f"; {rows.resets} counter reset(s) seen (server restart?): counts before each reset are lost"
    return text
