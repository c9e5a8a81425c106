"""One run's configuration: load settings, dataset config and the seed, parsed and validated once.

The master (or ``rankperf profile``, or a local run) parses the options into a RunConfig, with a
concrete seed; workers get its wire form (option values + seed) and rebuild the same RunConfig.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rankperf_data.dataset.config import FRESH_SEED, DatasetConfig
from rankperf_data.dataset.source import Dataset, build_dataset
from rankperf_data.load.settings import LoadSettings, require_finite


@dataclass(frozen=True)
class RunConfig:
    """Option values (by dest, secrets left out) and what every process parses them into."""

    values: dict[str, Any]
    settings: LoadSettings
    dataset: DatasetConfig  # its random_seed is concrete: the run's seed

    @property
    def seed(self) -> int:
        return self.dataset.random_seed

    @classmethod
    def parse(cls, values: Mapping[str, Any], seed: int | None = None,
              check_target: Callable[[LoadSettings], None] | None = None) -> RunConfig:
        """Parse and check the options (InputError on anything wrong). ``seed``: the run's concrete
        seed, when one is already chosen; otherwise the option's (-1 picks a fresh one here).
        ``check_target`` runs on the settings before the dataset options are read, so a bad
        target is the one line said, before any dataset notice."""
        settings = LoadSettings.from_values(values)
        if check_target is not None:
            check_target(settings)
        raw = values.get("random_seed", FRESH_SEED) if seed is None else seed
        return cls(dict(values), settings, DatasetConfig.from_options({**values, "random_seed": raw}))

    def build_dataset(self) -> Dataset:
        """The run's dataset (reads and checks an input file); InputError on bad input."""
        dataset = build_dataset(self.dataset)
        require_finite(self.settings, dataset)
        return dataset

    def to_wire(self) -> dict[str, Any]:
        """What the master sends every worker (msgpack-able)."""
        return {"values": self.values, "seed": self.seed}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> RunConfig:
        return cls.parse(data["values"], int(data["seed"]))
