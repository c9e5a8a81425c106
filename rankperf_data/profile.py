"""`rankperf profile`: AIPerf's rankings flags, run through Locust headless with rankperf's locustfile.

It validates everything before any request (exit 2 on bad options or input), picks the user
class from ``--endpoint-type``, starts ``locust`` as a child process (so the run is exactly what
a user gets from the locustfile), shows progress on a terminal, then prints the table and the
paths of the exports. Ctrl-C, SIGTERM and SIGHUP stop the child cleanly (it still writes its
cancelled report) and end with exit code 128 + the signal number.
"""

from __future__ import annotations

import argparse
import ctypes
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
from rankperf_data.argtypes import positive_int, worker_count
from rankperf_data.dataset.errors import InputError
from rankperf_data.load.progress import PROGRESS_ENV
from rankperf_data.ports import free_port

PACKAGED_LOCUSTFILE = Path(__file__).with_name("locustfile.py")
ENDPOINT_ALIASES = {t.replace("_", "-"): t for t in options.ENDPOINT_TYPES}
DEFAULT_URL = "http://localhost:8000"
# AIPerf 0.13.0 sends 10 requests when neither --request-count nor --benchmark-duration bounds a
# run (flags/_converter_profiling.py; measured too); its --help's max(10, 2 x concurrency) is stale
AIPERF_DEFAULT_REQUEST_COUNT = 10
REQUEST_COUNT_HELP = (
    "Send exactly this many measured requests in total, across all users and workers, then stop "
    "(0: no count limit; stop with --benchmark-duration or Ctrl-C). Default: "
    f"{AIPERF_DEFAULT_REQUEST_COUNT} (AIPerf's effective default) when --benchmark-duration is not "
    "given either, else 0. Plain locust and the web UI default to 0.")

# AIPerf option values rankperf does not implement: what to use instead
UNSUPPORTED_AIPERF_VALUES: dict[str, dict[str, str]] = {
    "tokenizer": {
        "builtin": "AIPerf's bundled tiktoken o200k_base is not available; give a tokenizer.json (or a "
                   "directory holding one), or leave --tokenizer out (the model's cached tokenizer, "
                   "else a word-level estimate)",
    },
    "arrival_pattern": {
        "gamma": "use poisson (gamma with smoothness 1.0 is poisson) or constant",
        "concurrency-burst": "leave out --request-rate and set --concurrency N (closed loop: N requests "
                             "always in flight)",
    },
    "custom_dataset_type": {
        "random_pool": "write one single_turn line per request (query and passages together) and use "
                       "--dataset-sampling-strategy random",
        "inputs_json": "turn each payload into a {\"query\", \"passages\"} line and use single_turn "
                       "(the same --random-seed also reproduces a synthetic run's inputs)",
        "raw_payload": "write {\"query\", \"passages\"} lines (single_turn) and add fixed body fields "
                       "with --extra-inputs",
    },
}


def _endpoint_type(text: str) -> str:
    value = ENDPOINT_ALIASES.get(text, text)
    if value not in options.ENDPOINT_TYPES:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(options.ENDPOINT_TYPES)}")
    return value


def add_profile_parser_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-type", type=_endpoint_type, default="hf_tei_rankings",
                        help=f"API to profile: {apis.endpoint_types_help()}. Default: hf_tei_rankings.")
    parser.add_argument("-u", "--url", default=DEFAULT_URL, action=_SingleUrl,
                        help="Server base URL; http:// is added when no scheme is given (default: %(default)s). "
                             "One URL per run (AIPerf's repeated -u round-robin is not supported).")
    parser.add_argument("--concurrency", type=positive_int, default=1,
                        help="Closed loop: requests in flight (users). With --request-rate: the cap on "
                             "requests in flight (default: 1).")
    parser.add_argument("--workers", type=worker_count, default=0,
                        help="Run this many local Locust worker processes (0: one process; -1: one per CPU).")
    parser.add_argument("--ui-type", "--ui", dest="ui_type", default="auto", choices=("auto", "none", "simple", "dashboard"),
                        help="Progress display: a progress bar on a terminal (auto/simple/dashboard) or none.")
    options.add_profile_arguments(parser)
    _adapt_shared_options(parser)
    from rankperf_data.campaign.flags import adapt_list_flags, add_campaign_arguments

    add_campaign_arguments(parser)
    adapt_list_flags(parser)  # comma lists (sweeps) on the sweepable flags only


