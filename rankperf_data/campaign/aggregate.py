"""Aggregates computed from run folders only: confidence (per configuration) and sweep files.

Shapes follow AIPerf 0.13.0 (profile_export_aiperf_aggregate.*, profile_export_aiperf_sweep.*);
rankperf fills best_configurations and pareto_optimal for one trial per value too, and adds
passages/s. Keys are '<tag>_<stat>' whatever the number of trials.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import orjson

from rankperf_data import __version__
from rankperf_data.campaign.confidence import confidence_stats
from rankperf_data.campaign.runs import RunValues
from rankperf_data.campaign.sla import SlaFilter, first_breach

STAT_KEYS = ("avg", "min", "max", "sum", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "std")
AGGREGATE_NAME = "profile_export_aiperf_aggregate"
THROUGHPUT = "request_throughput_avg"
PASSAGES = "passage_throughput_avg"
LATENCY_P99 = "request_latency_p99"


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def dump(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(_json_safe(data), option=orjson.OPT_INDENT_2))
    return path


def confidence_metrics(runs: list[RunValues], confidence: float) -> dict[str, dict]:
    """{'<tag>_<stat>': {mean, std, min, max, cv, se, ci_low, ci_high, t_critical, unit}} over the
    successful runs."""
    ok = [r for r in runs if r.successful]
    units = {t: u for r in ok for t, u in r.units.items()}
    out: dict[str, dict] = {}
    for tag in sorted({t for r in ok for t in r.values}):
        for stat in STAT_KEYS:
            payload = confidence_stats([r.values.get(tag, {}).get(stat) for r in ok], confidence)
            if payload is not None:
                out[f"{tag}_{stat}"] = {**payload, "unit": units.get(tag, "")}
    return out


def confidence_aggregate(runs: list[RunValues], confidence: float, cooldown: float, partial: bool,
                         extra: dict | None = None) -> dict:
    ok = [r for r in runs if r.successful]
    meta = {"aggregation_type": "confidence", "num_profile_runs": len(runs), "num_successful_runs": len(ok),
            "failed_runs": [{"label": r.label, "error": r.error or "no successful request"}
                            for r in runs if not r.successful],
            "confidence_level": confidence, "run_labels": [r.label for r in runs], "cooldown_seconds": cooldown}
    if len(ok) == 1:
        meta["single_run"] = True
    if partial:
        meta["partial"] = True
    meta.update(extra or {})
    return {"schema_version": "1.0", "aiperf_version": "0.13.0", "rankperf_version": __version__,
            "metadata": meta, "metrics": confidence_metrics(runs, confidence)}


def _num(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return f"{value:.{digits}f}"


def confidence_csv(data: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["metric", "mean", "std", "min", "max", "cv", "se", "ci_low", "ci_high", "t_critical", "unit"])
    for key, m in data["metrics"].items():
        w.writerow([key, *(_num(m[k], 4 if k in ("cv", "t_critical") else 2)
                           for k in ("mean", "std", "min", "max", "cv", "se", "ci_low", "ci_high", "t_critical")),
                    m["unit"]])
    w.writerow([])
    for key, value in data["metadata"].items():
        w.writerow([key, orjson.dumps(_json_safe(value)).decode() if isinstance(value, (list, dict)) else value])
    return buf.getvalue()


def write_confidence(folder: Path, data: dict) -> list[Path]:
    json_path = dump(folder / f"{AGGREGATE_NAME}.json", data)
    csv_path = folder / f"{AGGREGATE_NAME}.csv"
    csv_path.write_text(confidence_csv(data))
    return [json_path, csv_path]


def cell_verdict(metrics: dict[str, dict], filters: list[SlaFilter]) -> dict | None:
    """The first breach of a sweep cell, judged on the mean across its trials (AIPerf's rule)."""
    values: dict[str, dict[str, float]] = {}
    for key, m in metrics.items():
        tag, _, stat = key.rpartition("_")
        values.setdefault(tag, {})[stat] = m["mean"]
    return first_breach(filters, values)


def _mean(metrics: dict, key: str) -> float | None:
    m = metrics.get(key)
    return None if m is None else m["mean"]


def pareto(cells: list[dict]) -> list[dict]:
    """Cells not dominated on (highest request throughput, lowest p99 latency)."""
    pts = [(c, _mean(c["metrics"], THROUGHPUT), _mean(c["metrics"], LATENCY_P99)) for c in cells]
    pts = [(c, t, lat) for c, t, lat in pts if t is not None and lat is not None]
    front = []
    for c, t, lat in pts:
        dominated = any(t2 >= t and l2 <= lat and (t2 > t or l2 < lat) for _, t2, l2 in pts)
        if not dominated:
            front.append(c["parameters"])
    return front


def best_configurations(cells: list[dict]) -> dict:
    def best(key: str, pick, unit: str) -> dict | None:
        scored = [(c, _mean(c["metrics"], key)) for c in cells if _mean(c["metrics"], key) is not None]
        if not scored:
            return None
        c, value = pick(scored, key=lambda cv: cv[1])
        return {"parameters": c["parameters"], "metric": value, "unit": unit}

    out = {"best_throughput": best(THROUGHPUT, max, "requests/sec"),
           "best_latency_p99": best(LATENCY_P99, min, "ms"),
           "best_passage_throughput": best(PASSAGES, max, "passages/sec")}
    return {k: v for k, v in out.items() if v is not None}
