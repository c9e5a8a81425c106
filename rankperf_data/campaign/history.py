"""search_history.json: every iteration of a search and the boundary, from the search_iter_* folders."""

from __future__ import annotations

from pathlib import Path

from rankperf_data.campaign.manifest import Manifest
from rankperf_data.campaign.runs import RunValues, read_run
from rankperf_data.campaign.sla import first_breach

HISTORY = "search_history.json"


def _mean(runs: list[RunValues], tag: str) -> float | None:
    vals = [r.values[tag]["avg"] for r in runs if r.successful and tag in r.values]
    return sum(vals) / len(vals) if vals else None


def _breach(run: RunValues, manifest: Manifest) -> dict | None:
    if not run.successful:
        return {"observed": None, "error": "no successful request"}
    return first_breach(manifest.filters, run.values)


def read_iterations(base: Path, manifest: Manifest) -> list[dict]:
    """One entry per search_iter_NNNN folder with at least one run: value, verdict, throughputs."""
    out = []
    for folder in sorted(base.glob("search_iter_[0-9][0-9][0-9][0-9]")):
        runs = [read_run(d, d.name, manifest.filters) for d in sorted((folder / "profile_runs").glob("run_*"))]
        runs = [r for r in runs if r.error is None and r.complete]
        if not runs:
            continue
        integer = manifest.search["integer"]
        value = runs[0].concurrency if integer else runs[0].request_rate
        breaches = [_breach(r, manifest) for r in runs]
        feasible = any(b is None for b in breaches)  # AIPerf: one passing trial makes the iteration feasible
        out.append({"iteration_idx": int(folder.name.rsplit("_", 1)[1]), "value": value, "feasible": feasible,
                    "first_breach": None if feasible else breaches[0], "trials": len(runs),
                    "request_throughput": _mean(runs, "request_throughput"),
                    "passage_throughput": _mean(runs, "passage_throughput"), "runs": runs})
    return out


def boundary(iterations: list[dict]) -> tuple[dict | None, dict | None]:
    """(feasible_max, infeasible_min): the lowest value that ever failed, and the highest value below it
    that never failed."""
    failed = [it for it in iterations if not it["feasible"]]
    imin = min(failed, key=lambda it: (it["value"], it["iteration_idx"]), default=None)
    bad = {it["value"] for it in failed}
    passing = [it for it in iterations if it["feasible"] and it["value"] not in bad
               and (imin is None or it["value"] < imin["value"])]
    fmax = max(passing, key=lambda it: (it["value"], it["iteration_idx"]), default=None)
    return fmax, imin


def search_history(its: list[dict], manifest: Manifest) -> dict:
    """The history of the iterations read by read_iterations."""
    path = manifest.search["path"]
    fmax, imin = boundary(its)
    seen: set = set()
    iterations = []
    for it in its:
        iterations.append({"iteration_idx": it["iteration_idx"], "variation_values": {path: it["value"]},
                           "objective_values": [it["request_throughput"]], "feasible": it["feasible"],
                           "non_monotonic_warning": _contradicts(it, its), "confirmation": it["value"] in seen,
                           "passage_throughput": it["passage_throughput"], "first_breach": it["first_breach"]})
        seen.add(it["value"])
    summary = {"swept_dim_path": path, "feasible_max": None, "infeasible_min": None}
    if fmax:
        summary["feasible_max"] = {"value": fmax["value"], "iteration_idx": fmax["iteration_idx"],
                                   "objective_value": fmax["request_throughput"],
                                   "passage_throughput": fmax["passage_throughput"]}
    if imin:
        summary["infeasible_min"] = {"value": imin["value"], "iteration_idx": imin["iteration_idx"],
                                     "first_breach": imin["first_breach"]}
    feasible = [i for i in iterations if i["feasible"] and i["objective_values"][0] is not None]
    best = max(feasible, key=lambda i: i["objective_values"][0], default=None)
    return {"config": {"planner": "bisection", "objectives": [{"metric": "request_throughput", "stat": "avg",
                                                                "direction": "MAXIMIZE", "threshold": None}],
                       "max_iterations": manifest.search["max_iterations"], "num_profile_runs": manifest.trials,
                       "search_space": [{"path": path, "lo": manifest.search["lo"], "hi": manifest.search["hi"],
                                         "kind": "int" if manifest.search["integer"] else "real"}],
                       "sla_filters": [f.to_json() for f in manifest.filters]},
            "iterations": iterations,
            "best_trials": None if best is None else [{**{k: best[k] for k in ("iteration_idx", "objective_values",
                                                                                "variation_values", "feasible")},
                                                       "feasible_count": len(feasible), "pareto_rank": 0}],
            "boundary_summary": summary, "recipe": manifest.recipe,
            "convergence_reason": manifest.reason or ("interrupted" if manifest.status == "interrupted" else "")}


def _contradicts(it: dict, its: list[dict]) -> bool:
    earlier = [o for o in its if o["iteration_idx"] < it["iteration_idx"]]
    if it["feasible"]:
        return any(not o["feasible"] and o["value"] <= it["value"] for o in earlier)
    return any(o["feasible"] and o["value"] >= it["value"] for o in earlier)
