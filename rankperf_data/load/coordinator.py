"""Master-side run coordination: the global budget, every record, worker liveness, the end.

Lives on the master (or the local runner). It grants index ranges, collects record batches,
notices dead workers, closes the budget when the duration is over, and decides when the run
is complete. It knows nothing of HTTP; ``hooks.py`` connects it to Locust's runner.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from rankperf_data.load import messages
from rankperf_data.load.quota import Grant, QuotaLedger
from rankperf_data.load.summaries import SummaryMerger
from rankperf_data.results.record_files import merge_records, read_messages, read_record_file, whole_rows
from rankperf_data.results.record_source import RecordSource
from rankperf_data.results.records import PHASE_PROFILING, RECORD_DTYPE, RecordStore

log = logging.getLogger("rankperf")

ABSENT_GRACE_S = 2.0


@dataclass
class NodeState:
    """What the coordinator knows about one worker process."""

    index: int
    granted: int = 0
    records: int = 0
    profiling_records: int = 0
    done: dict | None = None
    lost: bool = False
    active: bool = False  # asked for work at least once (a worker with no users never does)
    users: int | None = None  # users Locust last finished dispatching to it (None: not known yet)
    absent_since: float | None = None  # when the runner stopped listing this worker
    shares: list[int] = field(default_factory=list)  # open loop: arrival schedules it sends (own first)
    record_file: str | None = None  # where this process appends its records (None: it sends them)
    file_records: int = 0  # rows it said it appended there
    kept_on: str | None = None  # host that keeps its record file (--records-dir): never read here


def kept_records_note(state: NodeState) -> str:
    """The report's word on a worker whose records stayed on its host."""
    return (f"the records of worker {state.index} ({state.file_records} rows) stay on its host "
            f"{state.kept_on} in {state.record_file}: this folder's profile_export.jsonl lacks them, so the "
            "report's figures come from every worker's merged counters and sketches (rankperf_sketches.json); "
            "copy that file and run `rankperf report RUN_DIR DIR` for the exact report")


