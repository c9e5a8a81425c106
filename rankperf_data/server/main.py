"""`rankperf serve`: placeholder until the reference server lands."""

import argparse


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8080)


def run_serve(args: argparse.Namespace) -> int:
    print("rankperf serve: not implemented yet")
    return 0
