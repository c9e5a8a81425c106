"""Locust glue: options, messages and events that connect the coordinator and the load processes.

Importing this module (the locustfiles do, through ``users.py``) registers the listeners. Roles:
a MasterRunner coordinates, a WorkerRunner sends, a LocalRunner does both in one process with
the same messages (Locust delivers them synchronously there).
"""

from __future__ import annotations

import logging
import signal
import sys
import time

import gevent
from gevent.event import Event
from locust import events
from locust.runners import STATE_MISSING, LocalRunner, MasterRunner, WorkerRunner

from rankperf_data import apis, options
from rankperf_data.dataset import notices
from rankperf_data.dataset.errors import InputError
from rankperf_data.load import classes, finish, kept_records, messages, progress, ramp, sweep
from rankperf_data.load.coordinator import Coordinator
from rankperf_data.load.process import LoadProcess
from rankperf_data.load.settings import LoadSettings, option_values, require_finite
from rankperf_data.load.target import check_targets
from rankperf_data.run_config import RunConfig

log = logging.getLogger("rankperf")

TICK_S = 0.25
END_DELAY_S = 0.2  # never quit from inside the message loop
ANCHOR_DELAY_S = 0.3  # open loop, several processes: schedules start this long after the first grant
COLLECT_TIMEOUT_S = 3.0  # interrupted distributed run: how long to wait for the workers' last records


class _State:
    """Process-wide: at most one coordinator (master role) and one load process (worker role)."""

    def __init__(self) -> None:
        self.environment = None
        self.coordinator: Coordinator | None = None
        self.config: dict | None = None
        self.process: LoadProcess | None = None
        self.ready = Event()
        self.config_event = Event()
        self.monitor: gevent.Greenlet | None = None
        self.master_config: dict = {}  # the wire form sent to the workers (RunConfig.to_wire + references)
        self.master_run: RunConfig | None = None  # the master's parsed configuration of the current run
        self.validated: tuple[RunConfig, object] | None = None  # checked at init, used by the first start
        self.master_dataset = None  # the master's own copy, for inputs.json and the report
        self.last_artifacts = None  # directory of the last finished run (web UI downloads)
        self.start_error = ""  # why the last start was refused (shown in the web UI)
        self.start_before_init = False  # a late worker got its first spawn before `init` fired
        self.sigint_installed = False
        self.worker_quitting_added = False
        self.master_quitting_added = False
        self.interrupted = False  # SIGINT seen (or shutting down): a second one is ignored
        self.scraper = None  # server_scrape.ServerScraper of the current run (master role), or None
        self.rtt_probe = None  # rtt_probe.RttProbe with --network-latency-automatic (master role), or None


STATE = _State()


def is_master(runner) -> bool:
    return isinstance(runner, (MasterRunner, LocalRunner))


def is_worker(runner) -> bool:
    return isinstance(runner, (WorkerRunner, LocalRunner))


def public_values(parsed) -> dict:
    """Option values safe to send and store: secrets left out."""
    values = option_values(parsed)
    for opt in options.OPTIONS:
        if opt.secret:
            values.pop(opt.dest, None)
    return values


def validate(values: dict, environment=None) -> tuple[RunConfig, object]:
    """Raise InputError for bad options, a bad target (-H + endpoint path) or input files, before
    any request. Options and target come before the dataset, and so before any tokenizer notice.
    Returns the run configuration and its dataset, which the run starts with if the options are
    still the same then (a headless run: the input is read and counted once)."""
    check = None if environment is None else (lambda settings: check_run_target(environment, settings))
    run = RunConfig.parse(values, check_target=check)
    return run, run.build_dataset()


def check_run_target(environment, settings: LoadSettings) -> None:
    """The base URL (-H) with the path of each rerank user class the run may start."""
    classes = getattr(environment.runner, "user_classes", None) or environment.user_classes or []
    used = [apis.BY_USER_CLASS[c.__name__] for c in classes if c.__name__ in apis.BY_USER_CLASS]
    if not used:
        return  # a locustfile of the user's own: its classes post wherever they like
    if not environment.host:
        raise InputError("-H/--host: no server given; pass its base URL, e.g. -H http://127.0.0.1:8000")
    check_targets(environment.host.rstrip("/"), used, settings.endpoint, settings.cohere_api_version,
                  flag="-H/--host")


