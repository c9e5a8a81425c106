"""The `rankperf` command: profile | serve | report | plot | demo | convert-beir."""

from __future__ import annotations

import argparse
import difflib
import logging
import re
import signal
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

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
        "serve": ("Run the built-in reference rerank server (TEI, Cohere/vLLM, NIM, Voyage, Jina).",
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


_INVALID_CHOICE = re.compile(r"invalid choice: '?([^'\s]*)'? \(choose from (.*)\)$")


class ShortErrorParser(argparse.ArgumentParser):
    """argparse that answers a mistake in one line with a pointer to --help (not the whole usage),
    and suggests the closest option for a mistyped one, as plain ``locust`` does."""

    def error(self, message: str) -> NoReturn:
        choice = _INVALID_CHOICE.search(message)
        if choice:  # a mistyped command or value: the closest one, as for a mistyped option
            given, allowed = choice[1], [c.strip(" '") for c in choice[2].split(",")]
            close = difflib.get_close_matches(given, allowed, n=1)
            if close:
                message += f"; did you mean {close[0]}?"
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def refuse_unknown(self, extras: list[str]) -> NoReturn:
        """Options this parser does not have: name the first, with the closest one it has."""
        bad = extras[0]
        if not bad.startswith("-"):
            self.error(f"unexpected argument {bad!r}")
        name = bad.split("=", 1)[0]
        known = [flag for action in self._actions for flag in action.option_strings]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        self.error(f"unknown option {name}{hint}")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Runner]]:
    parser = ShortErrorParser(
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
    parser.set_defaults(_subparsers=sub.choices)
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, runners = build_parser()
    args, extras = parser.parse_known_args(argv)
    parsers = vars(args).pop("_subparsers", {})
    if extras:
        target = parsers.get(args.command, parser)
        (target if isinstance(target, ShortErrorParser) else parser).refuse_unknown(extras)
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
