"""How an open-loop schedule hands out arrivals once its process has fallen behind.

A process that falls behind (its CPU is the bottleneck) has many arrivals due at once. Handed out
together, each woke an idle user that sent at once, so hundreds of requests went in flight; a
process with 512 requests in flight spends about 1.3x the CPU per request it spends with 64
(greenlet stacks and sockets no longer fit in the CPU's caches), so it fell further behind and
stayed there: near its capacity one process settled at 0.70-0.82 of the schedule's pace.

So a late schedule whose process is crowded (64 requests in flight or waiting for a user) waits
for room before it sends more: until 16 of them have ended, or the event loop has nothing else to
do (then the CPU is there: a slow server, not a busy process), at most 50 ms. The answers
waiting are read first: their end times are being measured, while a late send is counted in the
schedule lag the report shows. A backlog below the crowd (a short stall) goes out at once.
"""

from __future__ import annotations

from collections.abc import Callable

from gevent.event import Event
from gevent.hub import get_hub

LATE_S = 0.002  # an arrival this much past its time means the process is behind
CROWDED = 64  # requests in flight in this process above which each costs it more CPU
BATCH = 16  # a crowded, late schedule waits until this many of them have ended...
WAIT_MAX_S = 0.05  # ...or the event loop has nothing else to do, or this long


class CatchUp:
    """One per process: its schedule loops ask before each arrival, its requests say when they end."""

    def __init__(self, crowd: Callable[[], int], late_s: float = LATE_S, crowded: int = CROWDED,
                 batch: int = BATCH, wait_max_s: float = WAIT_MAX_S) -> None:
        self._crowd = crowd  # requests in flight plus arrivals waiting for a user
        self._late_ns = int(late_s * 1e9)
        self._crowded = crowded
        self._room_at = crowded - batch
        self._wait_max_s = wait_max_s
        self._room = Event()
        self._waiting = 0

    def before_send(self, late_ns: int) -> None:
        """An arrival ``late_ns`` past its intended time is about to go out. If the process is
        behind and crowded, wait for room first: a batch of answers read, or an idle loop."""
        if late_ns <= self._late_ns or self._crowd() < self._crowded:
            return
        idle = get_hub().loop.idle()
        self._room.clear()
        self._waiting += 1
        try:
            idle.start(self._room.set)  # nothing else to do: the CPU is there, send
            self._room.wait(self._wait_max_s)
        finally:
            self._waiting -= 1
            idle.stop()
            idle.close()

    def request_ended(self) -> None:
        """A request of this process ended (answered, failed or cancelled)."""
        if self._waiting and self._crowd() <= self._room_at:
            self._room.set()