def current_process(timeout: float = 30.0) -> LoadProcess:
    """The load process of this worker; users call this (it is ready before they spawn)."""
    if not STATE.ready.wait(timeout) or STATE.process is None:
        raise RuntimeError("rankperf: load process not configured (no config from the master)")
    return STATE.process


# ---- registration ------------------------------------------------------------------------------
@events.init_command_line_parser.add_listener
def _add_options(parser, **_kw) -> None:
    options.add_locust_arguments(parser)
    kept_records.add_argument(parser)


@events.init.add_listener
def _on_init(environment, **_kw) -> None:
    STATE.environment = environment
    runner = environment.runner
    if runner is None:
        return
    notices.set_worker_process(isinstance(runner, WorkerRunner))
    try:  # a worker's own --records-dir, before the master's options replace its own
        kept_records.capture(environment.parsed_options, isinstance(runner, WorkerRunner))
    except kept_records.KeptRecordsError as exc:
        sys.stderr.write(f"rankperf: error: {exc}\n")
        sys.exit(2)
    if is_master(runner):
        runner.register_message(messages.QUOTA, _msg(lambda c, n, d: c.on_quota(n, d)))
        runner.register_message(messages.RECORDS, _msg(lambda c, n, d: c.on_records(n, d)))
        runner.register_message(messages.SUMMARY, _msg(lambda c, n, d: c.on_summary(n, d)))
        runner.register_message(messages.DONE, _msg(lambda c, n, d: c.on_done(n, d)))
        runner.register_message(messages.USERS, _msg(lambda c, n, d: c.on_users(n, int(d["users"]))))
        runner.register_message(messages.NEED_CONFIG, _on_need_config)
        runner.register_message(messages.STOP_RUN, _on_stop_run)
        classes.check_startup(environment)  # several user classes, none chosen: exit 2 before any load
        sweep.install(environment)  # --sweep-users / --request-rate lists: checked, first point set
        parsed = environment.parsed_options
        if parsed is not None and environment.web_ui is None:
            try:
                STATE.validated = validate(public_values(parsed), environment)
            except InputError as exc:
                sys.stderr.write(f"rankperf: error: {exc}\n")
                sys.exit(2)
    if environment.web_ui is not None and is_master(runner):
        from rankperf_data.load import webui

        webui.install(environment, STATE)
        classes.install_picker_guard(environment)
    if is_worker(runner):
        runner.register_message(messages.CONFIG, _on_config)
        runner.register_message(messages.GRANT, _on_grant)
        runner.register_message(messages.CLOSE, _on_close)
        runner.register_message(messages.STOP_NOW, _on_stop_now)
        runner.register_message(messages.ADOPT, _on_adopt)
    if isinstance(runner, WorkerRunner) and not STATE.worker_quitting_added:
        # Added after the WorkerRunner's own `quitting` listener, which tells the master "quit";
        # Locust fires `quitting` in reverse order, so this one runs first: the master gets the
        # last records and "done" before it hears that the worker left.
        STATE.worker_quitting_added = True
        events.quitting.add_listener(_on_worker_quitting)
    if isinstance(runner, MasterRunner) and not STATE.master_quitting_added:
        # Added after the MasterRunner's own `quitting` listener (its quit(): it tells the workers
        # "quit" and, half a second later, kills the loop that receives their messages); fired in
        # reverse order, this one runs first, while that loop still delivers the last records.
        STATE.master_quitting_added = True
        events.quitting.add_listener(_on_master_quitting)
    _interrupt_in_main_greenlet()
    if is_worker(runner) and STATE.start_before_init:
        STATE.start_before_init = False
        _start_process(environment)


def _msg(handler):
    def listener(environment, msg, **_kw) -> None:
        if STATE.coordinator is not None:
            handler(STATE.coordinator, msg.node_id, msg.data)

    return listener


