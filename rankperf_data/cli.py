"""The `rankperf` command: profile | serve | report | plot | demo | convert-beir."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence

from rankperf_data import __version__

Adder = Callable[[argparse.ArgumentParser], None]
Runner = Callable[[argparse.Namespace], int]


def _commands() -> dict[str, tuple[str, Adder, Runner]]:
    # Imported lazily so `rankperf serve` never pays for Locust/gevent imports.
    def lazy(module: str, adder: str, runner: str) -> tuple[Adder, Runner]:
        def add(p: argparse.ArgumentParser) -> None:
            getattr(__import__(module, fromlist=[adder]), adder)(p)

        def run(a: argparse.Namespace) -> int:
            return getattr(__import__(module, fromlist=[runner]), runner)(a)

        return add, run

    return {
        "profile": ("Profile a rerank server with AIPerf's flags (runs Locust headless).",
                    *lazy("rankperf_data.profile", "add_profile_parser_arguments", "run_profile")),
        "serve": ("Run the built-in reference rerank server (TEI, Cohere/vLLM, NIM).",
                  *lazy("rankperf_data.server.main", "add_serve_arguments", "run_serve")),
        "report": ("Rebuild the table and exports from a run's artifacts or Locust CSVs.",
                   *lazy("rankperf_data.report.main", "add_report_arguments", "run_report")),
        "plot": ("Write PNG plots for a run's artifacts.",
                 *lazy("rankperf_data.report.main", "add_plot_arguments", "run_plot")),
        "demo": ("Start the reference server and profile it with the two seed scenarios.",
                 *lazy("rankperf_data.demo", "add_demo_arguments", "run_demo")),
        "convert-beir": ("Turn a BEIR-style dataset and a first-stage run into labelled JSONL.",
                         *lazy("rankperf_data.convert_beir", "add_convert_arguments", "run_convert")),
    }


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Runner]]:
    parser = argparse.ArgumentParser(
        prog="rankperf",
        description="Load testing for ranking / rerank model servers, on Locust. AIPerf-compatible.",
    )
    parser.add_argument("--version", action="version", version=f"rankperf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    runners: dict[str, Runner] = {}
    for name, (summary, add, run) in _commands().items():
        p = sub.add_parser(name, help=summary, description=summary)
        add(p)
        runners[name] = run
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, runners = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv  # the command as typed, for reports (secrets are redacted there)
    if not args.command:
        parser.print_help()
        return 0
    if args.command != "serve":  # the server configures its own logging
        logging.basicConfig(format="rankperf: %(message)s", level=logging.WARNING)
    try:
        return runners[args.command](args)
    except KeyboardInterrupt:  # Ctrl-C outside a run's own handling: no traceback, the shell's code
        sys.stderr.write("rankperf: interrupted\n")
        return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main())