class _SingleUrl(argparse.Action):
    """-u/--url given once: a second one would silently replace the first."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        if getattr(namespace, "_url_given", False):
            parser.error(f"{option_string}: given more than once; rankperf profiles one URL per run "
                         "(run it once per server)")
        namespace._url_given = True
        setattr(namespace, self.dest, values)


def _refusing_unsupported(dest: str, parse):
    """Wrap an option's type so AIPerf values rankperf lacks get a message with the alternative."""
    hints = UNSUPPORTED_AIPERF_VALUES[dest]

    def checked(text: str):
        hint = hints.get(text.strip())
        if hint:
            raise argparse.ArgumentTypeError(f"AIPerf's {text.strip()!r} is not supported by rankperf: {hint}")
        return parse(text) if parse else text

    return checked


def _adapt_shared_options(parser: argparse.ArgumentParser) -> None:
    """Profile-only twists on the shared declarations: the request-count default, AIPerf values."""
    for action in parser._actions:  # argparse has no public lookup by dest
        if action.dest == "request_count":
            action.default = None  # not given: decided in resolve_request_count
            action.help = REQUEST_COUNT_HELP
        elif action.dest in UNSUPPORTED_AIPERF_VALUES:
            action.type = _refusing_unsupported(action.dest, action.type)
        elif action.dest == "server_metrics":
            action.nargs = "*"  # AIPerf's `--server-metrics [URL ...]`: a bare flag adds nothing
        elif action.dest == "server_metrics_formats":
            action.nargs = "+"  # AIPerf's `--server-metrics-formats json csv`


def _flatten_aiperf_lists(args: argparse.Namespace) -> None:
    """AIPerf's list forms (see _adapt_shared_options) back to the shared options' values."""
    if args.server_metrics:
        args.server_metrics = [url for group in args.server_metrics for url in group] or None
    if isinstance(args.server_metrics_formats, list):
        args.server_metrics_formats = ",".join(args.server_metrics_formats)


def resolve_request_count(args: argparse.Namespace) -> int:
    """The request count the run uses: as given, else AIPerf's default unless a duration bounds it."""
    if args.request_count is not None:
        return args.request_count
    return 0 if args.benchmark_duration else AIPERF_DEFAULT_REQUEST_COUNT


def normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    return url


def _values(args: argparse.Namespace) -> dict:
    return {opt.dest: getattr(args, opt.dest, opt.default) for opt in options.OPTIONS}


def _check(values: dict) -> None:
    """Everything that can be wrong with the options or the input, before any request."""
    from rankperf_data.run_config import RunConfig

    RunConfig.parse(values).build_dataset()


def _check_writable(artifact_dir: Path) -> None:
    """The artifact directory can be created (checked before anything is created or sent)."""
    parent = artifact_dir
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"--artifact-dir {str(artifact_dir)!r}: cannot create it ({parent} is not a "
                         "writable directory)")


def _check_url(args: argparse.Namespace, values: dict) -> None:
    """--url with the endpoint path: a usable http(s) URL that does not double the API's route."""
    from rankperf_data.load.settings import parse_endpoint
    from rankperf_data.load.target import check_targets

    check_targets(normalise_url(args.url), [apis.BY_ENDPOINT_TYPE[args.endpoint_type]],
                  parse_endpoint(values["endpoint"]), values["cohere_api_version"], flag="--url")


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


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
CHILD_STOP_WAIT_S = 30.0  # for Locust to write its report after a stop, before SIGTERM
CHILD_KILL_WAIT_S = 10.0  # after that SIGTERM, before SIGKILL
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _libc_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def child_setup(parent_pid: int):
    """preexec_fn for the Locust child: it ends (with its report) if we die, and leaves hang-ups
    to us, since we turn them into a SIGTERM it handles cleanly (a SIGHUP would kill it outright)."""
    prctl = _libc_prctl()  # looked up before the fork

    def setup() -> None:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != parent_pid:  # we died before prctl took effect
                os.kill(os.getpid(), signal.SIGTERM)

    return setup


