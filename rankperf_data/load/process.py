"""Per-process load state: the indices this process may send, its open-loop schedule, its records.

One ``LoadProcess`` lives in every process that runs users (a local run, each `--processes`
child, each `--worker`). It talks to the coordinator only through ``send`` (Locust messages in
practice), so the same code runs locally and distributed.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import numpy as np
from gevent.event import Event
from gevent.lock import Semaphore

from rankperf_data.load import heap, messages, pacing
from rankperf_data.load.arrivals import OPEN_CONNECTION, Arrivals
from rankperf_data.load.catch_up import CatchUp
from rankperf_data.load.grant_size import GrantSizer
from rankperf_data.load.quota import MAX_CHUNK, Grant, RangeQueue
from rankperf_data.load.summaries import SummaryBuilder, warm_up
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.record_files import SUFFIX, RecordFileWriter
from rankperf_data.results.records import PHASE_PROFILING, PHASE_WARMUP, Record, RecordBatch, new_record
from rankperf_data.run_config import RunConfig

log = logging.getLogger("rankperf")

FLUSH_ROWS = 2000  # ship records at this many rows or every FLUSH_SECONDS, whichever first
FLUSH_SECONDS = 1.0
LIVE_COLUMNS = ("status", "passages", "query_tokens", "passage_tokens")  # for the summaries' running totals
PREFETCH_BELOW = 16  # ask for the next range before the current one runs dry
# Open loop: hold about this many seconds of arrivals. The master answers no grant while Locust
# re-dispatches users (a worker joined or left: about a second); arrivals due meanwhile would
# all go out late, in one burst, if the schedule ran out of indices.
HOLD_S = 1.0
# Open loop: users that open their connection before the schedule starts: enough for the arrivals
# of a CONNECT_AHEAD_S stall, at least CONNECT_AHEAD_MIN (never more than there are users).
CONNECT_AHEAD_S = 0.03
CONNECT_AHEAD_MIN = 32
CONNECT_AHEAD_WAIT_S = 1.0  # the longest the schedule waits for them
PAUSE_MAX_S = 0.05  # a flush step waits at most this long for an idle event loop
RETRY_WAIT_S = 0.02  # when the coordinator says "wait" (warmup barrier)

# Anchor epoch time once to a monotonic clock: durations are exact, timestamps comparable.
_EPOCH0 = time.time_ns()
_PERF0 = time.perf_counter_ns()


def epoch_ns(perf_ns: int) -> int:
    return _EPOCH0 + (perf_ns - _PERF0)


def perf_ns(epoch: int) -> int:
    """The inverse of ``epoch_ns``: an epoch instant on this process's monotonic clock."""
    return _PERF0 + (epoch - _EPOCH0)


def _record_file(records_dir: str | None, worker_index: int) -> RecordFileWriter | None:
    """This process's record file, when the master's folder for them is visible from here (same
    host, or a shared volume); None: the records travel to the master in messages."""
    if not records_dir or not os.path.isdir(records_dir):
        return None
    try:
        return RecordFileWriter(Path(records_dir) / f"process-{worker_index}{SUFFIX}")
    except OSError as exc:
        log.warning("rankperf: cannot write a record file in %s (%s); records travel to the master",
                    records_dir, exc)
        return None


class _Pauses:
    """Breaks between the steps of a flush. Each waits until the event loop has nothing else to do
    (at most PAUSE_MAX_S), so that answers and due arrivals go first. A kill that lands in one
    (Locust stopping the user whose request filled the batch) is held until the flush has shipped
    what it took."""

    def __init__(self) -> None:
        self.caught: BaseException | None = None

    def __call__(self) -> None:
        if self.caught is None:
            try:
                with gevent.Timeout(PAUSE_MAX_S, False):
                    gevent.idle()
            except BaseException as exc:  # noqa: BLE001 (re-raised once the records are shipped)
                self.caught = exc

    def reraise(self) -> None:
        if self.caught is not None:
            raise self.caught