def _on_grant(environment, msg, **_kw) -> None:
    if STATE.process is not None:
        STATE.process.on_grant(msg.data)


def _on_adopt(environment, msg, **_kw) -> None:
    if STATE.process is not None:
        STATE.process.adopt(int(msg.data["share"]))


def _on_close(environment, msg, **_kw) -> None:
    if STATE.process is not None:
        STATE.process.on_close()


def _on_config(environment, msg, **_kw) -> None:
    STATE.config = msg.data
    STATE.config_event.set()


def _on_stop_run(environment, msg, **_kw) -> None:
    """A load process found that no request can succeed (https:// to a plain-HTTP server): stop
    the run now, with the reason in its notes, instead of failing every request left."""
    coord = STATE.coordinator
    if coord is None or coord.finished or coord.ending:
        return
    reason = str(msg.data.get("reason") or "the target cannot be reached")
    log.error("rankperf: stopping the run: %s", reason)
    coord.notes.append(f"stopped early: {reason}")
    coord.cancelled = True
    coord.close("the target cannot work")
    coord.ending = True
    runner = environment.runner
    gevent.spawn_later(END_DELAY_S, runner.stop if environment.web_ui else runner.quit)


def _on_need_config(environment, msg, **_kw) -> None:
    """A worker joined after the start: count it in and send it the run's configuration."""
    coord = STATE.coordinator
    runner = environment.runner
    if coord is None or coord.finished or not isinstance(runner, MasterRunner):
        return
    coord.expect(msg.node_id, runner.get_worker_index(msg.node_id), late=True)
    runner.send_message(messages.CONFIG, {**STATE.master_config, "late": True}, client_id=msg.node_id)


# ---- a measurement starts ---------------------------------------------------------------------
@events.test_start.add_listener
def _on_test_start(environment, **_kw) -> None:
    runner = environment.runner
    if runner is None:
        # A worker that joins a running test can get its first spawn while Locust is still
        # connecting (before `environment.runner` is set and `init` fires): start from `init`.
        STATE.start_before_init = True
        return
    if is_master(runner):
        ramp.CLOCK.start(time.time_ns())
        _start_coordinator(environment)
    if is_worker(runner):
        _start_process(environment)


def _live_nodes(runner) -> set[str] | None:
    if isinstance(runner, MasterRunner):
        return {c.id for c in runner.clients.values() if c.state != STATE_MISSING}
    return None


def _start_coordinator(environment) -> None:
    runner = environment.runner
    try:
        sweep.before_start(environment)  # a sweep sets this point's users, rate, seed and folder
        values = public_values(environment.parsed_options)
        validated, STATE.validated = STATE.validated, None
        # the run's one configuration, with its seed (-1: picked once, here or at init), sent to every worker
        if validated is not None and validated[0].values == values:
            run, STATE.master_dataset = validated
        else:
            run = RunConfig.parse(values, check_target=lambda settings: check_run_target(environment, settings))
            STATE.master_dataset = run.build_dataset()
        refs = _references(environment, run.settings, STATE.master_dataset)
    except InputError as exc:
        log.error("rankperf: %s", exc)
        STATE.coordinator = None
        STATE.config = STATE.master_dataset = STATE.master_run = None  # nothing of a previous run may be reused
        STATE.start_error = str(exc)
        gevent.spawn_later(END_DELAY_S, runner.stop if environment.web_ui else runner.quit)
        return
    settings = run.settings
    STATE.master_run = run
    if isinstance(runner, MasterRunner):
        nodes = {c.id: runner.get_worker_index(c.id) for c in runner.clients.values() if c.state != STATE_MISSING}
    else:
        nodes = {"local": 0}

    def send(msg_type: str, data: dict, node: str | None) -> None:
        if isinstance(runner, MasterRunner):
            runner.send_message(msg_type, data, client_id=node)
        else:
            runner.send_message(msg_type, data)

    coord = Coordinator(settings.warmup, settings.request_count, settings.duration, send, open_loop=settings.open_loop,
                        anchor_delay_s=ANCHOR_DELAY_S if isinstance(runner, MasterRunner) else 0.0)
    for node, index in nodes.items():
        coord.expect(node, index)
    _start_scraper(environment, settings, coord)
    _start_rtt_probe(environment, settings)
    STATE.start_error = ""
    STATE.coordinator = coord
    STATE.config = None
    STATE.config_event.clear()
    config = {**run.to_wire(), "workers": len(nodes), **_records_dir(environment, settings)}
    if refs is not None:
        config.update(references=refs.wire, reference_counts=refs.counts())
    STATE.master_config = config
    send(messages.CONFIG, config, None)
    if STATE.monitor is not None:
        STATE.monitor.kill(block=False)
    STATE.monitor = gevent.spawn(_monitor, environment, coord)


