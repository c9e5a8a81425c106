"""Every aggregate of a campaign, (re)written from its manifest and run folders: what the campaign
writes after each point and what `rankperf report DIR` rebuilds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rankperf_data.campaign.aggregate import confidence_aggregate, dump, write_confidence
from rankperf_data.campaign.history import HISTORY, read_iterations, search_history
from rankperf_data.campaign.manifest import Manifest
from rankperf_data.campaign.plan import Point
from rankperf_data.campaign.runs import RunValues, read_run
from rankperf_data.campaign.sweep import sweep_aggregate, write_sweep


@dataclass
class Rebuilt:
    manifest: Manifest
    cells: list[tuple[Point, list[RunValues]]] = field(default_factory=list)
    sweep: dict | None = None
    history: dict | None = None
    iterations: list[dict] = field(default_factory=list)  # a search's, with their runs
    paths: list[Path] = field(default_factory=list)


def _label(base: Path, path: Path) -> str:
    return str(path.relative_to(base)) if path != base else "."


def read_cells(base: Path, manifest: Manifest) -> list[tuple[Point, list[RunValues]]]:
    """Each point with its finished runs (folders not run yet, or interrupted, are left out)."""
    out = []
    for point, dirs in manifest.cells(base):
        runs = [read_run(d, _label(base, d), manifest.filters) for d in dirs if (d / "run.json").exists()]
        out.append((point, [r for r in runs if r.complete]))
    return out


def sweep_dir(base: Path, m: Manifest) -> Path:
    return base / "aggregate" / "sweep_aggregate" if m.trials > 1 and m.mode == "repeated" \
        else base / "sweep_aggregate"


def config_aggregate_dir(base: Path, m: Manifest, point: Point) -> Path:
    if m.kind != "sweep":
        return base / "aggregate"
    return base / point.dir_name / "aggregate" if m.mode == "independent" else base / "aggregate" / point.dir_name


def rebuild(base: Path, manifest: Manifest) -> Rebuilt:
    out = Rebuilt(manifest)
    partial = manifest.status != "complete"
    if manifest.kind == "search":
        out.iterations = read_iterations(base, manifest)
        out.history = search_history(out.iterations, manifest)
        out.paths.append(dump(base / HISTORY, out.history))
        for it in out.iterations:  # AIPerf's per-variation aggregate, one per iteration
            name = f"search_iter_{it['iteration_idx']:04d}"
            data = confidence_aggregate(it["runs"], manifest.confidence, manifest.cooldown, partial,
                                        {"variation_label": name, "variation_values": {manifest.search["path"]: it["value"]}})
            out.paths += write_confidence(base / "aggregate" / name, data)
        return out
    out.cells = read_cells(base, manifest)
    for point, runs in out.cells:
        if not runs:
            continue
        extra = {"variation_label": point.label, "variation_values": point.parameters,
                 "sweep_mode": manifest.mode} if manifest.kind == "sweep" else {}
        if manifest.kind == "sweep" or manifest.trials > 1:
            data = confidence_aggregate(runs, manifest.confidence, manifest.cooldown, partial, extra)
            out.paths += write_confidence(config_aggregate_dir(base, manifest, point), data)
    if manifest.kind == "sweep":
        done = [(p, rs) for p, rs in out.cells if rs]
        out.sweep = sweep_aggregate(done, manifest.confidence, manifest.trials, manifest.mode,
                                    manifest.filters, partial)
        out.paths += write_sweep(sweep_dir(base, manifest), out.sweep)
    return out
