"""`rankperf profile`: AIPerf's rankings flags, run through Locust headless with rankperf's locustfile.

It validates everything before any request (exit 2 on bad options or input), picks the user
class from ``--endpoint-type``, starts ``locust`` as a child process (so the run is exactly what
a user gets from the locustfile), shows progress on a terminal, then prints the table and the
paths of the exports.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from rankperf_data import apis, options
from rankperf_data.argtypes import positive_int
from rankperf_data.dataset.errors import InputError
from rankperf_data.ports import free_port

PACKAGED_LOCUSTFILE = Path(__file__).with_name("locustfile.py")
ENDPOINT_ALIASES = {t.replace("_", "-"): t for t in options.ENDPOINT_TYPES}


def _endpoint_type(text: str) -> str:
    value = ENDPOINT_ALIASES.get(text, text)
    if value not in options.ENDPOINT_TYPES:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(options.ENDPOINT_TYPES)}")
    return value


def add_profile_parser_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-type", type=_endpoint_type, default="hf_tei_rankings",
                        help="API to profile: hf_tei_rankings (POST /rerank), cohere_rankings (POST /v2/rerank), "
                             "nim_rankings (POST /v1/ranking). Default: hf_tei_rankings.")
    parser.add_argument("-u", "--url", default="http://localhost:8000",
                        help="Server base URL; http:// is added when no scheme is given (default: %(default)s).")
    parser.add_argument("--concurrency", type=positive_int, default=1,
                        help="Closed loop: requests in flight (users). With --request-rate: the cap on "
                             "requests in flight (default: 1).")
    parser.add_argument("--workers", type=int, default=0,
                        help="Run this many local Locust worker processes (0: one process; -1: one per CPU).")
    parser.add_argument("--ui-type", "--ui", dest="ui_type", default="auto", choices=("auto", "none", "simple", "dashboard"),
                        help="Progress display: a progress bar on a terminal (auto/simple/dashboard) or none.")
    options.add_profile_arguments(parser)


def normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    return url


def _values(args: argparse.Namespace) -> dict:
    return {opt.dest: getattr(args, opt.dest) for opt in options.OPTIONS}


def _check(values: dict) -> None:
    """Everything that can be wrong with the options or the input, before any request."""
    from rankperf_data.dataset.config import DatasetConfig
    from rankperf_data.dataset.source import build_dataset
    from rankperf_data.load.settings import LoadSettings

    LoadSettings.from_values(values)
    build_dataset(DatasetConfig.from_options(values))


def redacted_command(argv: list[str]) -> str:
    """The command line as typed, with secret option values replaced."""
    secret_flags = {f for opt in options.OPTIONS if opt.secret for f in opt.flags}
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append("<redacted>")
            hide_next = False
        elif arg in secret_flags:
            out.append(arg)
            hide_next = True
        elif "=" in arg and arg.split("=", 1)[0] in secret_flags:
            out.append(arg.split("=", 1)[0] + "=<redacted>")
        else:
            out.append(arg)
    return shlex.join(out)


def build_locust_command(args: argparse.Namespace, values: dict, artifact_dir: Path) -> list[str]:
    user_class = apis.BY_ENDPOINT_TYPE[args.endpoint_type].user_class
    cmd = [
        sys.executable, "-m", "locust", "-f", str(PACKAGED_LOCUSTFILE), "--headless",
        "-H", normalise_url(args.url), "-u", str(args.concurrency),
        # spawn every user within a fraction of a second: the measurement is the server, not the ramp
        "-r", str(max(args.concurrency, 100)),
        "--csv", str(artifact_dir / "locust"), "--html", str(artifact_dir / "locust_report.html"),
        "--only-summary", "--exit-code-on-error", "0",
    ]
    if args.workers:
        # a private master port on loopback: never the shared default 5557 on all interfaces
        port = str(free_port())
        cmd += ["--processes", str(args.workers), "--master-bind-host", "127.0.0.1",
                "--master-bind-port", port, "--master-port", port]
    cmd += options.to_locust_argv({**values, "artifact_dir": str(artifact_dir)})
    cmd.append(user_class)
    return cmd


def _artifact_dir(args: argparse.Namespace) -> Path:
    if args.artifact_dir:
        return Path(args.artifact_dir)
    from rankperf_data.report.artifacts import default_artifact_dir

    rate = args.request_rate or None
    return Path(default_artifact_dir(args.model, args.endpoint_type, None if rate else args.concurrency, rate))


def run_profile(args: argparse.Namespace) -> int:
    values = _values(args)
    try:
        _check(values)
    except InputError as exc:
        sys.stderr.write(f"rankperf: error: {exc}\n")
        return 2
    artifact_dir = _artifact_dir(args).resolve()
    (artifact_dir / "logs").mkdir(parents=True, exist_ok=True)
    progress_file = artifact_dir / ".progress.json"
    progress_file.unlink(missing_ok=True)
    env = dict(os.environ)
    env["RANKPERF_PROGRESS_FILE"] = str(progress_file)
    env["RANKPERF_CLI_COMMAND"] = redacted_command(["rankperf", *getattr(args, "argv", ["profile"])])
    if args.api_key:
        env[options.API_KEY_ENV] = args.api_key  # via the environment: never on a command line
    cmd = build_locust_command(args, values, artifact_dir)
    log_path = artifact_dir / "logs" / "locust.log"
    show_progress = sys.stdout.isatty() and args.ui_type != "none"
    if not show_progress:
        print(f"rankperf: profiling {normalise_url(args.url)} ({args.endpoint_type}); Locust log: {log_path}",
              flush=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            _wait(proc, progress_file, args, show_progress)
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    progress_file.unlink(missing_ok=True)
    return _report(proc.returncode, artifact_dir, log_path)


def _wait(proc: subprocess.Popen, progress_file: Path, args: argparse.Namespace, show: bool) -> None:
    if not show:
        proc.wait()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    total = args.request_count or None
    columns = [TextColumn("Profiling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[rate]}")]
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("profiling", total=total, rate="")
        while proc.poll() is None:
            time.sleep(0.2)
            try:
                data = orjson.loads(progress_file.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue
            rate = f"{data['rate']:,.1f} req/s" if data.get("rate") else "warming up"
            bar.update(task, completed=data["done"], rate=rate)


def _table_for_this_output(artifact_dir: Path, console_txt: Path) -> str:
    """The saved table (full width) for pipes and files; re-rendered to fit a terminal."""
    if not sys.stdout.isatty():
        return console_txt.read_text()
    from rankperf_data.report.console import render_console
    from rankperf_data.report.load import load_run
    from rankperf_data.report.metrics import summarize

    try:
        return render_console(summarize(load_run(artifact_dir)), width=shutil.get_terminal_size().columns)
    except Exception:  # the saved table is always right, just maybe wider than the terminal
        return console_txt.read_text()


def _all_failed(artifact_dir: Path) -> bool:
    try:
        data = orjson.loads((artifact_dir / "profile_export_aiperf.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return False
    return not data.get("request_count", {}).get("avg")


def _report(code: int, artifact_dir: Path, log_path: Path) -> int:
    console_txt = artifact_dir / "profile_export_console.txt"
    if console_txt.exists():
        sys.stdout.write(_table_for_this_output(artifact_dir, console_txt))
        sys.stdout.write("\n")
        for name in ("profile_export_aiperf.json", "profile_export_aiperf.csv", "profile_export.jsonl"):
            if (artifact_dir / name).exists():
                print(f"{'JSON' if name.endswith('json') else 'CSV' if name.endswith('csv') else 'Records'} "
                      f"Export: {artifact_dir / name}")
        print(f"Log File: {log_path}")
        if code == 1 and _all_failed(artifact_dir):
            sys.stderr.write("rankperf: every request failed (see the error summary above): check --url, "
                             "--endpoint and --endpoint-type, and that the server is up\n")
    else:
        tail = log_path.read_text(errors="replace").splitlines()[-20:]
        sys.stderr.write("rankperf: the run wrote no report; last lines of the Locust log:\n  "
                         + "\n  ".join(tail) + "\n")
        return code or 1
    return code
