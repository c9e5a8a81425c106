"""A Summary from Locust's own --csv output alone (a cross-check and fallback; percentiles approximate)."""

from __future__ import annotations

import csv
import re
from http import HTTPStatus
from pathlib import Path

from rankperf_data.report.artifacts import redact_text
from rankperf_data.report.metrics import DEFINITIONS, ErrorGroup, Metric, Summary, normalise_message
from rankperf_data.report.stats import RecordStats

# Locust percentile column -> our stat name (66%, 80%, 98%, 99.9%, 99.99% have no AIPerf slot).
PERCENTILE_COLUMNS = {"50%": "p50", "75%": "p75", "90%": "p90", "95%": "p95", "99%": "p99"}
NOTE = ("from Locust's CSV: latency includes failed requests (Locust times them too); "
        "Request Count and Request Throughput count successes only, as AIPerf does")

_CODE = re.compile(r"code=(\d{3})\b|HTTPError\('(\d{3}) ")


class LocustCsvError(Exception):
    """The Locust CSV files are missing or not in Locust's layout."""


def _number(text: str | None) -> float | None:
    if text is None or text.strip() in ("", "N/A"):
        return None
    return float(text)


def _pick_row(rows: list[dict], path: Path) -> dict:
    for row in rows:
        if row.get("Name") == "Aggregated":
            return row
    if len(rows) == 1:
        return rows[0]
    names = ", ".join(sorted({r.get("Name", "?") for r in rows})) or "none"
    raise LocustCsvError(f"{path}: no Aggregated row and not exactly one named row (rows: {names})")


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


def _error_group(error: str, count: int) -> ErrorGroup:
    error = redact_text(error)  # Locust's error text can hold a URL with a key in it
    match = _CODE.search(error)
    code = int(match[1] or match[2]) if match else None
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
    row = _pick_row(rows, stats_path)
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
    return Summary(metrics=metrics, errors=read_failures(Path(f"{prefix}_failures.csv")), notes=[NOTE],
                   source="locust_csv", approximate=True)
