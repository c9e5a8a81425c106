"""DatasetConfig.from_options: defaults, conflicts, seeds."""

from __future__ import annotations

import pytest

from rankperf_data.dataset.config import DatasetConfig, pick_seed, resolve_seed
from rankperf_data.dataset.errors import InputError
from rankperf_data.options import BY_DEST


def test_defaults_come_from_options() -> None:
    c = DatasetConfig.from_options({"random_seed": 5})
    assert c.model == BY_DEST["model"].default
    assert (c.passages_mean, c.passages_stddev) == (10, 0.0)
    assert (c.passage_tokens_mean, c.query_tokens_mean) == (128, 32)
    assert c.num_dataset_entries == 0
    assert c.sampling_strategy == "sequential"
    assert c.synthetic
    assert c.random_seed == c.resolved_seed == 5
    assert not c.seed_was_picked


def test_fresh_seed_is_concrete_and_varies() -> None:
    seeds = {DatasetConfig.from_options({}).resolved_seed for _ in range(5)}
    assert all(isinstance(s, int) and s >= 0 for s in seeds)
    assert len(seeds) > 1
    c = DatasetConfig.from_options({"random_seed": -1})
    assert c.seed_was_picked and c.random_seed >= 0


def test_broadcast_seed_reproduces() -> None:
    seed = pick_seed()
    assert DatasetConfig.from_options({"random_seed": seed}) == DatasetConfig.from_options({"random_seed": seed})
    assert resolve_seed(seed) == seed


@pytest.mark.parametrize("seed", [-2, 1 << 64])
def test_bad_seed(seed: int) -> None:
    with pytest.raises(InputError, match="--random-seed"):
        DatasetConfig.from_options({"random_seed": seed})


@pytest.mark.parametrize(
    "values",
    [{"prompt_input_tokens_mean": 100}, {"prompt_input_tokens_stddev": 0.0}, {"prompt_input_tokens_mean": 5, "prompt_input_tokens_stddev": 1}],
)
def test_isl_options_rejected(values: dict) -> None:
    with pytest.raises(InputError) as info:
        DatasetConfig.from_options(values)
    msg = str(info.value)
    assert "--prompt-input-tokens-mean/--prompt-input-tokens-stddev" in msg
    assert "--rankings-query-prompt-token-mean" in msg and "--rankings-passages-prompt-token-mean" in msg


def test_rankings_options_with_input_file_rejected() -> None:
    with pytest.raises(InputError) as info:
        DatasetConfig.from_options(
            {"input_file": "x.jsonl", "rankings_passages_mean": 3, "rankings_query_prompt_token_stddev": 2}
        )
    msg = str(info.value)
    assert "--rankings-passages-mean" in msg and "--rankings-query-prompt-token-stddev" in msg
    assert "--input-file" in msg
    assert "--rankings-passages-stddev" not in msg  # only the ones actually set


def test_defaults_with_input_file_accepted() -> None:
    values = {dest: BY_DEST[dest].default for dest in BY_DEST if dest.startswith("rankings_")}
    c = DatasetConfig.from_options({**values, "input_file": "x.jsonl", "random_seed": 1})
    assert not c.synthetic and c.input_file == "x.jsonl"


def test_num_dataset_entries_with_input_file_rejected() -> None:
    with pytest.raises(InputError, match="--num-dataset-entries"):
        DatasetConfig.from_options({"input_file": "x.jsonl", "num_dataset_entries": 10})


def test_string_values_parsed_like_the_command_line() -> None:
    c = DatasetConfig.from_options(
        {"rankings_passages_mean": "4", "rankings_passages_stddev": "1.5", "random_seed": "9"}
    )
    assert (c.passages_mean, c.passages_stddev, c.random_seed) == (4, 1.5, 9)
    with pytest.raises(InputError, match="--rankings-passages-mean"):
        DatasetConfig.from_options({"rankings_passages_mean": "0"})


@pytest.mark.parametrize(
    ("dest", "value", "flag"),
    [
        ("rankings_passages_mean", 0, "--rankings-passages-mean"),
        ("rankings_query_prompt_token_mean", -3, "--rankings-query-prompt-token-mean"),
        ("rankings_passages_prompt_token_stddev", -1.0, "--rankings-passages-prompt-token-stddev"),
        ("rankings_passages_stddev", float("nan"), "--rankings-passages-stddev"),
        ("num_dataset_entries", -1, "--num-dataset-entries"),
        ("dataset_sampling_strategy", "zigzag", "--dataset-sampling-strategy"),
        ("custom_dataset_type", "random_pool", "--custom-dataset-type"),
    ],
)
def test_bad_values(dest: str, value: object, flag: str) -> None:
    with pytest.raises(InputError, match=flag):
        DatasetConfig.from_options({dest: value})


def test_integral_float_mean_accepted() -> None:
    assert DatasetConfig.from_options({"rankings_passages_mean": 3.0, "random_seed": 1}).passages_mean == 3
