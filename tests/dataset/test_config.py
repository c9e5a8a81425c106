"""DatasetConfig.from_options: defaults, conflicts, seeds; conflicts refused while parsing."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys

import pytest

from rankperf_data import options
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
    ("values", "named"),
    [
        ({"prompt_input_tokens_mean": 100}, "--prompt-input-tokens-mean ignored"),
        ({"prompt_input_tokens_stddev": 0.0}, "--prompt-input-tokens-stddev ignored"),
        ({"prompt_input_tokens_mean": 5, "prompt_input_tokens_stddev": 1, "rankings_passages_mean": 3},
         "--prompt-input-tokens-mean/--prompt-input-tokens-stddev ignored"),
    ],
)
def test_isl_options_alone_are_ignored_with_one_warning(values: dict, named: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="rankperf"):
        a = DatasetConfig.from_options({**values, "random_seed": 1})
        b = DatasetConfig.from_options({**values, "random_seed": 1})
    assert a == b
    assert (a.passage_tokens_mean, a.query_tokens_mean) == (128, 32)  # the rankings sizes rule
    messages = [r.getMessage() for r in caplog.records if r.name == "rankperf"]
    assert len(messages) == 1 and messages[0].startswith(named)
    assert "--rankings-query-prompt-token-mean" in messages[0]


@pytest.mark.parametrize(
    ("values", "flags"),
    [
        ({"prompt_input_tokens_mean": 100, "rankings_query_prompt_token_mean": 16},
         ["--prompt-input-tokens-mean", "--rankings-query-prompt-token-mean"]),
        ({"prompt_input_tokens_stddev": 2, "rankings_passages_prompt_token_stddev": 1.5},
         ["--prompt-input-tokens-stddev", "--rankings-passages-prompt-token-stddev"]),
    ],
)
def test_isl_with_a_rankings_token_option_rejected(values: dict, flags: list[str]) -> None:
    with pytest.raises(InputError) as info:
        DatasetConfig.from_options(values)
    msg = str(info.value)
    assert msg.startswith(f"{flags[0]} cannot be combined with {flags[1]}")


def test_rankings_options_with_input_file_rejected() -> None:
    with pytest.raises(InputError) as info:
        DatasetConfig.from_options(
            {"input_file": "x.jsonl", "rankings_passages_mean": 3, "rankings_query_prompt_token_stddev": 2}
        )
    msg = str(info.value)
    assert "--rankings-passages-mean" in msg and "--rankings-query-prompt-token-stddev" in msg
    assert "--input-file" in msg
    assert "--rankings-passages-stddev" not in msg  # only the ones actually set


def test_web_form_defaults_with_input_file_accepted() -> None:
    """The web UI start form sends every field: there, a value equal to the default is not "given"
    (parsing cannot tell; the command line, config files and environment are refused below)."""
    form = {dest: str(BY_DEST[dest].default) for dest in options.SYNTHETIC_SHAPE}
    c = DatasetConfig.from_options({**form, "input_file": "x.jsonl", "random_seed": 1})
    assert not c.synthetic and c.input_file == "x.jsonl"
    with pytest.raises(InputError, match="--rankings-passages-mean cannot be combined with --input-file"):
        DatasetConfig.from_options({**form, "rankings_passages_mean": "12", "input_file": "x.jsonl"})


def _profile_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rankperf profile")
    options.add_profile_arguments(parser)
    return parser


RANKINGS_AT_DEFAULT = [(options.flag(d), str(BY_DEST[d].default)) for d in options.SYNTHETIC_SHAPE]


@pytest.mark.parametrize(("flag", "value"), RANKINGS_AT_DEFAULT)
@pytest.mark.parametrize("file_first", [True, False])
def test_profile_refuses_a_given_rankings_option_with_input_file(flag: str, value: str, file_first: bool,
                                                                 capsys: pytest.CaptureFixture) -> None:
    pair = [["--input-file", "x.jsonl"], [flag, value]]
    argv = [*pair[0], *pair[1]] if file_first else [*pair[1], *pair[0]]
    with pytest.raises(SystemExit) as info:
        _profile_parser().parse_args(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err == f"rankperf: error: {flag} cannot be combined with --input-file: they shape synthetic data only, " \
                  "and the file's lines are sent as they are\n"


def test_profile_refuses_isl_with_a_given_rankings_token_option(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        _profile_parser().parse_args(["--isl-stddev", "3", "--rankings-query-prompt-token-stddev", "0"])
    assert info.value.code == 2
    assert "--prompt-input-tokens-stddev cannot be combined with --rankings-query-prompt-token-stddev" in \
        capsys.readouterr().err


def test_profile_accepts_what_does_not_conflict() -> None:
    parse = _profile_parser().parse_args
    assert parse(["--input-file", "x.jsonl", "--num-dataset-entries", "0"]).input_file == "x.jsonl"
    assert parse(["--rankings-passages-mean", "10", "--input-file", ""]).rankings_passages_mean == 10
    assert parse(["--isl", "100", "--rankings-passages-mean", "3"]).prompt_input_tokens_mean == 100
    assert parse(["--rankings-passages-mean", "10"]).rankings_passages_mean == 10


_LOCUST_PARSE = """
import sys
import rankperf_data.load.hooks  # registers rankperf's options with Locust's parser
from locust.argument_parser import get_parser
parsed = get_parser(default_config_files=()).parse_args(sys.argv[1:])
print("parsed", parsed.input_file, parsed.rankings_passages_mean)
"""


def _locust_parse(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Locust's own parser (command line, --config file, RANKPERF_* variables), in a fresh process."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RANKPERF_", "LOCUST_"))}
    return subprocess.run([sys.executable, "-c", _LOCUST_PARSE, *args], env={**base, **env, "HF_HUB_OFFLINE": "1"},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("where", ["command line", "config file", "environment"])
def test_locust_refuses_a_given_rankings_option_with_input_file(where: str, tmp_path) -> None:
    conf = tmp_path / "run.conf"
    args, env = ["--input-file", "x.jsonl"], {}
    if where == "command line":
        args += ["--rankings-passages-stddev", "0"]
    elif where == "config file":
        conf.write_text("rankings-passages-stddev = 0\n")
        args += ["--config", str(conf)]
    else:
        env = {"RANKPERF_RANKINGS_PASSAGES_STDDEV": "0"}
    proc = _locust_parse(args, env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "rankperf: error: --rankings-passages-stddev cannot be combined with --input-file" in proc.stderr
    assert "parsed" not in proc.stdout and "Traceback" not in proc.stderr


def test_locust_accepts_input_file_alone(tmp_path) -> None:
    proc = _locust_parse(["--input-file", "x.jsonl"], {})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["parsed", "x.jsonl", "10"]


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
