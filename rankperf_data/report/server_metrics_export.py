"""server_metrics_export.{json,csv} in AIPerf's shape, from the profiling (and warmup) windows."""

from __future__ import annotations

import csv
import io

from rankperf_data import __version__
from rankperf_data.report.export import iso_local
from rankperf_data.report.server_metrics import FamilyStats, ServerScrapes, Window, unit_of

SCHEMA_VERSION = "1.1"
JSON_FILE = "server_metrics_export.json"
CSV_FILE = "server_metrics_export.csv"
CSV_STATS = {
    "gauge": ("avg", "min", "max", "p50", "p99"),
    "counter": ("total", "rate"),
    "histogram": ("count", "sum", "avg", "count_rate", "sum_rate", "p50_estimate", "p90_estimate",
                  "p95_estimate", "p99_estimate"),
    "unknown": ("avg", "min", "max", "p50", "p99"),
}


def _families_json(window: Window) -> dict:
    out = {}
    for name, fam in sorted(window.families.items()):
        entry: dict = {"type": fam.type, "description": fam.help}
        unit = unit_of(name, fam.type)
        if unit:
            entry["unit"] = unit
        series = []
        for s in fam.series:
            item: dict = {"endpoint_url": s.endpoint_url}
            if s.labels:
                item["labels"] = s.labels
            item["stats"] = s.stats
            if s.buckets is not None:
                item["buckets"] = {k: s.buckets[k] for k in sorted(s.buckets, key=float)}
                item["bucket_bounds"] = {f"p{round(q * 100)}": est.to_dict()["bucket"]
                                         for q, est in s.quantiles.items()}
            if s.resets:
                item["counter_resets"] = s.resets
            series.append(item)
        entry["series"] = series
        out[name] = entry
    return out


def to_json(data: ServerScrapes, profiling: Window | None, warmup: Window | None, benchmark_id: str) -> dict:
    """AIPerf's server-metrics JSON: summary, the profiling window's metrics, warmup apart."""
    ranges = {}
    for w in (warmup, profiling):
        if w is not None:
            ranges[w.phase] = {"start_ns": w.start_ns, "end_ns": w.end_ns}
    scrapes, first_ns, last_ns = data.scrape_times()
    out: dict = {
        "schema_version": SCHEMA_VERSION, "rankperf_version": __version__, "benchmark_id": benchmark_id,
        "summary": {"endpoints_configured": list(data.configured), "endpoints_successful": list(data.successful),
                    "start_time": iso_local(first_ns) if scrapes else None,
                    "end_time": iso_local(last_ns) if scrapes else None,
                    "phase_time_ranges": ranges,
                    "collection_interval_s": data.interval_s, "scrapes": scrapes,
                    "warnings": list(data.warnings)},
        "metrics_phase": "profiling",
        "metrics": _families_json(profiling) if profiling is not None else {},
    }
    if warmup is not None:
        out["warmup_metrics"] = _families_json(warmup)
    return out


def _csv_rows(fam: FamilyStats, kind: str) -> list[list[str]]:
    rows = []
    for s in fam.series:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        rows.append([s.endpoint_url, fam.name, labels, *(_fmt(s.stats.get(c)) for c in CSV_STATS[kind])])
    return rows


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def to_csv(data: ServerScrapes, profiling: Window | None) -> str:
    """One section per metric type (gauge, counter, histogram, unknown), then the endpoints."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    families = profiling.families if profiling is not None else {}
    for kind in ("gauge", "counter", "histogram", "unknown"):
        fams = [f for _, f in sorted(families.items()) if f.type == kind]
        if not fams:
            continue
        w.writerow(["Endpoint", "Metric", "Labels", *CSV_STATS[kind]])
        for fam in fams:
            w.writerows(_csv_rows(fam, kind))
        w.writerow([])
    w.writerow(["Field", "Value"])
    w.writerow(["endpoints_configured", " ".join(data.configured)])
    w.writerow(["endpoints_successful", " ".join(data.successful)])
    w.writerow(["collection_interval_s", data.interval_s])
    return buf.getvalue()
