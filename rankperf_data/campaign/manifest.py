"""campaign.json: the plan of a campaign (points, trials, layout, SLA filters), so that every aggregate
can be rebuilt from the run folders it names. It holds no measurements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson

from rankperf_data.campaign.flags import CampaignConfig
from rankperf_data.campaign.plan import Point, run_dir
from rankperf_data.campaign.sla import SlaFilter, parse_filter

MANIFEST = "campaign.json"
SEARCH_PATHS = {"max-concurrency-under-sla": "phases.profiling.concurrency",
                "max-rate-under-sla": "phases.profiling.rate"}


@dataclass
class Manifest:
    kind: str  # single | trials | sweep | search
    points: list[Point]
    trials: int = 1
    mode: str = "repeated"
    confidence: float = 0.95
    filters: list[SlaFilter] = field(default_factory=list)
    recipe: str | None = None
    search: dict = field(default_factory=dict)  # path, lo, hi, integer, max_iterations
    status: str = "running"  # running | complete | interrupted
    reason: str = ""  # the search's convergence reason, once it ended
    cooldown: float = 0.0

    @classmethod
    def from_config(cls, cfg: CampaignConfig) -> Manifest:
        kind = "search" if cfg.recipe else "sweep" if cfg.is_sweep else "trials"
        search = {}
        if cfg.recipe:
            search = {"path": SEARCH_PATHS[cfg.recipe], "lo": cfg.search_lo, "hi": cfg.search_hi,
                      "integer": cfg.recipe == "max-concurrency-under-sla", "max_iterations": cfg.max_iterations}
        return cls(kind, cfg.points, cfg.trials, cfg.mode, cfg.confidence, cfg.filters, cfg.recipe, search,
                   cooldown=cfg.trial_cooldown)

    def to_json(self) -> dict:
        return {"kind": self.kind, "trials": self.trials, "mode": self.mode, "confidence_level": self.confidence,
                "points": [{"index": p.index, "values": p.values, "seed": p.seed, "dir_name": p.dir_name}
                           for p in self.points],
                "sla_filters": [str(f) for f in self.filters], "recipe": self.recipe, "search": self.search,
                "status": self.status, "convergence_reason": self.reason, "cooldown_seconds": self.cooldown}

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        pts = [Point(p["index"], p["values"], p["seed"]) for p in data["points"]]
        filters = [parse_filter(text) for text in data.get("sla_filters", [])]
        return cls(data["kind"], pts, data["trials"], data["mode"], data["confidence_level"], filters,
                   data.get("recipe"), data.get("search") or {}, data.get("status", "running"),
                   data.get("convergence_reason", ""), data.get("cooldown_seconds", 0.0))

    def write(self, base: Path) -> None:
        base.mkdir(parents=True, exist_ok=True)
        tmp = base / (MANIFEST + ".tmp")
        tmp.write_bytes(orjson.dumps(self.to_json(), option=orjson.OPT_INDENT_2))
        tmp.replace(base / MANIFEST)

    def cells(self, base: Path) -> list[tuple[Point, list[Path]]]:
        """Every sweep point with its trial folders (trial 1 first)."""
        return [(p, [run_dir(base, p, t, self.trials, self.mode) for t in range(1, self.trials + 1)])
                for p in self.points]


def read_manifest(base: Path) -> Manifest | None:
    path = Path(base) / MANIFEST
    if not path.is_file():
        return None
    return Manifest.from_json(orjson.loads(path.read_bytes()))