def _records_dir(environment, settings: LoadSettings) -> dict:
    """The folder where processes that can see it append their records (the others send them)."""
    try:
        return {"records_dir": str(finish.records_dir_for(environment, settings))}
    except OSError as exc:
        log.warning("rankperf: cannot create the record files' folder (%s); records travel to the master", exc)
        return {}


def _references(environment, settings: LoadSettings, dataset):
    """--check-consistency: every distinct entry sent alone, once, before any load process starts."""
    if not settings.check_consistency:
        return None
    from rankperf_data.load import references  # lazily: it imports the user classes, which import this module

    require_finite(settings, dataset)
    api = finish._api_for(environment)
    return references.collect(environment.host, finish._endpoint_path(api, settings), api, settings, dataset,
                              environment)

def _start_scraper(environment, settings: LoadSettings, coord: Coordinator) -> None:
    """Server metrics for this run: baseline now (before any load), periodic, final at the end."""
    from rankperf_data.load.server_scrape import ServerScraper, metrics_url
    from rankperf_data.report.server_scrapes_file import SPOOL_FILE

    if STATE.scraper is not None:
        STATE.scraper.stop()
    STATE.scraper = None
    if settings.server_metrics_off:
        return
    urls = list(dict.fromkeys([metrics_url(environment.host or ""), *settings.server_metrics]))
    if not environment.host:
        urls = urls[1:]
    if not urls:
        return
    try:
        spool = finish.records_dir_for(environment, settings) / SPOOL_FILE  # the scrapes go to disk, not memory
        STATE.scraper = ServerScraper(urls, warmup=settings.warmup, formats=settings.server_metrics_formats,
                                      spool=spool)
        STATE.scraper.start()
    except Exception:  # server metrics are an extra: they never stop a run
        log.exception("rankperf: server metrics: could not start scraping; the run goes on without it")
        STATE.scraper = None
        return
    coord.on_measured_start = STATE.scraper.profiling_started


def _start_rtt_probe(environment, settings: LoadSettings) -> None:
    """--network-latency-automatic: probe the target's handshake RTT during the run."""
    from rankperf_data.load.rtt_probe import RttProbe

    if STATE.rtt_probe is not None:
        STATE.rtt_probe.finish()
    STATE.rtt_probe = None
    if settings.rtt_automatic and environment.host:
        try:
            STATE.rtt_probe = RttProbe(environment.host, settings.rtt_interval_s)
        except ValueError as exc:  # an invalid port: the users report the URL themselves
            log.warning("rankperf: network latency: cannot probe the target (%s)", type(exc).__name__)
            return
        STATE.rtt_probe.start()


def _start_process(environment) -> None:
    runner = environment.runner
    if STATE.process is not None:
        STATE.process.stop()
    STATE.process = None
    STATE.ready.clear()
    if STATE.config is None and isinstance(runner, WorkerRunner):
        # joined after the run started: ask for the configuration, build when it arrives
        runner.send_message(messages.NEED_CONFIG, {})
        gevent.spawn(_build_when_configured, environment)
        return
    if STATE.config is not None:  # None: the start was refused (bad input), nothing to send
        _build_process(environment)


def _build_when_configured(environment) -> None:
    if STATE.config_event.wait(30):
        _build_process(environment)
    else:
        log.error("rankperf: no configuration received from the master; this worker sends nothing")


