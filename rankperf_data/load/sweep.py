"""Sweeps from plain `locust` (--sweep-users 1,4,16 or --request-rate 50,100): one exact run per point.

Runs on the master (or the local runner). Each point is an ordinary rankperf run: when its budget is
spent the runner is stopped, the point's report is written into its own folder (concurrency_4/,
rate_50.0/) by the single-run path, and the runner is started again with the next point's users or
rate, so the coordinator, its index grants and every worker's load process start afresh. After the
last point the aggregates are rebuilt from the folders with rankperf_data.campaign, the same files
`rankperf profile` writes; headless then quits, the web UI goes idle. An interrupted sweep keeps every
finished point and marks the aggregates partial.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import gevent
from locust import events
from locust.runners import MasterRunner

from rankperf_data.campaign import console
from rankperf_data.campaign.lists import ListError, SweepPlan, sweep_plan
from rankperf_data.campaign.manifest import Manifest
from rankperf_data.campaign.plan import Point, run_dir
from rankperf_data.campaign.rebuild import rebuild
from rankperf_data.campaign.runner import print_result
from rankperf_data.campaign.runs import RunValues, read_run
from rankperf_data.dataset.errors import InputError
from rankperf_data.report.artifacts import default_artifact_dir

log = logging.getLogger("rankperf")

WORKERS_READY_S = 30.0  # a stopped worker says "ready" again at once (after --stop-timeout)
# the option values a sweep sets per point; restored when a web UI sweep ends
POINT_OPTIONS = ("num_users", "spawn_rate", "request_rate", "artifact_dir", "random_seed")


@dataclass
class Sweep:
    """One sweep in progress: its plan, its folder, the point running now, what finished."""

    plan: SweepPlan
    base: Path
    users: int  # -u: the in-flight cap of an open-loop sweep
    manifest: Manifest
    original: dict
    index: int = 0
    switching: bool = False  # between two points: the stop is the sweep's own
    started: bool = False  # the current point's test start was seen
    successes: int = 0
    rows: list[dict] = field(default_factory=list)  # Rankings tab: one per finished point

    @property
    def point(self) -> Point:
        return self.plan.points[self.index]

    def folder(self, point: Point) -> Path:
        return run_dir(self.base, point, 1, 1, "repeated")


CURRENT: dict[str, Sweep | None] = {"sweep": None}
LAST: dict[str, Sweep | None] = {"sweep": None}  # the web UI keeps showing the last sweep's rows
_LISTENERS: set[str] = set()


def active() -> Sweep | None:
    return CURRENT["sweep"]


# ---- start --------------------------------------------------------------------------------------
def _plan(parsed) -> SweepPlan | None:
    try:
        return sweep_plan(getattr(parsed, "sweep_users", ""), getattr(parsed, "request_rate", 0.0),
                          getattr(parsed, "random_seed", -1), getattr(parsed, "request_count", 0),
                          getattr(parsed, "benchmark_duration", 0.0))
    except ListError as exc:
        raise InputError(str(exc)) from None


def _base(environment, plan: SweepPlan, parsed) -> Path:
    from rankperf_data.load.finish import _api_for

    if getattr(parsed, "artifact_dir", ""):
        return Path(parsed.artifact_dir).resolve()
    first = plan.points[0]
    users = plan.users(first, int(getattr(parsed, "num_users", 1) or 1))
    api = _api_for(environment)
    return default_artifact_dir(parsed.model or "model", api.endpoint_type,
                                None if plan.rate(first) else users, plan.rate(first) or None).resolve()


def _begin(environment, plan: SweepPlan) -> Sweep:
    parsed = environment.parsed_options
    sweep = Sweep(plan, _base(environment, plan, parsed), int(getattr(parsed, "num_users", 1) or 1),
                  Manifest("sweep", plan.points), {k: getattr(parsed, k, None) for k in POINT_OPTIONS})
    sweep.manifest.write(sweep.base)
    CURRENT["sweep"] = sweep
    _apply(environment, sweep)
    return sweep


def _apply(environment, sweep: Sweep) -> None:
    """Set the options of the point about to run: its users, rate, seed and folder."""
    parsed = environment.parsed_options
    point = sweep.point
    parsed.num_users = sweep.plan.users(point, sweep.users)
    parsed.spawn_rate = float(parsed.num_users)  # every user of a point starts at once
    parsed.request_rate = sweep.plan.rate(point)
    parsed.random_seed = point.seed
    parsed.artifact_dir = str(sweep.folder(point))


def install(environment) -> None:
    """At `init` on the master: check the lists (exit 2 on bad input, before any load); a headless
    (or --autostart) sweep sets its first point now, so Locust starts it with that point's users."""
    _add_listeners(environment)
    parsed = environment.parsed_options
    if parsed is None or (environment.web_ui is not None and not getattr(parsed, "autostart", False)):
        return  # the web UI: checked and planned at each start, from the form's values
    try:
        plan = _plan(parsed)
        if plan is not None and getattr(parsed, "run_time", None):
            raise InputError("-t/--run-time would end a sweep in the middle of a point: each point's "
                             "budget is --request-count or --benchmark-duration")
    except InputError as exc:
        sys.stderr.write(f"rankperf: error: {exc}\n")
        sys.exit(2)
    if plan is not None:
        _begin(environment, plan)


