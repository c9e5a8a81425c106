"""The global request budget as index ranges: a master-side ledger and a per-process range queue.

Pure logic, no Locust: the ledger decides what each grant is; the glue in ``hooks.py`` carries
requests and grants as messages. Index ranges (not bare counts) make request *i* the same bytes
however the work is split. Warmup takes indices [0, W), the measured phase [W, W+N); measured
indices are granted only once every warmup request has completed, so the phases never overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rankperf_data.results.records import PHASE_PROFILING, PHASE_WARMUP

MAX_CHUNK = 64  # indices a process asks for at a time (closed loop)
MAX_GRANT = 8192  # the most one grant carries (open loop asks for about a second of arrivals)


@dataclass(frozen=True)
class Grant:
    """A reply to a quota request: a range, "wait and ask again", or "closed: no more"."""

    start: int = 0
    end: int = 0
    phase: int = PHASE_PROFILING
    wait: bool = False
    closed: bool = False
    anchor_ns: int = 0  # open loop: epoch ns at which every process's schedule of this phase starts

    def to_wire(self) -> dict:
        return {"start": self.start, "end": self.end, "phase": self.phase, "wait": self.wait, "closed": self.closed,
                "anchor_ns": self.anchor_ns}

    @classmethod
    def from_wire(cls, data: dict) -> Grant:
        return cls(**data)


@dataclass
class QuotaLedger:
    """Master-side budget. ``measured=0`` means unlimited (until ``close()``)."""

    warmup: int
    measured: int
    workers: int = 1
    next_index: int = 0
    warmup_completed: int = 0
    closed: bool = False
    stopped: bool = False  # closed early (duration over, interrupted): returned indices stay unsent
    granted: dict[str, int] = field(default_factory=dict)  # node -> indices granted

    @property
    def end_index(self) -> int | None:
        return self.warmup + self.measured if self.measured else None

    def close(self) -> None:
        """Stop granting before the budget is spent (duration over, interrupted)."""
        self.closed = True
        self.stopped = True

    def record_warmup_completed(self, n: int) -> None:
        self.warmup_completed += n

    def _chunk(self, want: int, remaining: int | None) -> int:
        chunk = min(max(1, want), MAX_GRANT)
        if remaining is not None:
            # shrink grants near the end so no worker sits on the tail while others idle
            chunk = min(chunk, remaining, max(1, remaining // (2 * max(1, self.workers))))
        return chunk

    def grant(self, node: str, want: int) -> Grant:
        if self.next_index < self.warmup:
            n = self._chunk(want, self.warmup - self.next_index)
            return self._give(node, n, PHASE_WARMUP)
        if self.warmup and self.warmup_completed < self.warmup:
            return Grant(wait=True)  # barrier: warmup still in flight
        if self.closed:
            return Grant(closed=True)
        end = self.end_index
        remaining = None if end is None else end - self.next_index
        if remaining == 0:
            self.closed = True
            return Grant(closed=True)
        return self._give(node, self._chunk(want, remaining), PHASE_PROFILING)

    def _give(self, node: str, n: int, phase: int) -> Grant:
        start = self.next_index
        self.next_index += n
        self.granted[node] = self.granted.get(node, 0) + n
        return Grant(start, start + n, phase)


class RangeQueue:
    """Per-process queue of granted index ranges; hands out one index at a time."""

    def __init__(self) -> None:
        self._ranges: list[list[int]] = []  # [next, end, phase]
        self.closed = False

    def add(self, grant: Grant) -> None:
        if grant.closed:
            self.closed = True
        elif grant.end > grant.start:
            self._ranges.append([grant.start, grant.end, grant.phase])

    def take(self) -> tuple[int, int] | None:
        """Next (index, phase), or None when nothing is held locally."""
        while self._ranges:
            head = self._ranges[0]
            if head[0] < head[1]:
                index = head[0]
                head[0] += 1
                return index, head[2]
            self._ranges.pop(0)
        return None

    def held(self) -> int:
        return sum(end - nxt for nxt, end, _ in self._ranges)

    def drop(self, close: bool = True) -> list[Grant]:
        """Give up every unissued index (after a close, on leaving, or with no user left to send
        them); returns them as ranges. ``close=False`` keeps the queue open for later grants."""
        dropped = [Grant(nxt, end, phase) for nxt, end, phase in self._ranges if nxt < end]
        self._ranges.clear()
        self.closed = self.closed or close
        return dropped
