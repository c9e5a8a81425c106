"""`rankperf profile`: AIPerf's flags, run through Locust headless."""

import argparse

from rankperf_data import options


def add_profile_parser_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_profile_arguments(parser)


def run_profile(args: argparse.Namespace) -> int:
    print("rankperf profile: not implemented yet")
    return 0
