"""The simulated GPU's time: TEI-like pair FIFO with token-budget batches, fixed latency, or none.

Batched mode follows TEI's router: every (query, passage) pair is one queue entry holding one permit;
a single batcher packs entries into batches of at most `max_batch_tokens` and runs one batch at a
time, each taking `a + b * tokens`. A request is done when its last pair's batch ends.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# Calibrated on bge-reranker-base on an A100 (reference §7): 100 pairs x ~150 tokens (~15k tokens)
# in ~95 ms, a full 16k-token batch in ~103 ms, i.e. ~160k tokens/s at saturation.
DEFAULT_BATCH_OVERHEAD_MS = 5.0
DEFAULT_PER_TOKEN_US = 6.0


@dataclass(frozen=True, slots=True)
class Timing:
    """Per-pair means, in seconds, as TEI reports them in x-queue-time / x-inference-time."""

    queue: float = 0.0
    inference: float = 0.0


NO_TIME = Timing()


def engine_mode(batch_overhead_ms: float, per_token_us: float, fixed_latency_ms: float | None) -> str:
    """"fixed" (every request takes exactly the fixed latency), "batched" (the TEI-like queue), or
    "immediate" (no model time: answered while the request is handled)."""
    if fixed_latency_ms is not None:
        return "fixed" if fixed_latency_ms > 0 else "immediate"
    return "batched" if batch_overhead_ms > 0 or per_token_us > 0 else "immediate"


class Ticket:
    """The pairs of one request inside the engine."""

    __slots__ = ("pairs", "remaining", "enqueued", "queue_sum", "infer_sum", "on_done", "cancelled", "handle")

    def __init__(self, pairs: int, enqueued: float, on_done: Callable[[Timing], None]) -> None:
        self.pairs = pairs
        self.remaining = pairs
        self.enqueued = enqueued
        self.queue_sum = 0.0
        self.infer_sum = 0.0
        self.on_done = on_done
        self.cancelled = False
        self.handle: asyncio.TimerHandle | None = None


class Engine:
    """Admission (a non-blocking pair semaphore) and completion times for admitted pairs."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, batch_overhead_ms: float = DEFAULT_BATCH_OVERHEAD_MS,
                 per_token_us: float = DEFAULT_PER_TOKEN_US, max_batch_tokens: int = 16384,
                 fixed_latency_ms: float | None = None, max_concurrent: int = 512,
                 on_batch: Callable[[int, int], None] | None = None,
                 on_pair: Callable[[float, float], None] | None = None) -> None:
        self._loop = loop
        self._a = batch_overhead_ms / 1e3
        self._b = per_token_us / 1e6
        self._max_batch_tokens = max_batch_tokens
        self._fixed = None if fixed_latency_ms is None else fixed_latency_ms / 1e3
        self._max_concurrent = max_concurrent  # 0 = unlimited
        self._on_batch = on_batch
        self._on_pair = on_pair  # batched mode: each computed pair's own (queue, inference) seconds
        self.mode = engine_mode(batch_overhead_ms, per_token_us, fixed_latency_ms)
        self.immediate = self.mode == "immediate"
        self.in_flight = 0  # pairs holding a permit
        self._queue: deque[tuple[int, Ticket]] = deque()
        self._busy = False
        self._kicked = False
        self.batches = 0

    @property
    def queue_size(self) -> int:
        return len(self._queue)

    def describe(self) -> str:
        if self.mode == "fixed":
            return f"fixed latency {self._fixed * 1e3:g} ms"
        if self.mode == "immediate":
            return "no model latency"
        return (f"batches of <= {self._max_batch_tokens} tokens, "
                f"{self._a * 1e3:g} ms + {self._b * 1e6:g} us/token")

    def admit(self, pairs: int) -> int:
        """How many of `pairs` get a permit (TEI takes them in text order and never waits)."""
        if self._max_concurrent <= 0:
            granted = pairs
        else:
            granted = max(0, min(pairs, self._max_concurrent - self.in_flight))
        if not self.immediate:
            self.in_flight += granted
        return granted

    def release(self, pairs: int) -> None:
        """Give back permits of admitted pairs that will not be computed (they failed a per-pair check)."""
        if not self.immediate:
            self.in_flight -= pairs

    @property
    def fixed_timing(self) -> Timing | None:
        """In fixed mode, the timing every request gets (known before it is computed); else None."""
        return Timing(0.0, self._fixed) if self.mode == "fixed" else None

    def submit(self, pair_tokens: list[int], on_done: Callable[[Timing], None],
               arrived: float | None = None) -> Ticket:
        """Run admitted pairs; `on_done` gets the timing once the last one is computed (not if cancelled).

        `arrived` (loop time) is when the request was received: fixed latency counts from there, so the
        time spent parsing and preparing the answer is inside the X ms, not added to it.
        """
        loop = self._loop
        now = loop.time()
        ticket = Ticket(len(pair_tokens), now, on_done)
        if self.mode == "fixed":
            start = now if arrived is None else min(arrived, now)
            ticket.handle = loop.call_at(start + self._fixed, self._fixed_done, ticket)
            return ticket
        queue = self._queue
        for n in pair_tokens:
            queue.append((n, ticket))
        if not self._busy and not self._kicked:
            # Let arrivals of the same loop iteration share the first batch.
            self._kicked = True
            loop.call_soon(self._kick)
        return ticket

    def cancel(self, ticket: Ticket) -> None:
        """The client went away: queued pairs are dropped when the batcher reaches them."""
        ticket.cancelled = True
        if ticket.handle is not None:
            ticket.handle.cancel()
            self.in_flight -= ticket.pairs

    # -- fixed latency -----------------------------------------------------------------------------------
    def _fixed_done(self, ticket: Ticket) -> None:
        self.in_flight -= ticket.pairs
        ticket.handle = None
        ticket.on_done(Timing(0.0, self._fixed))

    # -- batcher ---------------------------------------------------------------------------------------
    def _kick(self) -> None:
        self._kicked = False
        if not self._busy:
            self._start_batch(self._loop.time())

    def _start_batch(self, start: float) -> None:
        queue = self._queue
        budget = self._max_batch_tokens
        batch: list[Ticket] = []
        tokens = 0
        while queue:
            n, ticket = queue[0]
            if ticket.cancelled:
                queue.popleft()
                self.in_flight -= 1
                continue
            if batch and tokens + n > budget:
                break
            queue.popleft()
            batch.append(ticket)
            tokens += n
        if not batch:
            return
        # Back to back from the nominal end, but never before its requests arrived: a late timer
        # lets later arrivals in, and a batch cannot have started before they were there.
        start = max(start, max(ticket.enqueued for ticket in batch))
        duration = self._a + self._b * tokens
        self._busy = True
        self._loop.call_at(start + duration, self._end_batch, batch, start, duration)
        if self._on_batch is not None:
            self._on_batch(len(batch), tokens)

    def _end_batch(self, batch: list[Ticket], start: float, duration: float) -> None:
        self._busy = False
        self.batches += 1
        self.in_flight -= len(batch)
        done = []
        for ticket in batch:
            if ticket.cancelled:
                continue
            ticket.queue_sum += start - ticket.enqueued
            ticket.infer_sum += duration
            if self._on_pair is not None:
                self._on_pair(start - ticket.enqueued, duration)
            ticket.remaining -= 1
            if ticket.remaining == 0:
                done.append(ticket)
        if self._queue:
            # Back to back from the nominal end, so a late timer never slows the simulated GPU down.
            self._start_batch(start + duration)
        for ticket in done:
            ticket.on_done(Timing(ticket.queue_sum / ticket.pairs, ticket.infer_sum / ticket.pairs))
