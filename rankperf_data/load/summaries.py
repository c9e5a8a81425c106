"""Per-process summaries (counters + latency sketches, numbered) and the master's merge of them.

Pure logic, no Locust. Each load process turns the records it flushes into a summary *delta*:
per phase, requests and successes, a sketch of successful request latency (ms), and a few
running totals for the live web UI (``TOTALS``: passages, pair tokens, send/answer times, errors
by kind and status), all merged exactly (sums, min/max). Deltas
are numbered per process (``seq`` from 1), so the master can tell a duplicate (rejected), a gap
(a lost message, named) and a late message (merged: deltas add up in any order, and named).
A summary whose sketch parameters differ from the master's is rejected and named, never merged.
Each summary carries the worker's epoch clock: a worker whose clock is off by more than
CLOCK_TOLERANCE_S is named (its latencies are durations and stay right; its timestamps do not).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from rankperf_data.results.merged_summaries import INTENDED, LAG, LATENCY, OPEN_LOOP_SKETCHES, MergedSummaries
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.phase_totals import PhaseTotals
from rankperf_data.results.records import PHASE_NAMES
from rankperf_data.results.sketches import LatencySketch, SketchMismatch

TOTALS = "totals"  # per phase: running totals (PhaseTotals.to_wire), for the live web UI
CLOCK_TOLERANCE_S = 1.0  # |arrival - send| below this on the quickest message: clocks agree well enough


class SummaryBuilder:
    """Worker side: accumulates one delta between two sends."""

    def __init__(self, worker: int) -> None:
        self.worker = worker
        self.seq = 0
        self._counts: dict[int, list[int]] = {}  # phase -> [requests, ok]
        self._sketches: dict[int, LatencySketch] = {}
        self._totals: dict[int, PhaseTotals] = {}
        self._open_loop: dict[int, dict[str, LatencySketch]] = {}  # phase -> INTENDED/LAG sketches

    def add_rows(self, phase: np.ndarray, error_kind: np.ndarray, start_ns: np.ndarray, end_ns: np.ndarray,
                 extra: dict[str, np.ndarray] | None = None) -> None:
        """A batch of finished requests, as columns. ``extra`` (the batch's other record columns:
        status, passages, query_tokens, passage_tokens) feeds the running totals; with
        ``intended_ns`` (open loop) the intended-latency and schedule-lag sketches too."""
        for p in np.unique(phase).tolist():
            mine = phase == p
            self._totals.setdefault(p, PhaseTotals()).add(
                error_kind[mine], start_ns[mine], end_ns[mine], {k: np.asarray(v)[mine] for k, v in (extra or {}).items()})
            ok = mine & (error_kind == int(ErrorKind.OK))
            counts = self._counts.setdefault(p, [0, 0])
            counts[0] += int(mine.sum())
            counts[1] += int(ok.sum())
            latency_ms = (end_ns[ok] - start_ns[ok]) / 1e6
            self._sketches.setdefault(p, LatencySketch()).add_many(latency_ms)
            if extra is not None and "intended_ns" in extra:
                intended = np.asarray(extra["intended_ns"])
                sketches = self._open_loop.setdefault(p, {name: LatencySketch() for name in OPEN_LOOP_SKETCHES})
                sketches[INTENDED].add_many((end_ns[ok] - intended[ok]) / 1e6)
                sketches[LAG].add_many((start_ns[mine] - intended[mine]) / 1e6)

    def take_wire(self, now_ns: int | None = None) -> dict | None:
        """The delta since the last call, numbered and stamped with this process's epoch clock
        (``now_ns``, default now); None when nothing happened since."""
        if not self._counts:
            return None
        self.seq += 1
        out = {"seq": self.seq, "worker": self.worker, "sent_ns": time.time_ns() if now_ns is None else now_ns,
               "phases": {str(p): {"requests": c[0], "ok": c[1], LATENCY: self._sketches[p].to_wire(),
                                   TOTALS: self._totals[p].to_wire(),
                                   **{k: v.to_wire() for k, v in self._open_loop.get(p, {}).items()}}
                          for p, c in self._counts.items()}}
        self._counts, self._sketches, self._totals, self._open_loop = {}, {}, {}, {}
        return out


def warm_up(live_columns: tuple[str, ...]) -> None:
    """Summarise two made-up rows once and throw the result away: the first call costs ~10 ms of
    numpy and sketch set-up, which would otherwise stall the load at its first flush."""
    two = np.ones(2, dtype=np.int64)
    builder = SummaryBuilder(-1)
    builder.add_rows(two, two * 0, two, two * 2, {name: two for name in (*live_columns, "intended_ns")})
    builder.take_wire()


def _parse_totals(phases: dict) -> dict[int, PhaseTotals] | None:
    """Each phase's running totals; None when the summary carries none (raises when malformed)."""
    if any(TOTALS not in v for v in phases.values()):
        return None
    return {int(p): PhaseTotals.from_wire(v[TOTALS]) for p, v in phases.items()}


