"""Fuzz the option parsing: any value typed into a form or a config file fails only with InputError."""

import argparse
import contextlib
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from rankperf_data import options
from rankperf_data.dataset.config import DatasetConfig
from rankperf_data.dataset.errors import InputError
from rankperf_data.load.settings import LoadSettings

TEXT_OPTIONS = ["header", "extra_inputs", "goodput", "random_seed", "num_dataset_entries",
                "rankings_passages_mean", "rankings_passages_stddev", "dataset_sampling_strategy",
                "rankings_query_prompt_token_mean", "request_count", "arrival_pattern"]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(TEXT_OPTIONS), st.text(max_size=40), max_size=4))
def test_web_form_strings_never_crash(values):
    # the web UI and config files hand values over as strings
    for parse in (LoadSettings.from_values, DatasetConfig.from_options):
        with contextlib.suppress(InputError):
            parse(values)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=20), max_size=6))
def test_profile_parser_rejects_garbage_cleanly(argv):
    parser = argparse.ArgumentParser(exit_on_error=False)
    options.add_profile_arguments(parser)
    with contextlib.suppress(argparse.ArgumentError, SystemExit):
        parser.parse_known_args(argv)


# Valid values for the options that may conflict; the rankings ones include their defaults.
GIVEN_VALUES = {
    "--input-file": ["x.jsonl"],
    "--rankings-passages-mean": ["10", "3"],
    "--rankings-passages-stddev": ["0", "1.5"],
    "--rankings-passages-prompt-token-mean": ["128", "16"],
    "--rankings-passages-prompt-token-stddev": ["0"],
    "--rankings-query-prompt-token-mean": ["32"],
    "--rankings-query-prompt-token-stddev": ["0.0", "2"],
    "--isl": ["100"],
    "--prompt-input-tokens-stddev": ["0", "5"],
}
SHAPES_SYNTHETIC = {f for f in GIVEN_VALUES if f.startswith("--rankings-")}
SETS_TOKENS = {f for f in SHAPES_SYNTHETIC if "-prompt-token-" in f}
AIPERF_ISL = {"--isl", "--prompt-input-tokens-stddev"}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(GIVEN_VALUES)), st.integers(0, 1)), max_size=5))
def test_given_options_conflict_whatever_their_values(picks):
    argv = [a for flag, i in picks for a in (flag, GIVEN_VALUES[flag][i % len(GIVEN_VALUES[flag])])]
    given = {flag for flag, _ in picks}
    expect_refused = bool(("--input-file" in given and given & SHAPES_SYNTHETIC)
                          or (given & AIPERF_ISL and given & SETS_TOKENS))
    parser = argparse.ArgumentParser()
    options.add_profile_arguments(parser)
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parser.parse_args(argv)
        refused = False
    except SystemExit as exc:
        assert exc.code == 2
        refused = True
    err = stderr.getvalue()
    assert refused == expect_refused, (argv, err)
    if refused:
        assert err.startswith("rankperf: error: ") and "cannot be combined with" in err
