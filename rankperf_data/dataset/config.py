"""DatasetConfig: the data options, checked for conflicts, with the random seed made concrete."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rankperf_data.dataset.errors import InputError
from rankperf_data.dataset.notices import say_once
from rankperf_data.dataset.order import STRATEGIES
from rankperf_data.options import BY_DEST, ISL, SYNTHETIC_SHAPE, conflict
from rankperf_data.options import flag as option_flag
from rankperf_data.options import value as option_value

# Synthetic-only options (dest -> flag), in the order messages name them.
RANKINGS_OPTIONS: dict[str, str] = {dest: option_flag(dest) for dest in SYNTHETIC_SHAPE}
_DESTS = (
    "model",
    "tokenizer",
    "random_seed",
    "num_dataset_entries",
    "input_file",
    "custom_dataset_type",
    "dataset_sampling_strategy",
    *RANKINGS_OPTIONS,
    "prompt_input_tokens_mean",
    "prompt_input_tokens_stddev",
)
FRESH_SEED = -1
_SEED_LIMIT = 1 << 64


def pick_seed() -> int:
    """A fresh seed from OS entropy (a 32-bit value: easy to print, type and reproduce)."""
    return int.from_bytes(os.urandom(4), "big")


def resolve_seed(seed: int | None) -> int:
    """``-1``/None -> a fresh seed; anything else must be a concrete seed in 0 .. 2**64-1."""
    if seed is None or seed == FRESH_SEED:
        return pick_seed()
    if not 0 <= seed < _SEED_LIMIT:
        raise InputError(f"--random-seed must be -1 (pick one) or between 0 and 2**64-1, got {seed}")
    return seed


def _value(values: Mapping[str, Any], dest: str) -> Any:
    return option_value(values, dest)


@dataclass(frozen=True)
class DatasetConfig:
    """Everything the data generator depends on. ``random_seed`` is always concrete here."""

    model: str
    tokenizer: str
    random_seed: int
    num_dataset_entries: int
    input_file: str
    custom_dataset_type: str
    sampling_strategy: str
    passages_mean: int
    passages_stddev: float
    passage_tokens_mean: int
    passage_tokens_stddev: float
    query_tokens_mean: int
    query_tokens_stddev: float
    seed_was_picked: bool = False  # True when -1 arrived and this process chose the seed

    @property
    def resolved_seed(self) -> int:
        """The concrete seed in use (print it: passing it back reproduces every request)."""
        return self.random_seed

    @property
    def synthetic(self) -> bool:
        return not self.input_file

    @classmethod
    def from_options(cls, values: Mapping[str, Any]) -> DatasetConfig:
        """Build from option values by dest name (missing -> declared default); InputError on conflicts.

        Pass a concrete ``random_seed`` in every process of a distributed run (the master picks
        one with :func:`pick_seed` and broadcasts it); ``-1`` here picks a fresh one locally.
        """
        v = {dest: _value(values, dest) for dest in _DESTS}
        input_file = str(v["input_file"] or "")
        problem = conflict(_given_by_value(v))
        if problem:
            raise InputError(problem)
        if input_file and int(v["num_dataset_entries"] or 0) > 0:
            raise InputError(
                "--num-dataset-entries cannot be combined with --input-file: the file's lines are the entries"
            )

        for dest in ("rankings_passages_mean", "rankings_passages_prompt_token_mean", "rankings_query_prompt_token_mean"):
            if isinstance(v[dest], float) and v[dest].is_integer():
                v[dest] = int(v[dest])  # 10.0 from a YAML file or a form is 10
            if not isinstance(v[dest], int) or isinstance(v[dest], bool) or v[dest] < 1:
                raise InputError(f"{_flag(dest)} must be an integer >= 1, got {v[dest]!r}")
        for dest in (
            "rankings_passages_stddev",
            "rankings_passages_prompt_token_stddev",
            "rankings_query_prompt_token_stddev",
        ):
            x = v[dest]
            if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or x < 0:
                raise InputError(f"{_flag(dest)} must be a finite number >= 0, got {x!r}")
        entries = v["num_dataset_entries"] or 0
        if not isinstance(entries, int) or entries < 0:
            raise InputError(f"--num-dataset-entries must be an integer >= 0, got {entries!r}")
        strategy = v["dataset_sampling_strategy"] or "sequential"
        if strategy not in STRATEGIES:
            raise InputError(f"--dataset-sampling-strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
        if (v["custom_dataset_type"] or "single_turn") != "single_turn":
            raise InputError(f"--custom-dataset-type {v['custom_dataset_type']!r} is not supported (single_turn only)")

        raw_seed = v["random_seed"]
        if raw_seed is not None and (isinstance(raw_seed, bool) or not isinstance(raw_seed, int)):
            raise InputError(f"--random-seed must be an integer, got {raw_seed!r}")
        seed = resolve_seed(raw_seed)
        _say_isl_ignored(v)
        return cls(
            model=str(v["model"] or ""),
            tokenizer=str(v["tokenizer"] or ""),
            random_seed=seed,
            num_dataset_entries=entries,
            input_file=input_file,
            custom_dataset_type="single_turn",
            sampling_strategy=strategy,
            passages_mean=v["rankings_passages_mean"],
            passages_stddev=float(v["rankings_passages_stddev"]),
            passage_tokens_mean=v["rankings_passages_prompt_token_mean"],
            passage_tokens_stddev=float(v["rankings_passages_prompt_token_stddev"]),
            query_tokens_mean=v["rankings_query_prompt_token_mean"],
            query_tokens_stddev=float(v["rankings_query_prompt_token_stddev"]),
            seed_was_picked=raw_seed is None or raw_seed == FRESH_SEED,
        )


def _flag(dest: str) -> str:
    return option_flag(dest)


def _say_isl_ignored(v: Mapping[str, Any]) -> None:
    isl = [option_flag(d) for d in ISL if v[d] is not None]
    if isl:
        say_once(
            "isl-ignored",
            "%s ignored: ranking requests take their sizes from --rankings-query-prompt-token-mean/-stddev, "
            "--rankings-passages-prompt-token-mean/-stddev and --rankings-passages-mean/-stddev",
            "/".join(isl),
        )


def _given_by_value(v: Mapping[str, Any]) -> set[str]:
    """The conflicting options a values mapping sets, judged by value: a web UI form sends every
    field, so a synthetic option counts only when it differs from its default (the command line,
    config files and environment variables are judged at parse time, see ``options.NoteGiven``)."""
    given = {d for d in SYNTHETIC_SHAPE if _differs(v[d], BY_DEST[d].default)}
    given |= {d for d in ISL if v[d] is not None}
    if v["input_file"]:
        given.add("input_file")
    return given


def _differs(value: Any, default: Any) -> bool:
    try:
        return float(value) != float(default)
    except (TypeError, ValueError):
        return value != default