class ChildSupervisor:
    """While the Locust child runs, turn SIGINT/SIGTERM/SIGHUP sent to us into a clean stop of it.

    SIGTERM and SIGHUP are forwarded as SIGTERM. A SIGINT is not forwarded when the child is in
    our process group: Ctrl-C already reached it, and a second SIGINT would cut its report short.
    Either way the child gets CHILD_STOP_WAIT_S to write its report, then SIGTERM, then SIGKILL.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.proc: subprocess.Popen | None = None
        self._stop_at = 0.0
        self._escalations = 0
        self._previous: dict[int, object] = {}

    def __enter__(self) -> ChildSupervisor:
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def watch(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        if self.signum is not None:  # the signal came while the child was being started: it missed it
            proc.send_signal(signal.SIGTERM)

    def _on_signal(self, signum: int, _frame) -> None:
        if self.signum is not None:
            return  # already stopping; the deadlines in poll() still bound the wait
        self.signum = signum
        self._stop_at = time.monotonic()
        if self.proc is not None:
            self._stop_child()

    def _stop_child(self) -> None:
        if self.proc.poll() is not None:
            return
        if self.signum != signal.SIGINT:
            self.proc.send_signal(signal.SIGTERM)
        elif not self._child_in_our_group():
            self.proc.send_signal(signal.SIGINT)

    def _child_in_our_group(self) -> bool:
        try:
            return os.getpgid(self.proc.pid) == os.getpgrp()
        except ProcessLookupError:
            return True  # gone already: nothing to send

    def poll(self) -> bool:
        """True once the child has exited; past a stop's deadlines, escalate."""
        if self.proc.poll() is not None:
            return True
        if self.signum is not None:
            waited = time.monotonic() - self._stop_at
            if self._escalations == 0 and waited > CHILD_STOP_WAIT_S:
                self._escalations = 1
                self.proc.send_signal(signal.SIGTERM)
            elif self._escalations == 1 and waited > CHILD_STOP_WAIT_S + CHILD_KILL_WAIT_S:
                self._escalations = 2
                self.proc.kill()
        return False


def _artifact_dir(args: argparse.Namespace) -> Path:
    if args.artifact_dir:
        return Path(args.artifact_dir)
    from rankperf_data.report.artifacts import default_artifact_dir

    rate = args.request_rate or None
    return Path(default_artifact_dir(args.model, args.endpoint_type, None if rate else args.concurrency, rate))


def _point_namespace(args: argparse.Namespace, values: dict) -> argparse.Namespace:
    point = argparse.Namespace(**vars(args))
    for dest, value in values.items():
        setattr(point, dest, value)
    point.concurrency = point.concurrency or 1
    point.request_count = resolve_request_count(point)
    return point


def _run_campaign(args: argparse.Namespace) -> int:
    """Sweeps, trials, search: every point is one run of run_profile into its own folder."""
    from rankperf_data.campaign.flags import CampaignError, campaign_config
    from rankperf_data.campaign.runner import run_campaign

    try:
        cfg = campaign_config(args)
        firsts = [p.values for p in cfg.points]
        if cfg.recipe:
            firsts = [{"concurrency" if cfg.recipe == "max-concurrency-under-sla" else "request_rate": cfg.search_lo}]
        for values in firsts:  # every point's options and input, before any load
            _check(_values(_point_namespace(args, values)))
    except (CampaignError, InputError) as exc:
        sys.stderr.write(f"rankperf: error: {exc}\n")
        return 2
    base = Path(args.artifact_dir) if args.artifact_dir else _artifact_dir(_point_namespace(args, firsts[0]))
    return run_campaign(args, cfg, run_profile, base.resolve())


def run_profile(args: argparse.Namespace) -> int:
    from rankperf_data.campaign.flags import is_campaign

    if is_campaign(args):
        return _run_campaign(args)
    if args.concurrency is None:
        args.concurrency = 1
    quiet = getattr(args, "campaign_quiet", False)  # one point of a campaign: the campaign reports
    count_defaulted = args.request_count is None
    args.request_count = resolve_request_count(args)
    _flatten_aiperf_lists(args)
    values = _values(args)
    artifact_dir = _artifact_dir(args).resolve()
    try:
        _check_url(args, values)
        _check_writable(artifact_dir)
        _check(values)
        (artifact_dir / "logs").mkdir(parents=True, exist_ok=True)
    except InputError as exc:
        sys.stderr.write(f"rankperf: error: {exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"rankperf: error: --artifact-dir {str(artifact_dir)!r}: cannot create it "
                         f"({exc.strerror or exc})\n")
        return 2
    progress_file = artifact_dir / ".progress.json"
    progress_file.unlink(missing_ok=True)
    env = dict(os.environ)
    env[PROGRESS_ENV] = str(progress_file)
    env["RANKPERF_CLI_COMMAND"] = redacted_command(["rankperf", *getattr(args, "argv", ["profile"])])
    if args.api_key:
        env[options.API_KEY_ENV] = args.api_key  # via the environment: never on a command line
    cmd = build_locust_command(args, values, artifact_dir)
    log_path = artifact_dir / "logs" / "locust.log"
    show_progress = sys.stdout.isatty() and args.ui_type != "none"
    if count_defaulted and args.request_count and not quiet:
        print(f"rankperf: no --request-count or --benchmark-duration: sending {args.request_count} requests "
              "(AIPerf's default; --request-count 0 means no limit)", flush=True)
    if not show_progress and not quiet:
        print(f"rankperf: profiling {normalise_url(args.url)} ({args.endpoint_type}); Locust log: {log_path}",
              flush=True)
    with ChildSupervisor() as supervisor, open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                preexec_fn=child_setup(os.getpid()))
        supervisor.watch(proc)
        _wait(supervisor, progress_file, args, show_progress)
    progress_file.unlink(missing_ok=True)
    code = _report(_exit_status(proc.returncode), artifact_dir, log_path, quiet)
    if supervisor.signum is not None:
        sys.stderr.write(f"rankperf: stopped by {signal.Signals(supervisor.signum).name}\n")
        return 128 + supervisor.signum
    return code