def _build_process(environment) -> None:
    runner = environment.runner
    index = runner.worker_index if isinstance(runner, WorkerRunner) else 0

    def send(msg_type: str, data: dict) -> None:
        if msg_type == messages.DONE and isinstance(runner, WorkerRunner):
            runner._send_stats()  # Locust's own counters reach the master before we say done
        runner.send_message(msg_type, data)

    # a local run has the coordinator in this process, with the same dataset already built
    shared = STATE.master_dataset if isinstance(runner, LocalRunner) else None
    config = kept_records.worker_config(STATE.config)
    STATE.process = LoadProcess(config, index, send, shared, users=lambda: runner.user_count)
    users = int(getattr(environment.parsed_options, "num_users", 1) or 1)
    STATE.process.start(users)
    STATE.ready.set()


@events.spawning_complete.add_listener
def _on_spawning_complete(user_count, **_kw) -> None:
    ramp.CLOCK.complete(time.time_ns())  # a no-op where it was not started (workers)
    runner = STATE.environment.runner if STATE.environment else None
    if isinstance(runner, LocalRunner):
        if STATE.process is not None:
            STATE.process.start_schedule()
    elif runner is None or is_worker(runner):
        # a late worker may still wait for its config: it goes on once it has one
        gevent.spawn(_users_in_place, runner)


def _users_in_place(runner) -> None:
    """A worker's users for this dispatch are in place: tell the coordinator how many. A worker
    Locust gave none (fewer users than workers, or the web UI lowered the count) starts no
    schedule and gives back what it holds; one with users starts its arrival schedule."""
    if not STATE.ready.wait(30) or STATE.process is None:
        return
    runner = runner or STATE.environment.runner
    spawning = getattr(runner, "spawning_greenlet", None)
    if spawning is not None:
        # Locust's "spawning complete" can be handled before the greenlet applying the spawn
        # message has run (a busy worker): wait for it, so that the target count is this one
        spawning.join(timeout=5)
    users = int(getattr(runner, "target_user_count", 1) or 0)
    if isinstance(runner, WorkerRunner):
        runner.send_message(messages.USERS, {"users": users})
    if users == 0:
        STATE.process.release()
    else:
        STATE.process.start_schedule()


# ---- the end ----------------------------------------------------------------------------------
def _monitor(environment, coord: Coordinator) -> None:
    runner = environment.runner
    while STATE.coordinator is coord and not coord.finished:
        gevent.sleep(TICK_S)
        coord.tick(_live_nodes(runner))
        progress.write_progress(coord)
        if coord.complete and not coord.ending:
            coord.ending = True
            gevent.spawn_later(END_DELAY_S, _end, environment, coord)
            return


def _end(environment, coord: Coordinator) -> None:
    """The budget is spent and every worker is done: stop (web UI) or quit (headless)."""
    if STATE.coordinator is not coord or coord.finished:
        return  # that run already ended (stopped by hand): never stop the run started after it
    if sweep.on_point_complete(environment, coord, STATE):
        return  # a sweep: this point's report is written, the next point started (or the sweep ended)
    runner = environment.runner
    if environment.web_ui is not None:
        runner.stop()  # artifacts are written in `test_stop`
    else:
        runner.quit()  # artifacts are written in `quitting`, after Locust's final bookkeeping


@events.test_stopping.add_listener
def _on_test_stopping(environment, **_kw) -> None:
    coord = STATE.coordinator
    if coord is not None and is_master(environment.runner) and not coord.complete:
        coord.cancelled = True  # stopped by hand before the budget was spent
        coord.ledger.close()
    process = STATE.process
    if process is not None and is_worker(environment.runner):
        process.abort("cancelled: the test was stopped before this request completed")


def _on_stop_now(environment, msg, **_kw) -> None:
    if STATE.process is not None:
        STATE.process.abort("cancelled: the run was interrupted before this request completed")