class LoadProcess:
    """What this process sends and what it owes the coordinator."""

    def __init__(self, config: dict, worker_index: int, send: Callable[[str, dict], None],
                 dataset: Any = None, users: Callable[[], int] | None = None) -> None:
        """``dataset``: one already built from the same config and seed (a local run shares the
        coordinator's); built here otherwise. ``users``: how many users this process runs now."""
        self.config = config
        self.run = RunConfig.from_wire(config)
        self.settings = self.run.settings
        self.dataset = dataset or self.run.build_dataset()
        self.worker_index = worker_index
        self._send = send
        self.ranges = RangeQueue()
        self.sizer = GrantSizer()  # closed loop: asks sized to about a second of this process's rate
        self.batch = RecordBatch()
        self.summary = SummaryBuilder(worker_index)  # counters + sketches, shipped with each batch
        self.records_file = _record_file(config.get("records_dir"), worker_index)
        # kept on this host (--records-dir): the master names it and never reads the file
        self.kept_on = {"kept": config["records_kept"]} if config.get("records_kept") and self.records_file else {}
        self.issued = 0
        self.completed = 0
        self.succeeded = 0
        self._no_tls_sent = False
        self.returned: list[Grant] = []  # unissued ranges given back when closing or leaving
        self._warmup_unreported = 0
        self._pending = False
        self._granted = Event()
        self._done_sent = False
        self._users = users or (lambda: 1)
        self._released = False  # Locust gave this process no user: hold nothing, run no schedule
        self._stopped = False  # interrupted: never send again
        self._last_flush = time.monotonic()
        self._flushing = Semaphore()
        self._flush_due = Event()  # a full batch waits for the flush loop
        self.in_flight: dict[int, tuple] = {}  # token -> (index, phase, intended, start, sizes)
        self._token = 0
        self.queue: Arrivals | None = None
        self.catch_up = CatchUp(self._crowd)  # open loop: how a schedule that fell behind sends
        self._consumers = 1
        self._greenlets: list[gevent.Greenlet] = []
        self._cpu0: tuple[float, float] | None = None  # (process CPU s, monotonic s) at the first send
        self._anchors: dict[int, int] = {}  # open loop: phase -> perf ns its schedules start from
        self._loops = 0  # open loop: schedule loops running (this worker's share, adopted shares)
        self._adopted: list[int] = []  # shares of workers that left, waiting for the schedule to start
        self._waiting: dict[int, tuple[int, int]] = {}  # schedule loop -> (index, phase) it waits to put
        self._schedules: list[gevent.Greenlet] = []  # open loop: the schedule loops (own share first)
        self._starting = False  # open loop: the schedule starts once connections are open
        self._connected = Event()
        self.connecting = 0
        # --check-consistency: dataset entry -> (order, scores) of its reference answer
        self.references: dict[int, tuple] = {int(e): (tuple(o), tuple(s))
                                             for e, (o, s) in config.get("references", ())}

    # ---- indices -------------------------------------------------------------------------
    def _ask(self) -> None:
        if self._pending or self.ranges.closed:
            return
        self._pending = True
        self._granted.clear()
        delta, self._warmup_unreported = self._warmup_unreported, 0
        if self.queue is None:
            self.sizer.observe(time.monotonic(), self.issued)
        self._send(messages.QUOTA, {"want": self._want(), "warmup_done": delta})

    def _want(self) -> int:
        """Indices to ask for: about a second of this process's measured rate (closed loop), or
        about HOLD_S of its scheduled arrivals (open loop)."""
        if self.queue is None:
            return self.sizer.want
        s = self.settings
        workers = max(1, int(self.config.get("workers", 1)))
        rate = s.rate * max(1, len(self._schedules)) / workers
        return max(MAX_CHUNK, int(rate * HOLD_S))

    def on_grant(self, data: dict) -> None:
        grant = Grant.from_wire(data)
        self._pending = False
        if grant.wait:
            gevent.spawn_later(RETRY_WAIT_S, self._ask)
            return
        if grant.anchor_ns:
            self._anchors.setdefault(grant.phase, perf_ns(grant.anchor_ns))
        if grant.end > grant.start and (self._stopped or self._idle()):
            # asked for before an interruption or before the last user left: nobody here sends it
            self.returned.append(grant)
            self._report_again()
            return
        if self._done_sent and grant.end > grant.start:
            self._done_sent = False  # work handed over from a worker that left: report again after it
        self.ranges.add(grant)
        self._granted.set()
        if grant.closed:
            self._maybe_done()

    def on_close(self) -> None:
        """The coordinator closed the budget (duration over, or stopped): drop unissued indices."""
        self.returned += self.ranges.drop()
        self._granted.set()
        self._maybe_done()

    def release(self) -> None:
        """Locust gave this process no user (fewer users than processes, or the web UI lowered
        the count): what it holds would wait forever. Its arrival schedules stop (the coordinator
        gives them to a process with users) and its indices go back to be granted again."""
        self._released = True
        self._recall_arrivals()
        self.returned += self.ranges.drop(close=False)
        self._granted.set()  # a user still leaving that waits for a grant sees there is none
        self._report_again()

    def _idle(self) -> bool:
        return self._released

    def _resume(self) -> None:
        """Closed loop: users again after a release (the web UI raised the count): take part
        again, keeping what was given back but not reported yet."""
        self._released = False
        for grant in self.returned:
            self.ranges.add(grant)
        self.returned = []

    def _report_again(self) -> None:
        """Something more was given back: say done again (with it) once nothing is in flight."""
        self._done_sent = False
        self._maybe_done()

    def give_back(self, index: int, phase: int) -> None:
        """An index taken but never sent (its user was stopped first): issue it again, or return it."""
        self.issued -= 1
        if self.ranges.closed or self._stopped or self._idle():
            self.returned.append(Grant(index, index + 1, phase))
            self._maybe_done()
        else:
            self.ranges.add(Grant(index, index + 1, phase))

    def take(self) -> tuple[int, int] | None:
        """Next (index, phase) to send, blocking for a grant; None when the budget is spent (or no
        user is left here: only a user on its way out still asks then)."""
        while True:
            if self._released:
                if self.queue is not None or self._users() == 0:
                    return None
                self._resume()
            got = self.ranges.take()
            if got is not None:
                self.issued += 1
                if self._cpu0 is None:
                    self._cpu0 = (time.process_time(), time.monotonic())
                if self.ranges.held() < max(PREFETCH_BELOW, self._want() // 2):
                    self._ask()
                return got
            if self.ranges.closed:
                return None
            self._ask()
            self._granted.wait(timeout=1.0)
            if not self.ranges.held() and not self.ranges.closed:
                self._granted.clear()

    # ---- records ---------------------------------------------------------------------------
    def begin(self, index: int, phase: int, intended_ns: int, start_ns: int, sizes: tuple[int, int, int, int]) -> int:
        """Note a request as in flight; ``sizes`` = (passages, query tokens, passage tokens, body bytes)."""
        self._token += 1
        self.in_flight[self._token] = (index, phase, intended_ns, start_ns, sizes)
        return self._token

    def finish(self, token: int, row: Record, message: str) -> None:
        """Store one finished request (its error_msg is set here, from ``message``)."""
        if self.in_flight.pop(token, None) is None:
            return  # already recorded as cancelled by an interruption
        self.catch_up.request_ended()

        if message:
            row = row._replace(error_msg=self.batch.messages.intern(message))
        self.batch.rows.append(row)
        self.completed += 1
        if row.error_kind == ErrorKind.OK:
            self.succeeded += 1
        if row.phase == PHASE_WARMUP:
            self._warmup_unreported += 1
        if len(self.batch) >= FLUSH_ROWS:
            self._flush_due.set()  # shipped by the flush loop: the user that filled the batch sends on
        self._maybe_done()

    def no_tls(self, reason: str) -> None:
        """An https:// request found no TLS server at the URL. Unless a request from here has
        succeeded, ask the coordinator to stop the run: every other request would fail the same
        way, each after up to --connect-timeout-seconds."""
        if self._no_tls_sent or self.succeeded:
            return
        self._no_tls_sent = True
        self.flush()  # the failure reaches the coordinator before the stop does
        self._send(messages.STOP_RUN, {"reason": reason})

    def cancel(self, token: int, reason: str) -> None:
        """Record one in-flight request as cancelled (its user was stopped mid-request)."""
        entry = self.in_flight.get(token)
        if entry is None:
            return
        index, phase, intended, start, (passages, qtok, ptok, nbytes) = entry
        row = new_record(index=index, phase=phase, worker=self.worker_index, status=0,
                         error_kind=int(ErrorKind.CANCELLED), intended_ns=intended, start_ns=start,
                         end_ns=epoch_ns(time.perf_counter_ns()), passages=passages, results=-1, query_tokens=qtok,
                         passage_tokens=ptok, request_bytes=nbytes, response_bytes=0)
        self.finish(token, row, reason)

    def cancel_in_flight(self, reason: str) -> int:
        """Record every request still in flight as cancelled (run interrupted)."""
        tokens = list(self.in_flight)
        for token in tokens:
            self.cancel(token, reason)
        return len(tokens)

    def abort(self, reason: str) -> None:
        """Interrupted: record what is in flight as cancelled, send nothing more, report now."""
        self._stopped = True
        self.cancel_in_flight(reason)
        self._recall_arrivals()
        self.on_close()
        self.flush()

    def _recall_arrivals(self) -> None:
        """Open loop: indices taken for arrivals not sent yet (a schedule waiting for their time,
        or queued for a user) go back, so that this process can say it is done."""
        if self.queue is None:
            return
        for g in self._schedules:
            g.kill(block=False)
        waiting, self._waiting = list(self._waiting.values()), {}
        while not self.queue.empty():
            item = self.queue.get_nowait()
            if item is not None and item is not OPEN_CONNECTION:
                waiting.append(item[:2])
        for index, phase in waiting:
            self.give_back(index, phase)
        for _ in range(self._consumers):  # users waiting for an arrival stop
            self.queue.put(None)

    def flush(self) -> None:
        """Ship the buffered records, then the summary. A flush of 2,000 rows takes 5-8 ms; it
        yields between its steps (each 1-3 ms) so that answers and due arrivals are not held for
        all of it. One flush at a time: the messages keep their order (no summary or DONE
        overtakes the records before it)."""
        with self._flushing:
            self._last_flush = time.monotonic()
            if not len(self.batch):
                return
            pause = _Pauses()
            wire = self.batch.take_wire()
            pause()
            cols = wire["columns"]
            phase, kind, start, end = (np.asarray(cols[name]) for name in ("phase", "error_kind", "start_ns", "end_ns"))
            live = LIVE_COLUMNS + (("intended_ns",) if self.settings.open_loop else ())
            self.summary.add_rows(phase, kind, start, end, {name: np.asarray(cols[name]) for name in live})
            pause()
            if self.records_file is None:
                self._send(messages.RECORDS, wire)
            else:  # appended here; the coordinator hears the counts and reads the file at the end
                n = self.records_file.append(cols, wire["messages"])
                measured = phase == PHASE_PROFILING
                self._send(messages.RECORDS, {
                    "file": str(self.records_file.path), "rows": n, "profiling": int(measured.sum()),
                    "first_start_ns": int(start[measured].min()) if measured.any() else 0,
                    "last_end_ns": int(end[measured].max()) if measured.any() else 0, **self.kept_on})
            pause()
            self._send(messages.SUMMARY, self.summary.take_wire())
            pause.reraise()

    def _flush_loop(self) -> None:
        while True:
            self._flush_due.wait(FLUSH_SECONDS / 4)
            self._flush_due.clear()
            if len(self.batch) >= FLUSH_ROWS or time.monotonic() - self._last_flush >= FLUSH_SECONDS:
                self.flush()

    def _maybe_done(self) -> None:
        finished = self.ranges.closed or self._idle()
        if self._done_sent or not finished or self.ranges.held() or self.completed < self.issued:
            return
        self._done_sent = True
        self.flush()
        returned, self.returned = self.returned, []  # each range is given back once
        self._send(messages.DONE, {"issued": self.issued, "completed": self.completed,
                                     "returned": [g.to_wire() for g in returned], **self.cpu_use()})

    def cpu_use(self) -> dict:
        """CPU seconds this process used from its first send until now, and the wall time.
        A Locust process runs on one core: near 100 % it delays its own sends and end times."""
        if self._cpu0 is None:
            return {}
        cpu0, wall0 = self._cpu0
        return {"cpu_s": time.process_time() - cpu0, "wall_s": time.monotonic() - wall0}

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self, users: int) -> None:
        """Ready to send. Nothing is asked for until a user (or a schedule) takes an index: a
        process that Locust gives no user (fewer users than processes) then holds none."""
        self._greenlets.append(gevent.spawn(self._flush_loop))
        warm_up(LIVE_COLUMNS)  # the first flush would pay the summary code's set-up mid-load
        heap.settle()  # before the first request: the collector's first full pass would stall it
        if self.settings.open_loop:
            self.queue = Arrivals()
            self._consumers = max(1, users)
            if self.config.get("late"):
                # the arrival rate was split among the workers present at the start; a share
                # for this one would push the total above the requested rate
                log.warning("rankperf: worker %d joined a running open-loop test; its rate share is 0, "
                            "it sends nothing until the next run", self.worker_index)
                self.queue.put(None)

    def start_schedule(self) -> None:
        """Open loop: start the arrival schedule once every user is there to take arrivals
        (starting earlier would make the first second of arrivals late by construction)."""
        if self.queue is None or self._schedules or self._starting or self.config.get("late") or self._released:
            return
        self._starting = True
        heap.settle()  # the users are built: a full collection now costs no arrival its time
        self._greenlets.append(gevent.spawn(self._connect_then_schedule))

    def _crowd(self) -> int:
        """Requests in flight here, and arrivals handed out that no user has taken yet."""
        return len(self.in_flight) + (self.queue.qsize() if self.queue is not None else 0)

    def _connect_then_schedule(self) -> None:
        """The users first to take arrivals open their connections, then the schedule starts. The
        first arrivals would otherwise each wait for a connection of their own: at thousands of
        arrivals per second that makes the process late, so more users (and connections) are
        drawn in, and it can take a second to catch up."""
        ahead = self._connections_ahead()
        self.connecting = ahead
        self._connected.clear()
        for _ in range(ahead):
            self.queue.put(OPEN_CONNECTION)
        self._connected.wait(timeout=CONNECT_AHEAD_WAIT_S)
        if self._stopped or self._released:
            return
        self._spawn_schedule(self.worker_index)
        for share in self._adopted:
            self._spawn_schedule(share)
        self._adopted.clear()

    def _connections_ahead(self) -> int:
        """How many users connect before the schedule starts. After a stall (a busy moment of the
        machine) the overdue arrivals go out at once, from as many users; each one without a
        connection opens it then, which makes the process later still: at 4,800/s with 32
        connected ahead 4 runs in 6 fell behind for up to a second (lag p99 7-36 ms), with 128
        none did (1.5-3.3 ms)."""
        workers = max(1, int(self.config.get("workers", 1)))
        need = max(CONNECT_AHEAD_MIN, math.ceil(self.settings.rate / workers * CONNECT_AHEAD_S))
        return min(need, max(1, self._users()))

    def connection_opened(self) -> None:
        """A user opened its connection ahead of the schedule (or could not: the requests say why)."""
        self.connecting -= 1
        if self.connecting <= 0:
            self._connected.set()

    def _spawn_schedule(self, share: int) -> None:
        loop = gevent.spawn(self._schedule_loop, share)
        self._schedules.append(loop)
        self._greenlets.append(loop)

    def adopt(self, share: int) -> None:
        """Open loop: a worker left before the end; send its share of the arrivals too, from now on,
        so the total rate stays the one asked for."""
        if self.queue is None or self.config.get("late") or (self.ranges.closed and not self.ranges.held()):
            return  # closed loop, no share of its own, or nothing left to send
        log.info("rankperf: worker %d takes over the arrival schedule of worker %d", self.worker_index, share)
        if not self._schedules:  # not started yet: it starts with the own share
            self._adopted.append(share)
        else:
            self._spawn_schedule(share)

    def stop(self) -> None:
        for g in self._greenlets:
            g.kill(block=False)
        self._greenlets.clear()

    def _anchor_ns(self, phase: int) -> int:
        """When the schedules of ``phase`` start (perf ns): the instant the coordinator chose for
        every process, or (a grant without one) when this process's first loop reached it."""
        return self._anchors.setdefault(phase, time.perf_counter_ns())

    def _schedule_loop(self, share: int) -> None:
        """Open loop: put (index, phase, intended_ns) on the queue at each time of schedule ``share``
        (this worker's own, or one adopted from a worker that left: from the time it was adopted)."""
        s = self.settings
        workers = max(1, int(self.config.get("workers", 1)))
        assert self.queue is not None
        offsets = None
        t0 = 0
        phase_now = -1
        self._loops += 1
        key = id(gevent.getcurrent())
        try:
            while True:
                got = self.take()
                if got is None:
                    break
                index, phase = got
                self._waiting[key] = got
                if phase != phase_now:  # (re)anchor the schedule when a phase begins
                    phase_now = phase
                    t0 = self._anchor_ns(phase)
                    offsets = pacing.schedule(s.pattern, s.rate, self.run.seed, share, workers)
                    offset = next(offsets)
                    elapsed = (time.perf_counter_ns() - t0) / 1e9
                    while share != self.worker_index and offset < elapsed:  # adopted: arrivals from now on
                        offset = next(offsets)
                else:
                    offset = next(offsets)
                intended = t0 + int(offset * 1e9)
                delay = (intended - time.perf_counter_ns()) / 1e9
                if delay > 0:
                    gevent.sleep(delay)
                else:
                    self.catch_up.before_send(-int(delay * 1e9))
                if self._waiting.pop(key, None) is None:
                    break  # recalled while waiting (interrupted)
                self.queue.put((index, phase, intended))
        finally:
            self._loops -= 1
            if self._loops == 0:  # the last schedule is over: let every consumer see the end
                for _ in range(self._consumers):
                    self.queue.put(None)

    def reference(self, index: int) -> tuple | None:
        """--check-consistency: (order, scores) of request ``index``'s entry sent alone, if known."""
        if not self.references:
            return None
        return self.references.get(self.dataset.entry(index))