def before_start(environment) -> None:
    """At each test start on the master: the sweep's next point runs as set; a fresh start (the
    first headless one, or a web UI start) plans the sweep from the options. InputError when bad."""
    sweep = active()
    if sweep is not None and not sweep.started:
        sweep.started = True
        return
    if sweep is not None:  # a new start while a sweep was running (web UI): that sweep is over
        _end_sweep(environment, sweep, interrupted=True)
    plan = _plan(environment.parsed_options)
    if plan is not None:
        _begin(environment, plan).started = True


# ---- between points ------------------------------------------------------------------------------
def on_point_complete(environment, coord, state) -> bool:
    """The running point's budget is spent: go on with the sweep (True), or not a sweep (False)."""
    sweep = active()
    if sweep is None:
        return False
    sweep.switching = True
    try:
        _next(environment, coord, state, sweep)
    finally:
        sweep.switching = False
    return True


def _next(environment, coord, state, sweep: Sweep) -> None:
    from rankperf_data.load import finish

    runner = environment.runner
    expected = len(runner.clients) if isinstance(runner, MasterRunner) else 0
    runner.stop()  # a web UI stop writes the point's report itself (hooks: test_stop)
    if not coord.finished:
        state.last_artifacts = finish.finalize(environment, coord, state, cancelled=coord.cancelled or not coord.complete)
    _point_finished(sweep)
    if sweep.index + 1 >= len(sweep.plan.points):
        _end_sweep(environment, sweep, interrupted=False)
        if environment.web_ui is None:
            if isinstance(runner, MasterRunner):
                _wait_for_workers(runner, expected)  # only a listed worker is told to quit
            runner.quit()
        return
    if getattr(state, "interrupted", False):
        return  # shutting down (Ctrl-C): the `quit` listener writes the partial aggregate
    sweep.index += 1
    _apply(environment, sweep)
    if isinstance(runner, MasterRunner):
        _wait_for_workers(runner, expected)
    if getattr(state, "interrupted", False):
        return
    parsed = environment.parsed_options
    sweep.started = False  # the test start that follows (now, or in a Locust greenlet) is this point's
    runner.start(parsed.num_users, parsed.spawn_rate)


def _wait_for_workers(runner, expected: int) -> None:
    """A stopped worker leaves the runner's list and comes back "ready": start only when all have."""
    deadline = time.monotonic() + WORKERS_READY_S
    while len(runner.clients.ready) < expected and time.monotonic() < deadline:
        gevent.sleep(0.1)
    if len(runner.clients.ready) < expected:
        log.warning("rankperf: %d of %d workers ready for the next sweep point; starting with those",
                    len(runner.clients.ready), expected)


def _point_finished(sweep: Sweep) -> RunValues:
    point = sweep.point
    folder = sweep.folder(point)
    run = read_run(folder, point.dir_name)
    sweep.successes += run.successful
    total = len(sweep.plan.points)
    print(console.progress_line(sweep.index + 1, total, point.label, run, None), flush=True)
    sweep.rows.append(point_row(sweep.index + 1, total, point, run))
    sweep.manifest.write(sweep.base)
    rebuild(sweep.base, sweep.manifest)  # the aggregate so far: an interrupted sweep keeps it
    return run


