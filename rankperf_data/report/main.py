"""`rankperf report` and `rankperf plot`: placeholder until the report module lands."""

import argparse


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("artifact_dir", nargs="?")


def run_report(args: argparse.Namespace) -> int:
    print("rankperf report: not implemented yet")
    return 0


def add_plot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("artifact_dir", nargs="?")


def run_plot(args: argparse.Namespace) -> int:
    print("rankperf plot: not implemented yet")
    return 0