@dataclass
class Coordinator:
    """Budget + records for one measurement (a new one per test start)."""

    warmup: int
    measured: int
    duration: float
    send: Callable[[str, dict, str | None], None]  # (type, data, node or None = all)
    open_loop: bool = False  # arrival schedules are split among the workers present at the start
    anchor_delay_s: float = 0.0  # open loop: schedules start this long after a phase's first grant
    store: RecordStore = field(default_factory=RecordStore)
    nodes: dict[str, NodeState] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started_mono: float = field(default_factory=time.monotonic)
    measured_started_mono: float | None = None
    finished: bool = False
    # its end is under way (stop or quit scheduled): kept per run, so that a previous run's monitor
    # waking late can never mark the run started after it as ending
    ending: bool = False
    cancelled: bool = False
    first_start_ns: int = 0  # measured phase so far: first send, last response (for live rates)
    last_end_ns: int = 0
    anchors: dict[int, int] = field(default_factory=dict)  # open loop: phase -> epoch ns its schedules start
    orphan_shares: list[int] = field(default_factory=list)  # open loop: schedules waiting for a worker
    on_measured_start: Callable[[], None] | None = None  # called once, at the first measured grant
    summaries: SummaryMerger = field(default_factory=SummaryMerger)  # merged counters + latency sketches

    def __post_init__(self) -> None:
        self.ledger = QuotaLedger(self.warmup, self.measured)

    def expect(self, node: str, index: int, late: bool = False) -> None:
        """A worker of this run; one present at the start sends its own share of an open loop."""
        self.nodes.setdefault(node, NodeState(index, shares=[] if late else [index]))
        self.ledger.workers = max(1, len(self.nodes))

    # ---- messages from workers -------------------------------------------------------------
    def on_quota(self, node: str, data: dict) -> None:
        state = self.nodes.setdefault(node, NodeState(len(self.nodes)))
        state.active = True
        self.ledger.record_warmup_completed(int(data.get("warmup_done", 0)))
        grant = self.ledger.grant(node, int(data.get("want", 1)))
        state.granted += grant.end - grant.start
        if grant.end > grant.start:
            state.done = None  # working (again): a worker that had no users got some back
            if grant.phase == PHASE_PROFILING and self.measured_started_mono is None:
                self.measured_started_mono = time.monotonic()
                if self.on_measured_start is not None:
                    self.on_measured_start()
        self.send(messages.GRANT, self._anchored(grant).to_wire(), node)
        if self.orphan_shares:
            self._place_orphans()

    def _anchored(self, grant: Grant) -> Grant:
        """Open loop: the grant carries the one instant every process starts the phase's schedule
        from. Worker w's arrivals are offset by w/R from that instant, so the merged arrivals are
        evenly interleaved only if all processes use the same one (each process's own start differs
        by message and spawn delays). The first grant of a phase fixes it a little in the future,
        so that the other processes hear of it before it passes. Epoch time: processes on one
        host share the clock; workers on other hosts must keep their clocks in sync (NTP/PTP) to
        well under the arrival gap, or their arrivals are shifted by the clock offset."""
        if not self.open_loop or grant.end <= grant.start:
            return grant
        anchor = self.anchors.get(grant.phase)
        if anchor is None:
            anchor = self.anchors[grant.phase] = time.time_ns() + int(self.anchor_delay_s * 1e9)
        return replace(grant, anchor_ns=anchor)

    def on_users(self, node: str, users: int) -> None:
        """A worker's users for Locust's latest dispatch (start, or the count changed). One with
        none sends nothing: it gives back what it holds itself, and its arrival schedules (open
        loop) go to workers with users here, so that the offered rate holds."""
        state = self.nodes.get(node)
        if state is None:
            return
        was, state.users = state.users, users
        if users == 0 and was != 0:
            self._hand_over_shares(node)
        elif users > 0:
            self._place_orphans()

    @staticmethod
    def _can_send(state: NodeState) -> bool:
        """Still sending, with users to send: may take indices or arrivals another worker gave up."""
        has_users = state.users > 0 if state.users is not None else state.active
        return has_users and state.done is None and not state.lost

    def on_records(self, node: str, data: dict) -> None:
        """A batch of records: its rows (kept here), or, from a process that appends its rows to a
        record file the master can read, the file and the batch's counts only."""
        state = self.nodes.setdefault(node, NodeState(len(self.nodes)))
        if "file" in data:
            state.record_file = str(data["file"])
            state.file_records += int(data["rows"])
            state.kept_on = str(data["kept"]) if data.get("kept") else state.kept_on
            n, measured = int(data["rows"]), int(data["profiling"])
            first, last = int(data.get("first_start_ns") or 0), int(data.get("last_end_ns") or 0)
        else:
            cols = data["columns"]
            n = self.store.extend_columns(cols, data.get("messages"))
            rows = [i for i, p in enumerate(cols["phase"]) if p == PHASE_PROFILING]
            measured = len(rows)
            first = min((cols["start_ns"][i] for i in rows), default=0)
            last = max((cols["end_ns"][i] for i in rows), default=0)
        state.records += n
        state.profiling_records += measured
        if measured:
            self.first_start_ns = min(self.first_start_ns or first, first)
            self.last_end_ns = max(self.last_end_ns, last)

    def records(self) -> tuple[np.ndarray, list[str]]:
        """Every record of the run and its message table, in memory (see record_source)."""
        return merge_records([(rows if isinstance(rows, np.ndarray) else read_record_file(rows)[0], messages)
                              for rows, messages in self.record_parts()])

    def record_source(self) -> tuple[RecordSource, list[str]]:
        """Every record of the run, read from the record files column by column when asked (the
        whole-run memory stays flat), and the merged message table."""
        return RecordSource.from_parts(self.record_parts())

    def record_parts(self) -> list[tuple[np.ndarray | Path, list[str]]]:
        """The rows received, plus the record files of processes that wrote one, each with its
        message table. A file that is missing or short is named."""
        parts: list[tuple[np.ndarray | Path, list[str]]] = [(self.store.array(), list(self.store.messages.messages))]
        for state in sorted(self.nodes.values(), key=lambda s: s.index):
            if state.record_file is None:
                continue
            if state.kept_on is not None:
                self._note_once(kept_records_note(state))
                continue
            path = Path(state.record_file)
            try:
                rows, messages = whole_rows(path), read_messages(path)
            except OSError as exc:
                self._note_once(f"the record file of worker {state.index} cannot be read here ({exc.strerror}): "
                                "its records are missing from this report")
                parts.append((np.zeros(0, dtype=RECORD_DTYPE), []))
                rows = 0
            else:
                parts.append((path, messages))
            if rows < state.file_records:
                self._note_once(f"the record file of worker {state.index} holds {rows} rows, "
                                f"{state.file_records} were reported")
        return parts

    def _note_once(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)
            log.warning("rankperf: %s", note)

    def on_summary(self, node: str, data: dict) -> None:
        """Counters and sketches of one process since its last summary: merged, or named in the notes."""
        noted = len(self.summaries.notes)
        self.summaries.accept(node, data, received_ns=time.time_ns())
        for note in self.summaries.notes[noted:]:
            self.notes.append(note)
            log.warning("rankperf: %s", note)

    def kept_workers(self) -> list[int]:
        """Indices of the workers whose records stay on their hosts (--records-dir), in order."""
        return sorted(s.index for s in self.nodes.values() if s.kept_on is not None)

    def summary_check(self, recorded: int | None) -> list[str]:
        """At the end: summaries that never arrived, and whether the merged count of measured
        requests equals the records' (they are built from the same rows, so any gap is named;
        ``recorded`` None: some records stay on workers' hosts, the count cannot be checked here)."""
        out = [n for n in self.summaries.final_notes() if n not in self.notes]
        merged = self.summaries.requests.get(PHASE_PROFILING, 0)
        if recorded is not None and merged != recorded:
            out.append(f"the merged summaries count {merged} measured requests, the records {recorded}")
        return out

    def measured_rate(self) -> float:
        """Measured requests per second so far, from the records' own times."""
        span = (self.last_end_ns - self.first_start_ns) / 1e9
        return self.profiling_count() / span if span > 0 else 0.0

    def on_done(self, node: str, data: dict) -> None:
        state = self.nodes.setdefault(node, NodeState(len(self.nodes)))
        state.done = data
        returned = [Grant.from_wire(g) for g in data.get("returned") or []]
        if returned and not self.ledger.stopped:
            self._regrant(node, returned)
        self._hand_over_shares(node)

    def _hand_over_shares(self, leaving: str) -> None:
        """Open loop: a worker that leaves before the end (or has no users) takes its arrivals with
        it; give its schedules to the worker still running that sends the fewest, so the offered
        rate holds."""
        state = self.nodes[leaving]
        if not self.open_loop or self.budget_spent or not state.shares:
            return  # closed loop, the normal end, or handed over already
        shares, state.shares = state.shares, []
        self.orphan_shares += shares
        self._place_orphans()

    def _place_orphans(self) -> None:
        """Give schedules nobody sends to the worker with users that sends the fewest. Kept
        until there is one: at the start, a worker with no users may report before the others."""
        takers = {name: s for name, s in self.nodes.items() if self._can_send(s) and s.shares}
        if not self.open_loop or self.budget_spent or not takers:
            return
        shares, self.orphan_shares = self.orphan_shares, []
        for share in shares:
            name = min(takers, key=lambda n: (len(takers[n].shares), takers[n].index))
            takers[name].shares.append(share)
            self.send(messages.ADOPT, {"share": share}, name)
            log.info("rankperf: worker %d sends the arrivals of share %d (its worker left or has no users)",
                     takers[name].index, share)

    def _regrant(self, leaving: str, ranges: list[Grant]) -> None:
        """A worker left with indices it never sent: hand them to a worker still running."""
        state = self.nodes[leaving]
        n = sum(g.end - g.start for g in ranges)
        state.granted -= n
        takers = [name for name, s in self.nodes.items() if name != leaving and self._can_send(s)]
        if not takers:
            self.notes.append(f"{n} requests granted to worker {state.index} ({leaving}) were never sent: "
                              "it left (or lost its users) and no other worker was still running")
            log.warning("rankperf: %s", self.notes[-1])
            return
        for i, grant in enumerate(ranges):
            taker = self.nodes[takers[i % len(takers)]]
            taker.granted += grant.end - grant.start
            taker.active = True  # it owes records for these now
            self.send(messages.GRANT, self._anchored(grant).to_wire(), takers[i % len(takers)])

    # ---- control ---------------------------------------------------------------------------
    def close(self, reason: str = "") -> None:
        """No more grants; tell every worker to drop what it holds."""
        if not self.ledger.closed:
            self.ledger.close()
            if reason:
                log.info("rankperf: closing the request budget (%s)", reason)
        self.send(messages.CLOSE, {}, None)

    def tick(self, live_nodes: set[str] | None) -> None:
        """Periodic check: duration over? workers lost?"""
        if (self.duration and self.measured_started_mono is not None and not self.ledger.closed
                and time.monotonic() - self.measured_started_mono >= self.duration):
            self.close(f"--benchmark-duration {self.duration:g}s reached")
        if live_nodes is None:
            return
        now = time.monotonic()
        for node, state in self.nodes.items():
            if not state.active or state.lost or state.done is not None:
                continue
            if node in live_nodes:
                state.absent_since = None
            elif state.absent_since is None:
                state.absent_since = now  # a leaving worker says "quit" just before its last report
            elif now - state.absent_since >= ABSENT_GRACE_S:
                self.mark_lost(node)

    def mark_lost(self, node: str, how: str = "was lost mid-run") -> None:
        state = self.nodes[node]
        state.lost = True
        unaccounted = state.granted - state.records
        self.notes.append(
            f"worker {state.index} ({node}) {how}: {state.records} of its requests were reported, "
            f"{unaccounted} granted indices unaccounted for (in flight, unreported, or never sent)"
        )
        log.warning("rankperf: %s", self.notes[-1])
        self._hand_over_shares(node)

    @property
    def budget_spent(self) -> bool:
        """No index is left to grant (all granted, or the budget was closed)."""
        ledger = self.ledger
        return ledger.closed or (ledger.end_index is not None and ledger.next_index >= ledger.end_index)

    @property
    def complete(self) -> bool:
        """Every worker that took part said it is done (or is known lost)."""
        active = [s for s in self.nodes.values() if s.active]
        if not active:
            return False
        return self.budget_spent and all(s.done is not None or s.lost for s in active)

    @property
    def partial(self) -> bool:
        return any(s.lost for s in self.nodes.values())

    def client_cpu(self) -> dict[str, float]:
        """Worker index -> CPU busy fraction while it sent, from the workers' done reports."""
        out = {}
        for state in sorted(self.nodes.values(), key=lambda s: s.index):
            done = state.done or {}
            if done.get("wall_s", 0) > 0 and "cpu_s" in done:
                out[str(state.index)] = round(float(done["cpu_s"]) / float(done["wall_s"]), 3)
        return out

    def record_count(self) -> int:
        """Records reported so far (received, or appended to a record file)."""
        return sum(s.records for s in self.nodes.values())

    def profiling_count(self) -> int:
        return sum(s.profiling_records for s in self.nodes.values())
