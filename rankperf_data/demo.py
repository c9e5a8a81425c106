"""`rankperf demo`: the reference server plus the two seed scenarios."""

import argparse


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run_demo(args: argparse.Namespace) -> int:
    print("rankperf demo: will start `rankperf serve` and profile it (TEI synthetic, Cohere JSONL)")
    return 0