def _collect_before_quit(coord: Coordinator, timeout: float = COLLECT_TIMEOUT_S) -> None:
    """Interrupted distributed run: ask workers for their last records and wait a little for them.
    A worker still silent at the deadline is named in the report (partial), never passed over."""
    coord.cancelled = True
    coord.close("interrupted")
    coord.send(messages.STOP_NOW, {}, None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _silent_workers(coord):
        gevent.sleep(0.05)
    for node in _silent_workers(coord):
        coord.mark_lost(node, f"sent no final report within {timeout:g} s of the interruption")


def _silent_workers(coord: Coordinator) -> list[str]:
    return [n for n, s in coord.nodes.items() if s.active and s.done is None and not s.lost]


@events.test_stop.add_listener
def _on_test_stop(environment, **_kw) -> None:
    """Web UI: a stop (by the budget, or the Stop button) ends the measurement: write it out."""
    coord = STATE.coordinator
    runner = environment.runner
    if coord is None or coord.finished or not is_master(runner):
        return
    if environment.web_ui is None:
        if isinstance(runner, MasterRunner) and not coord.ending and not STATE.interrupted:
            # Locust stopped a headless run on its own: every worker missed its heartbeats
            # (a starved machine). Nothing would ever restart it: end it rather than hang.
            log.warning("rankperf: Locust stopped the test before the run was complete; ending it")
            coord.ending = True
            gevent.spawn_later(END_DELAY_S, runner.quit)
        return
    STATE.last_artifacts = finish.finalize(environment, coord, STATE, cancelled=coord.cancelled or not coord.complete)


def _interrupt_in_main_greenlet() -> None:
    """Ctrl-C in a terminal reaches every process of the group, the workers too. Python raises
    KeyboardInterrupt in whichever greenlet runs at that instant: a user mid-request, or the
    loop that receives the workers' records, which then dies with them. Raise it once in the
    main greenlet instead, where Locust's own shutdown (and `quitting`) handles it."""
    if STATE.sigint_installed:
        return
    STATE.sigint_installed = True
    hub = gevent.get_hub()

    def interrupt() -> None:
        hub.parent.throw(KeyboardInterrupt)  # the main greenlet, waiting in Locust's main()

    def on_sigint(_signum, _frame) -> None:
        if STATE.interrupted:
            return  # a second Ctrl-C: the shutdown under way is bounded already
        STATE.interrupted = True
        hub.loop.run_callback(interrupt)  # runs in the hub, never inside a user or message loop

    signal.signal(signal.SIGINT, on_sigint)


def _on_worker_quitting(environment, **_kw) -> None:
    """A worker shutting down (a signal to it or its group, or the master's quit): cancel what
    is in flight, give back what it holds, ship every record and say done, then exit."""
    process = STATE.process
    if process is not None:
        process.abort("cancelled: the run was interrupted before this request completed")
        process.stop()


def _on_master_quitting(environment, **_kw) -> None:
    """A distributed run shutting down before it was complete: collect the workers' last records
    now, before Locust's own quit stops receiving them."""
    _shutting_down()
    coord = STATE.coordinator
    if coord is not None and not coord.finished and not coord.complete:
        _collect_before_quit(coord)


def _shutting_down() -> None:
    # we are shutting down already: a second Ctrl-C must not cut the report short
    STATE.interrupted = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@events.quitting.add_listener
def _on_quitting(environment, **_kw) -> None:
    runner = environment.runner
    if is_master(runner):
        _shutting_down()
    process = STATE.process
    if process is not None and isinstance(runner, LocalRunner):
        process.abort("cancelled: the run was interrupted before this request completed")
        process.stop()
    coord = STATE.coordinator
    if coord is not None and isinstance(runner, MasterRunner) and not coord.finished and not coord.complete:
        _collect_before_quit(coord)
    if coord is not None and is_master(runner) and not coord.finished:
        cancelled = coord.cancelled or not coord.complete
        STATE.last_artifacts = finish.finalize(environment, coord, STATE, cancelled=cancelled)
        exit_code = finish.exit_code(coord)
        if exit_code is not None:
            environment.process_exit_code = exit_code