def _exit_status(returncode: int) -> int:
    """A child killed by signal N (returncode -N) reads as the shell's 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def _wait(supervisor: ChildSupervisor, progress_file: Path, args: argparse.Namespace, show: bool) -> None:
    if not show:
        while not supervisor.poll():
            time.sleep(0.2)
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    total = args.request_count or None
    columns = [TextColumn("Profiling"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[count]}"),
               TimeElapsedColumn(), TextColumn("{task.fields[rate]}")]
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("profiling", total=total, count="", rate="")
        while not supervisor.poll():
            time.sleep(0.2)
            try:
                data = orjson.loads(progress_file.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue
            _show_progress(bar, task, data, args)


def _show_progress(bar, task, data: dict, args: argparse.Namespace) -> None:
    """Count-bounded runs: done/total; duration-bounded: the share of the duration elapsed."""
    done = data["done"]
    rate = f"{data['rate']:,.1f} req/s" if data.get("rate") else "warming up"
    if data.get("p50_ms") is not None:  # from the merged sketches (approximate, 0.5 %)
        rate += f"  p50 ~{data['p50_ms']:,.1f} ms  p99 ~{data['p99_ms']:,.1f} ms  errors {data.get('errors', 0):,}"
    if args.request_count:
        bar.update(task, completed=done, count=f"{done:,}/{args.request_count:,}", rate=rate)
    elif args.benchmark_duration:
        elapsed = min(data.get("measured_elapsed", 0.0), args.benchmark_duration)
        bar.update(task, total=args.benchmark_duration, completed=elapsed, count=f"{done:,} requests", rate=rate)
    else:
        bar.update(task, completed=done, count=f"{done:,} requests", rate=rate)


def _table_for_this_output(artifact_dir: Path, console_txt: Path) -> str:
    """The saved table (full width) for pipes and files; re-rendered to fit a terminal."""
    if not sys.stdout.isatty():
        return console_txt.read_text()
    from rankperf_data.report.console import render_console
    from rankperf_data.report.metrics import summarize
    from rankperf_data.results.disk import load_run

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


def _first_error(artifact_dir: Path) -> str:
    """Why the run failed, in one line: why it was stopped early, else its most common error."""
    try:
        data = orjson.loads((artifact_dir / "profile_export_aiperf.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return ""
    notes = data.get("notes") or (data.get("rankperf") or {}).get("notes") or []
    stopped = [n for n in notes if isinstance(n, str) and n.startswith("stopped early: ")]
    if stopped:
        return stopped[0]
    errors = data.get("error_summary") or []
    return str(errors[0]["error_details"]["message"]) if errors else ""


def _report(code: int, artifact_dir: Path, log_path: Path, quiet: bool = False) -> int:
    console_txt = artifact_dir / "profile_export_console.txt"
    if console_txt.exists() and quiet:
        return code
    if console_txt.exists():
        print(f"Results saved to: {artifact_dir}")
        sys.stdout.write(_table_for_this_output(artifact_dir, console_txt))
        sys.stdout.write("\n")
        for name in ("profile_export_aiperf.json", "profile_export_aiperf.csv", "profile_export.jsonl"):
            if (artifact_dir / name).exists():
                print(f"{'JSON' if name.endswith('json') else 'CSV' if name.endswith('csv') else 'Records'} "
                      f"Export: {artifact_dir / name}")
        print(f"Log File: {log_path}")
        if code == 1 and _all_failed(artifact_dir):
            cause = _first_error(artifact_dir)
            sys.stderr.write(f"rankperf: every request failed ({cause or 'see the error summary above'}): "
                             "check --url, --endpoint and --endpoint-type, and that the server is up\n")
    else:
        tail = log_path.read_text(errors="replace").splitlines()[-20:]
        sys.stderr.write("rankperf: the run wrote no report; last lines of the Locust log:\n  "
                         + "\n  ".join(tail) + "\n")
        return code or 1
    return code
