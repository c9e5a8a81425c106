"""How an open-loop schedule hands out arrivals once its process has fallen behind.

A process that falls behind (its CPU is the bottleneck) has many arrivals due at once. Handed out
together, each wakes a user that sends at once, so hundreds of requests are in flight; a
process with 512 requests in flight spends about 1.3x the CPU per request it spends with 64
(greenlet stacks and sockets no longer fit in the CPU's caches), so it falls further behind and
never catches up: at 90 % of its capacity one process settled at 0.72 of the schedule's pace.
Handing overdue arrivals out a few at a time, each batch after the event loop has dealt with the
answers already waiting, keeps the in-flight count where the process is fastest. An answer
waiting to be read is also the costlier wait of the two: its end time is being measured, while a
late send is counted in the schedule lag the report shows.
"""

from __future__ import annotations

import gevent

LATE_S = 0.002  # an arrival this much past its time means the process is behind
BATCH = 16  # overdue arrivals handed out between two waits for an idle loop
WAIT_MAX_S = 0.05  # the longest a batch waits for the loop to have nothing else to do


class CatchUp:
    """Called by a schedule loop before it hands out each arrival."""

    def __init__(self, late_s: float = LATE_S, batch: int = BATCH, wait_max_s: float = WAIT_MAX_S) -> None:
        self._late_ns = int(late_s * 1e9)
        self._batch = batch
        self._wait_max_s = wait_max_s
        self._overdue = 0  # overdue arrivals handed out since the last wait

    def on_time(self) -> None:
        """The schedule had to wait for this arrival: the process is keeping up."""
        self._overdue = 0

    def before_send(self, late_ns: int) -> None:
        """An arrival ``late_ns`` past its intended time is about to go out; once a batch of
        overdue ones has, wait for the event loop to be idle first (answers go first)."""
        if late_ns <= self._late_ns:
            return
        self._overdue += 1
        if self._overdue > self._batch:
            self._overdue = 1
            with gevent.Timeout(self._wait_max_s, False):
                gevent.idle()
