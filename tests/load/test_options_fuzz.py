"""Fuzz the option parsing: any value typed into a form or a config file fails only with InputError."""

import argparse
import contextlib

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