@dataclass
class _Sender:
    """What the master has seen of one process's numbered summaries."""

    next_seq: int = 1
    missing: set[int] = field(default_factory=set)
    seen_late: set[int] = field(default_factory=set)
    worker: object = None
    min_transit_s: float | None = None  # smallest (arrival - send) seen: clock offset + the least delay


class SummaryMerger:
    """Master side: merges every process's deltas into one per phase; names every anomaly."""

    def __init__(self) -> None:
        self.requests: dict[int, int] = {}
        self.ok: dict[int, int] = {}
        self.latency: dict[int, LatencySketch] = {}
        self.totals: dict[int, PhaseTotals] = {}
        self.open_loop: dict[int, dict[str, LatencySketch]] = {}  # phase -> INTENDED/LAG, merged
        self.without_totals: dict[str, int] = {}  # node -> merged summaries that carried no totals
        self._senders: dict[str, _Sender] = {}
        self.duplicates: dict[str, int] = {}
        self.rejected: dict[str, int] = {}
        self.notes: list[str] = []
        self._reference = LatencySketch()

    def accept(self, node: str, data: dict, received_ns: int | None = None) -> bool:
        """Merge one summary; False (and a note) when it is a duplicate or cannot be merged.
        ``received_ns``: the master's epoch clock at arrival, to compare clocks with the worker's."""
        sender = self._senders.setdefault(node, _Sender())
        sender.worker = data.get("worker")
        if received_ns is not None and data.get("sent_ns"):
            transit = (received_ns - int(data["sent_ns"])) / 1e9
            sender.min_transit_s = transit if sender.min_transit_s is None else min(sender.min_transit_s, transit)
        seq = int(data["seq"])
        if seq < sender.next_seq and seq not in sender.missing:
            self.duplicates[node] = self.duplicates.get(node, 0) + 1
            self.notes.append(f"summary {seq} of worker {data.get('worker')} ({node}) arrived twice: "
                              "the copy was not merged")
            return False
        try:
            phases = {int(p): (v, LatencySketch.from_wire(v[LATENCY])) for p, v in data["phases"].items()}
            open_loop = {int(p): {k: LatencySketch.from_wire(v[k]) for k in OPEN_LOOP_SKETCHES if k in v}
                         for p, v in data["phases"].items()}
            for sketch in [s for _, s in phases.values()] + [s for d in open_loop.values() for s in d.values()]:
                self._reference.check_mergeable(sketch)
            totals = _parse_totals(data["phases"])
        except SketchMismatch as exc:
            self.rejected[node] = self.rejected.get(node, 0) + 1
            self.notes.append(f"summary {seq} of worker {data.get('worker')} ({node}) was not merged: {exc}")
            return False
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.rejected[node] = self.rejected.get(node, 0) + 1
            self.notes.append(f"summary {seq} of worker {data.get('worker')} ({node}) was not merged: "
                              f"malformed ({type(exc).__name__}: {exc})")
            return False
        self._advance(sender, seq, node, data.get("worker"))
        for phase, (counts, sketch) in phases.items():
            self.requests[phase] = self.requests.get(phase, 0) + int(counts["requests"])
            self.ok[phase] = self.ok.get(phase, 0) + int(counts["ok"])
            self.latency.setdefault(phase, LatencySketch()).merge(sketch)
        for phase, sketches in open_loop.items():
            for name, sketch in sketches.items():
                self.open_loop.setdefault(phase, {}).setdefault(name, LatencySketch()).merge(sketch)
        self._merge_totals(node, seq, data.get("worker"), totals)
        return True

    def _merge_totals(self, node: str, seq: int, worker, totals: dict[int, PhaseTotals] | None) -> None:
        """The running totals of a summary accepted (the same duplicate/loss rules as the counts).
        One without them (another rankperf version) is named: the totals then lack its requests."""
        if totals is None:
            if node not in self.without_totals:
                self.notes.append(f"summary {seq} of worker {worker} ({node}) carries no running totals "
                                  "(another rankperf version?): the live table shows no rates, and its error kinds "
                                  "and latency std lack this process's requests")
            self.without_totals[node] = self.without_totals.get(node, 0) + 1
            return
        for phase, part in totals.items():
            self.totals.setdefault(phase, PhaseTotals()).merge(part)

    def _advance(self, sender: _Sender, seq: int, node: str, worker) -> None:
        if seq in sender.missing:  # late, not lost: deltas add up in any order
            sender.missing.discard(seq)
            sender.seen_late.add(seq)
            self.notes.append(f"summary {seq} of worker {worker} ({node}) arrived out of order (merged)")
            return
        if seq > sender.next_seq:
            sender.missing.update(range(sender.next_seq, seq))
        sender.next_seq = seq + 1

    def missing(self) -> dict[str, list[int]]:
        """Node -> numbers of summaries never received (lost, or still on their way)."""
        return {node: sorted(s.missing) for node, s in self._senders.items() if s.missing}

    def final_notes(self) -> list[str]:
        """Every anomaly, for the report: what was rejected and what never arrived."""
        lost = [f"summaries {seqs} of {node} never arrived: the merged distributions lack them"
                for node, seqs in self.missing().items()]
        return self.notes + lost + self.clock_notes()

    def clock_notes(self) -> list[str]:
        """Workers whose epoch clock differs from the master's by more than CLOCK_TOLERANCE_S, judged
        on their quickest message (a delay only ever adds; a clock ahead shows as a negative transit)."""
        return [f"worker {s.worker} ({node}): its clock is about {abs(s.min_transit_s):.2f} s "
                f"{'behind' if s.min_transit_s > 0 else 'ahead of'} the master's; its latencies stand (durations), "
                "its timestamps and open-loop send times are shifted: keep the hosts' clocks in sync (NTP/PTP)"
                for node, s in self._senders.items()
                if s.min_transit_s is not None and abs(s.min_transit_s) > CLOCK_TOLERANCE_S]

    def state(self) -> MergedSummaries:
        """What is merged so far (the merger's own dicts, not copies: read it, do not keep it)."""
        return MergedSummaries(self.requests, self.ok, self.latency, self.totals, self.open_loop,
                               totals_complete=not self.without_totals)

    def percentiles(self, phase: int, qs: tuple[float, ...] = (0.5, 0.9, 0.99)) -> dict[str, float | None]:
        sketch = self.latency.get(phase)
        return {f"p{q * 100:g}": (sketch.quantile(q) if sketch else None) for q in qs}

    def report(self) -> dict:
        """What the merged summaries say, for the run's folder: counts are exact, percentiles
        within the sketch's relative accuracy; every anomaly is listed."""
        return {"relative_accuracy": self._reference.relative_accuracy, "unit": self._reference.unit,
                "phases": self.describe(), "notes": self.final_notes()}

    def describe(self) -> dict:
        """Merged counts and latency percentiles per phase name (for logs and the report)."""
        return {PHASE_NAMES.get(p, str(p)): {"requests": n, "ok": self.ok.get(p, 0), **self.percentiles(p)}
                for p, n in sorted(self.requests.items())}