def point_row(n: int, total: int, point: Point, run: RunValues) -> dict[str, str]:
    """One Rankings tab row for a finished point: its rates in the label, latency stats in the columns."""
    latency = run.values.get("request_latency", {})

    def num(stat: str) -> str:
        value = latency.get(stat)
        return "" if value is None else f"{value:.2f}"

    passages = run.values.get("passage_throughput", {}).get("avg")
    rps = run.values.get("request_throughput", {}).get("avg")
    count = run.values.get("request_count", {}).get("avg")
    label = f"Sweep point {n}/{total} {point.label}: "
    label += (f"{passages:,.1f} passages/s, {rps:,.1f} req/s, request latency ms ->" if run.successful
              else f"no successful request ({run.error or 'see its report'})")
    return {"metric": label, **{s: num(s) for s in ("avg", "min", "max", "p50", "p90", "p99", "std")},
            "count": "" if count is None else str(int(count))}


def rankings_rows() -> list[dict[str, str]]:
    """Rows the Rankings tab adds for the current (or last) sweep's finished points."""
    sweep = active() or LAST["sweep"]
    return list(sweep.rows) if sweep is not None else []



# ---- the end -------------------------------------------------------------------------------------
def _end_sweep(environment, sweep: Sweep, interrupted: bool) -> None:
    """Write the manifest's status and every aggregate, print the table and the answer."""
    CURRENT["sweep"] = None
    LAST["sweep"] = sweep
    sweep.manifest.status = "interrupted" if interrupted else "complete"
    sweep.manifest.write(sweep.base)
    print_result(rebuild(sweep.base, sweep.manifest), sweep.base)
    sys.stdout.flush()
    if interrupted:
        done = len(sweep.rows)
        sys.stderr.write(f"rankperf: sweep interrupted: {done} of {len(sweep.plan.points)} points finished, "
                         "aggregates marked partial\n")
    else:
        environment.process_exit_code = 0 if sweep.successes else 1
    parsed = environment.parsed_options
    if environment.web_ui is not None:  # the form shows what the user gave, not the last point
        for key, value in sweep.original.items():
            setattr(parsed, key, value)


def _add_listeners(environment) -> None:
    """Registered at `init`, after the hooks' own listeners: a stop's report is written first."""
    if "stop" in _LISTENERS:
        return
    _LISTENERS.add("stop")

    def on_test_stop(environment, **_kw) -> None:
        sweep = active()
        if sweep is not None and not sweep.switching and sweep.started and environment.web_ui is not None:
            _end_sweep(environment, sweep, interrupted=True)  # the Stop button, in the middle of a point

    def on_quit(**_kw) -> None:
        sweep = active()
        if sweep is not None:  # Ctrl-C or a signal: the finished points stay, the aggregates say partial
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            _end_sweep(environment, sweep, interrupted=True)

    events.test_stop.add_listener(on_test_stop)
    events.quit.add_listener(on_quit)
    if environment.web_ui is not None:
        _first_point_users(environment.web_ui, environment)


def _first_point_users(web_ui, environment) -> None:
    """A web UI start with --sweep-users starts the first point's users, all at once (the form's
    user count and spawn rate are then ignored, like -u/-r on the command line). A --request-rate
    list in the form is kept as text: Locust casts a form value to the type of the current value."""
    from flask import request
    from werkzeug.datastructures import ImmutableMultiDict

    from rankperf_data.campaign.lists import users_list

    @web_ui.app.before_request
    def _sweep_users_form():
        if request.method != "POST" or not request.path.endswith("/swarm"):
            return None
        parsed = environment.parsed_options
        if parsed is not None and "request_rate" in request.form and not isinstance(parsed.request_rate, str):
            parsed.request_rate = f"{parsed.request_rate:g}"  # options.value parses the text again
        try:
            users = users_list(request.form.get("sweep_users", ""))
        except ListError:
            return None  # refused at the start, with the reason in the Rankings tab
        if users:
            form = request.form.copy()
            form["user_count"] = str(users[0])
            form["spawn_rate"] = str(users[0])
            request.form = ImmutableMultiDict(form)
        return None
