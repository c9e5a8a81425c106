"""A Summary from Locust's own --csv output alone (a cross-check and fallback; percentiles approximate)."""

from __future__ import annotations

import ast
import csv
import re
from http import HTTPStatus
from pathlib import Path

from rankperf_data.redact import redact_text
from rankperf_data.report.metrics import (
    DEFINITIONS,
    ErrorGroup,
    Metric,
    Summary,
    error_message,
    normalise_message,
)
from rankperf_data.report.stats import RecordStats
from rankperf_data.results.outcomes import ErrorKind

# Locust percentile column -> our stat name (66%, 80%, 98%, 99.9%, 99.99% have no AIPerf slot).
PERCENTILE_COLUMNS = {"50%": "p50", "75%": "p75", "90%": "p90", "95%": "p95", "99%": "p99"}
NOTE = ("from Locust's CSV: latency includes failed requests (Locust times them too); "
        "Request Count and Request Throughput count successes only, as AIPerf does")

_CODE = re.compile(r"code=(\d{3})\b|HTTPError\('(\d{3}) |\bHTTP (\d{3})\b")
# Warmup requests are not measured. rankperf's users named them "<path> (warmup)" in Locust's stats
# (newer versions keep them out of Locust's stats altogether); CSVs with such rows are still read.
WARMUP_SUFFIX = " (warmup)"
# rankperf's failure as Locust prints it: RerankFailure('<label>: <message>'), label a status or a kind
_RERANK = re.compile(r"^RerankFailure\((.*)\)$", re.S)


class LocustCsvError(Exception):
    """The Locust CSV files are missing or not in Locust's layout."""


def _number(text: str | None) -> float | None:
    if text is None or text.strip() in ("", "N/A"):
        return None
    return float(text)


def _is_warmup(row: dict) -> bool:
    return (row.get("Name") or "").endswith(WARMUP_SUFFIX)


def _combine(rows: list[dict]) -> dict:
    """One row from several (warmup left out): counts and rates summed (Locust gives every row the
    same window), average weighted by count, min of mins, max of maxes. Percentiles cannot be
    rebuilt from per-row buckets, so they are left unknown (N/A)."""
    counted = [r for r in rows if int(r["Request Count"]) and _number(r["Average Response Time"]) is not None]
    out = {key: "N/A" for key in rows[0]}
    for key in ("Request Count", "Failure Count"):
        out[key] = str(sum(int(r[key]) for r in rows))
    for key in ("Requests/s", "Failures/s"):
        out[key] = str(sum(_number(r[key]) or 0.0 for r in rows))
    if counted:
        total = sum(int(r["Request Count"]) for r in counted)
        out["Average Response Time"] = str(sum(_number(r["Average Response Time"]) * int(r["Request Count"])
                                               for r in counted) / total)
        out["Min Response Time"] = str(min(_number(r["Min Response Time"]) for r in counted))
        out["Max Response Time"] = str(max(_number(r["Max Response Time"]) for r in counted))
    return out


def _pick_row(rows: list[dict], path: Path) -> tuple[dict, list[str]]:
    """The row that describes the measured requests, and notes on how it was obtained."""
    warmup = sorted(r.get("Name", "") for r in rows if _is_warmup(r))
    named = [r for r in rows if r.get("Name") != "Aggregated" and not _is_warmup(r)]
    if not warmup:
        for row in rows:
            if row.get("Name") == "Aggregated":
                return row, []
        if len(rows) == 1:
            return rows[0], []
        names = ", ".join(sorted({r.get("Name", "?") for r in rows})) or "none"
        raise LocustCsvError(f"{path}: no Aggregated row and not exactly one named row (rows: {names})")
    if not named:
        raise LocustCsvError(f"{path}: only warmup rows ({', '.join(warmup)}), no measured requests")
    # Locust's Aggregated row counts the warmup requests too: use the measured rows alone.
    notes = [f"warmup rows left out ({', '.join(warmup)}): the numbers are of the other rows"]
    if len(named) == 1:
        return named[0], notes
    notes.append("percentiles N/A: Locust merges the rows' response-time buckets only in its Aggregated "
                 "row, which includes the warmup")
    return _combine(named), notes


def _metric(tag: str, **kwargs) -> Metric:
    header, unit = DEFINITIONS[tag]
    return Metric(tag, header, unit, **kwargs)


