"""`rankperf report` and `rankperf plot`: rebuild tables, exports and plots from a run's artifacts."""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import replace
from pathlib import Path

from rankperf_data.redact import collect_secrets, redact_text, scrub_bytes
from rankperf_data.report import export
from rankperf_data.report.artifacts import FILES, write_artifacts
from rankperf_data.report.console import render_console
from rankperf_data.report.locust_csv import LocustCsvError, summary_from_locust_csv
from rankperf_data.report.metrics import parse_goodput
from rankperf_data.results.disk import NoRecordsError, load_run

# Names used where a records-based export already lives (never overwritten by an approximate one).
LOCUST_FILES = {
    "json": "profile_export_aiperf_locust.json",
    "csv": "profile_export_aiperf_locust.csv",
    "console": "profile_export_console_locust.txt",
}
LOCUST_JSON = LOCUST_FILES["json"]


def _fail(command: str, message: str, code: int = 2) -> int:
    print(f"rankperf {command}: {message}", file=sys.stderr)
    return code


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("artifact_dir", nargs="?", metavar="ARTIFACT_DIR",
                        help="A run's artifact directory (holds profile_export.jsonl and run.json).")
    parser.add_argument("record_dirs", nargs="*", metavar="RECORDS_DIR",
                        help="Folders of record files (process-N.records) collected from worker hosts: "
                             "merged with ARTIFACT_DIR's own into one exact report.")
    parser.add_argument("--locust-csv", metavar="PREFIX",
                        help="Build the table from Locust's PREFIX_stats.csv (+ PREFIX_failures.csv) instead; "
                             "percentiles are then approximate.")
    parser.add_argument("--output", "-o", metavar="DIR",
                        help="Write the exports here (default: ARTIFACT_DIR, or the folder of PREFIX).")
    parser.add_argument("--goodput", metavar="SLOS",
                        help="Recompute goodput with these SLOs, e.g. 'request_latency:250' (ms).")


def _report_records(args: argparse.Namespace) -> int:
    if getattr(args, "record_dirs", None):
        return _report_merged(args)
    try:
        result = load_run(args.artifact_dir)
        if args.goodput:
            result = replace(result, info=replace(result.info, goodput=parse_goodput(args.goodput)))
    except (NoRecordsError, ValueError) as exc:
        return _fail("report", str(exc))
    source = Path(args.artifact_dir)
    out = Path(args.output) if args.output else source
    # Re-writing the JSONL we just read into the same place would only cost time.
    same = out.exists() and out.resolve() == source.resolve()
    _print_written(write_artifacts(result, out, include_records=not same))
    return 0


def _report_merged(args: argparse.Namespace) -> int:
    """ARTIFACT_DIR plus record files from other folders: one exact report, written with its records."""
    from rankperf_data.report.merged_run import load_merged_run
    from rankperf_data.results.record_dirs import RecordDirsError

    try:
        merged = load_merged_run(args.artifact_dir, args.record_dirs)
        result = merged.result
        if args.goodput:
            result = replace(result, info=replace(result.info, goodput=parse_goodput(args.goodput)))
    except (NoRecordsError, RecordDirsError, ValueError, OSError) as exc:
        return _fail("report", str(exc))
    for line in merged.said:
        print(f"rankperf report: {line}", file=sys.stderr)
    _print_written(write_artifacts(result, Path(args.output) if args.output else Path(args.artifact_dir)))
    return 0


def _print_written(paths: dict[str, Path]) -> None:
    """The table, then where each export went."""
    print(paths["console"].read_text(), end="")
    print(f"JSON Export: {paths['json']}\nCSV Export: {paths['csv']}\nConsole Export: {paths['console']}")
    if "jsonl" in paths:
        print(f"Records: {paths['jsonl']}")


def _report_locust(args: argparse.Namespace) -> int:
    try:
        summary = summary_from_locust_csv(args.locust_csv)
    except (LocustCsvError, OSError, KeyError, ValueError) as exc:
        return _fail("report", f"cannot read Locust CSV {args.locust_csv!r}: {exc}")
    prefix = Path(args.locust_csv)
    out = Path(args.output) if args.output else prefix.parent
    out.mkdir(parents=True, exist_ok=True)
    # Never overwrite the exact, records-based export of a run with an approximate one.
    names = LOCUST_FILES if (out / FILES["jsonl"]).exists() else FILES
    bid = hashlib.sha256(Path(f"{prefix}_stats.csv").read_bytes()).hexdigest()[:12]
    console = redact_text(render_console(summary))
    contents = {
        "json": export.dumps_pretty(export.to_aiperf_json(summary, bid)),
        "csv": export.to_aiperf_csv(summary).encode(),
        "console": console.encode(),
    }
    secrets = collect_secrets(None)
    paths = {key: out / names[key] for key in contents}
    for key, data in contents.items():
        paths[key].write_bytes(scrub_bytes(data, secrets))
    print(console, end="")
    print(f"JSON Export: {paths['json']}\nCSV Export: {paths['csv']}\nConsole Export: {paths['console']}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    if bool(args.artifact_dir) == bool(args.locust_csv):
        return _fail("report", "give either ARTIFACT_DIR or --locust-csv PREFIX (one of them)")
    if getattr(args, "record_dirs", None) and args.locust_csv:
        return _fail("report", "RECORDS_DIR folders go with ARTIFACT_DIR, not with --locust-csv")
    from rankperf_data.campaign.report import is_campaign_dir, report_campaign

    if args.artifact_dir and is_campaign_dir(args.artifact_dir):  # a sweep, trials or search: its aggregates
        return report_campaign(args.artifact_dir)
    return _report_locust(args) if args.locust_csv else _report_records(args)


def add_plot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("artifact_dir", metavar="ARTIFACT_DIR", help="A run's artifact directory.")
    parser.add_argument("--output", "-o", metavar="DIR", help="Where to write the PNGs (default: ARTIFACT_DIR/plots).")


def run_plot(args: argparse.Namespace) -> int:
    from rankperf_data.campaign.report import is_campaign_dir, plot_campaign
    from rankperf_data.report.plots import PlotDependencyError, write_plots

    if is_campaign_dir(args.artifact_dir):  # latency vs throughput over the campaign's points
        return plot_campaign(args.artifact_dir, args.output)
    try:
        result = load_run(args.artifact_dir)
    except NoRecordsError as exc:
        return _fail("plot", str(exc))
    try:
        paths = write_plots(result, Path(args.output) if args.output else Path(args.artifact_dir) / "plots")
    except PlotDependencyError as exc:
        return _fail("plot", str(exc), code=1)
    for path in paths:
        print(path)
    return 0
