"""The sweep aggregate: one row per configuration, best configurations, Pareto set, SLA counts."""

from __future__ import annotations

import csv
import io

import orjson

from rankperf_data.campaign.aggregate import (
    _json_safe,
    _num,
    best_configurations,
    cell_verdict,
    confidence_metrics,
    dump,
    pareto,
)
from rankperf_data.campaign.plan import SWEEPABLE, Point
from rankperf_data.campaign.runs import RunValues
from rankperf_data.campaign.sla import SlaFilter

SWEEP_NAME = "profile_export_aiperf_sweep"
CELL_KEYS = ("mean", "std", "min", "max", "cv", "ci_low", "ci_high", "unit")


def sweep_cells(cells: list[tuple[Point, list[RunValues]]], confidence: float,
                filters: list[SlaFilter]) -> list[dict]:
    out = []
    for point, runs in cells:
        full = confidence_metrics(runs, confidence)
        row = {"parameters": point.parameters,
               "metrics": {k: {s: m[s] for s in CELL_KEYS} for k, m in full.items()},
               "num_runs": len(runs), "num_successful_runs": sum(r.successful for r in runs)}
        if filters:
            breach = cell_verdict(full, filters) if row["num_successful_runs"] else {"observed": None}
            row["feasible"] = breach is None
            row["first_breach"] = breach
        out.append(row)
    return out


def sweep_aggregate(cells: list[tuple[Point, list[RunValues]]], confidence: float, trials: int, mode: str,
                    filters: list[SlaFilter], partial: bool) -> dict:
    rows = sweep_cells(cells, confidence, filters)
    runs = [r for _, rs in cells for r in rs]
    dests = sorted({d for p, _ in cells for d in p.values}, key=lambda d: SWEEPABLE[d][0])
    meta = {"sweep_parameters": [{"name": SWEEPABLE[d][0], "values": sorted({p.values[d] for p, _ in cells})}
                                 for d in dests],
            "num_combinations": len(rows), "sweep_mode": mode, "confidence_level": confidence,
            "num_trials_per_value": trials, "aggregation_type": "sweep"}
    chosen = rows
    if filters:
        feasible = [r for r in rows if r["feasible"]]
        meta["sla_constraints"] = {"active_filters": [f.to_json() for f in filters],
                                   "feasible_count": len(feasible), "infeasible_count": len(rows) - len(feasible)}
        chosen = feasible or rows  # best configurations fall back to all cells, as AIPerf's
    if partial:
        meta["partial"] = True
    with_data = [r for r in chosen if r["metrics"]]
    return {"aggregation_type": "sweep", "num_profile_runs": len(runs),
            "num_successful_runs": sum(r.successful for r in runs),
            "failed_runs": [{"label": r.label, "error": r.error or "no successful request"}
                            for r in runs if not r.successful],
            "metadata": meta, "per_combination_metrics": rows,
            "best_configurations": best_configurations(with_data),
            "pareto_optimal": pareto([r for r in rows if r["metrics"] and r.get("feasible", True)])}


def sweep_csv(data: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    rows = data["per_combination_metrics"]
    params = [p["name"] for p in data["metadata"]["sweep_parameters"]]
    keys = sorted({k for r in rows for k in r["metrics"]})
    stats = ("mean", "std", "min", "max", "cv")
    w.writerow([*params, *(f"{k}_{s}" for k in keys for s in stats)])
    for r in rows:
        cells = []
        for k in keys:
            m = r["metrics"].get(k, {})
            cells += [_num(m.get(s), 4 if s == "cv" else 2) for s in stats]
        w.writerow([r["parameters"].get(p, "") for p in params] + cells)
    w.writerow([])
    w.writerow(["Best Configurations"])
    for name, best in data["best_configurations"].items():
        w.writerow([name, orjson.dumps(best["parameters"]).decode(), _num(best["metric"]), best["unit"]])
    w.writerow([])
    w.writerow(["Pareto Optimal Points"])
    for point in data["pareto_optimal"] or ["None"]:
        w.writerow([point if point == "None" else orjson.dumps(point).decode()])
    w.writerow([])
    w.writerow(["Metadata"])
    for key, value in data["metadata"].items():
        w.writerow([key, orjson.dumps(_json_safe(value)).decode() if isinstance(value, (list, dict)) else value])
    return buf.getvalue()


def write_sweep(folder, data: dict) -> list:
    json_path = dump(folder / f"{SWEEP_NAME}.json", data)
    csv_path = folder / f"{SWEEP_NAME}.csv"
    csv_path.write_text(sweep_csv(data))
    return [json_path, csv_path]
