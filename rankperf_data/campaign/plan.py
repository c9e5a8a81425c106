"""The points of a sweep and the folders of every run: AIPerf's magic lists, grid/zip, seeds, layout."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path

# Option dest -> (parameter name in aggregates, folder segment prefix, value type). AIPerf's names for
# its magic lists; rankings_passages_mean is rankperf's own (AIPerf needs --variant for it).
SWEEPABLE: dict[str, tuple[str, str, type]] = {
    "concurrency": ("concurrency", "concurrency", int),
    "request_rate": ("rate", "rate", float),
    "request_count": ("requests", "requests", int),
    "benchmark_duration": ("duration", "duration", float),
    "rankings_passages_mean": ("rankings_passages_mean", "rankings_passages_mean", int),
}
DEFAULT_CAMPAIGN_SEED = 42  # AIPerf's seed when a sweep or trials run without --random-seed
_UNSAFE = str.maketrans("", "", '/\\<>:"|?*')


class SweepList(tuple):
    """A flag given as a comma list of two or more values (a sweep), as opposed to one value."""


@dataclass(frozen=True)
class Point:
    """One variation: its swept values (by option dest), its folder name and its seed."""

    index: int
    values: dict[str, float | int] = field(default_factory=dict)
    seed: int | None = None

    @property
    def dir_name(self) -> str:
        parts = []
        for dest in sorted(self.values, key=lambda d: SWEEPABLE[d][0]):
            value = self.values[dest]
            text = f"{float(value)}" if SWEEPABLE[dest][2] is float else f"{int(value)}"
            parts.append(f"{SWEEPABLE[dest][1]}_{text}".translate(_UNSAFE).replace("..", ""))
        return "__".join(parts)

    @property
    def parameters(self) -> dict[str, float | int]:
        """The swept values under their aggregate names (AIPerf's leaf names)."""
        return {SWEEPABLE[d][0]: v for d, v in sorted(self.values.items(), key=lambda kv: SWEEPABLE[kv[0]][0])}

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.parameters.items())


def points(lists: dict[str, tuple], sweep_type: str, base_seed: int | None, same_seed: bool) -> list[Point]:
    """The sweep's points: the grid (Cartesian product) or zip of the lists, names sorted as AIPerf
    does; point i gets seed base+i unless same_seed (grid only: AIPerf ignores it for zip)."""
    dests = sorted(lists, key=lambda d: SWEEPABLE[d][0])
    if sweep_type == "zip":
        lengths = {len(lists[d]) for d in dests}
        if len(lengths) > 1:
            raise ValueError("--sweep-type zip needs lists of equal length: "
                             + ", ".join(f"{d} has {len(lists[d])}" for d in dests))
        combos = list(zip(*(lists[d] for d in dests), strict=True))
        same_seed = False
    else:
        combos = list(itertools.product(*(lists[d] for d in dests)))
    out = []
    for i, combo in enumerate(combos):
        seed = None if base_seed is None else (base_seed if same_seed else base_seed + i)
        out.append(Point(i, dict(zip(dests, combo, strict=True)), seed))
    return out


def trial_seed(seed: int, label: str, trial: int, vary: bool) -> int:
    """The seed of one trial: the point's seed, or (--vary-seed-per-trial) AIPerf's derivation, the first
    8 bytes of SHA-256('{seed}:variation:{label}:trial:{t}') as a non-negative int64."""
    if not vary:
        return seed
    digest = hashlib.sha256(f"{seed}:variation:{label}:trial:{trial}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def run_dir(base: Path, point: Point | None, trial: int, trials: int, mode: str) -> Path:
    """AIPerf's folder of one (variation, trial) run; trial is 1-based."""
    if point is None or not point.values:
        return base / "profile_runs" / f"run_{trial:04d}" if trials > 1 else base
    if trials == 1:
        return base / point.dir_name
    if mode == "independent":
        return base / point.dir_name / "profile_runs" / f"trial_{trial:04d}"
    return base / "profile_runs" / f"trial_{trial:04d}" / point.dir_name


def search_run_dir(base: Path, iteration: int, trial: int) -> Path:
    return base / f"search_iter_{iteration:04d}" / "profile_runs" / f"run_{trial:04d}"