def latency_metric(row: dict) -> Metric | None:
    """Exact avg/min/max, percentiles from Locust's int bucket columns (hence approximate)."""
    count = int(row["Request Count"])
    avg = _number(row["Average Response Time"])
    if not count or avg is None:
        return None
    pcts = {stat: _number(row.get(col)) for col, stat in PERCENTILE_COLUMNS.items()}
    stats = RecordStats(avg=avg, min=_number(row["Min Response Time"]), max=_number(row["Max Response Time"]),
                        sum=avg * count, count=count, **pcts)
    return _metric("request_latency", stats=stats, approximate=True)


def _rerank_group(error: str, count: int) -> ErrorGroup | None:
    """rankperf's own failure, RerankFailure('500: HTTP 500'), grouped as the records path groups it."""
    match = _RERANK.match(error)
    if not match:
        return None
    try:
        text = ast.literal_eval(match[1])
    except (ValueError, SyntaxError):
        return None
    if not isinstance(text, str):
        return None
    label, _, message = text.partition(": ")
    if label.isdigit():
        status = int(label)
        try:
            typ = HTTPStatus(status).phrase
        except ValueError:
            typ = f"HTTP {status}"
        return ErrorGroup(label, status, typ, error_message(ErrorKind.HTTP, status, message), count)
    kind = ErrorKind.__members__.get(label.upper())
    if kind is None:
        return None
    return ErrorGroup(label, None, label, error_message(kind, 0, message), count)


def _error_group(error: str, count: int) -> ErrorGroup:
    error = redact_text(error)  # Locust's error text can hold a URL with a key in it
    rerank = _rerank_group(error, count)
    if rerank is not None:
        return rerank
    match = _CODE.search(error)
    code = int(match[1] or match[2] or match[3]) if match else None
    if code is not None:
        try:
            typ = HTTPStatus(code).phrase
        except ValueError:
            typ = f"HTTP {code}"
        return ErrorGroup(str(code), code, typ, normalise_message(error), count)
    typ = error.split("(", 1)[0].strip() or "error"
    return ErrorGroup(typ, None, typ, normalise_message(error), count)


def read_failures(path: Path) -> list[ErrorGroup]:
    """PREFIX_failures.csv (Method,Name,Error,Occurrences,...) grouped like our own errors."""
    if not path.is_file():
        return []
    merged: dict[tuple[str, str], ErrorGroup] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            if _is_warmup(row):
                continue
            g = _error_group(row["Error"], int(row["Occurrences"]))
            key = (g.label, g.message)
            if key in merged:
                g = ErrorGroup(g.label, g.code, g.type, g.message, merged[key].count + g.count)
            merged[key] = g
    return sorted(merged.values(), key=lambda g: (-g.count, g.label, g.message))


def summary_from_locust_csv(prefix: str | Path) -> Summary:
    """Summary from PREFIX_stats.csv (+ PREFIX_failures.csv when present)."""
    stats_path = Path(f"{prefix}_stats.csv")
    if not stats_path.is_file():
        raise LocustCsvError(f"{stats_path}: not found (pass the same PREFIX as locust --csv PREFIX)")
    with stats_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "Request Count" not in rows[0]:
        raise LocustCsvError(f"{stats_path}: not a Locust stats CSV")
    row, notes = _pick_row(rows, stats_path)
    total, failures = int(row["Request Count"]), int(row["Failure Count"])
    rps, fps = _number(row["Requests/s"]) or 0.0, _number(row["Failures/s"]) or 0.0
    metrics: dict[str, Metric] = {}
    latency = latency_metric(row)
    if latency is not None:
        metrics["request_latency"] = latency
    if rps > 0:
        # Locust's Requests/s = all requests / its window; successes share the same window.
        metrics["request_throughput"] = _metric("request_throughput", value=rps - fps)
    metrics["request_count"] = _metric("request_count", value=float(total - failures))
    metrics["completed_request_count"] = _metric("completed_request_count", value=float(total))
    if failures:
        metrics["error_request_count"] = _metric("error_request_count", value=float(failures))
    if total:
        metrics["request_error_rate"] = _metric("request_error_rate", value=100.0 * failures / total)
    if rps > 0:
        metrics["benchmark_duration"] = _metric("benchmark_duration", value=total / rps)
    return Summary(metrics=metrics, errors=read_failures(Path(f"{prefix}_failures.csv")), notes=[NOTE, *notes],
                   source="locust_csv", approximate=True)
