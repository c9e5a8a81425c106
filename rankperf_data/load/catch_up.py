"""How an open-loop schedule hands out arrivals once its process has fallen behind.

A process that falls behind (its CPU is the bottleneck) has many arrivals due at once. Handed out
together, each woke an idle user that sent at once, so hundreds of requests went in flight; a
process with 512 requests in flight spends about 1.3x the CPU per request it spends with 64
(greenlet stacks and sockets no longer fit in the CPU's caches), so it fell further behind and
stayed there: at 90 % of its capacity one process settled at 0.70-0.80 of the schedule's pace.
So once its requests in flight (and arrivals waiting for a user) are a crowd, a late process
hands out overdue arrivals a batch at a time, each batch after the event loop has dealt with the
answers already waiting: their end times are being measured, while a late send is counted in the
schedule lag the report shows. Below the crowd a backlog (a short stall) goes out at once, as
before: the process has CPU to spare, and holding it back only made the lag worse.
"""

from __future__ import annotations

import gevent

LATE_S = 0.002  # an arrival this much past its time means the process is behind
CROWDED = 64  # requests in flight in this process above which each costs it more CPU
BATCH = 16  # overdue arrivals handed out between two waits for an idle loop
WAIT_MAX_S = 0.05  # the longest a batch waits for the loop to have nothing else to do


class CatchUp:
    """Called by a schedule loop before it hands out each arrival."""

    def __init__(self, late_s: float = LATE_S, crowded: int = CROWDED, batch: int = BATCH,
                 wait_max_s: float = WAIT_MAX_S) -> None:
        self._late_ns = int(late_s * 1e9)
        self._crowded = crowded
        self._batch = batch
        self._wait_max_s = wait_max_s
        self._overdue = 0  # overdue arrivals handed out since the last wait

    def on_time(self) -> None:
        """The schedule had to wait for this arrival: the process is keeping up."""
        self._overdue = 0

    def before_send(self, late_ns: int, in_flight: int) -> None:
        """An arrival ``late_ns`` past its intended time is about to go out, with ``in_flight``
        requests of this process outstanding; once a batch of overdue ones has gone out into a
        crowd, wait for the event loop to be idle first (answers go first)."""
        if late_ns <= self._late_ns or in_flight < self._crowded:
            return
        self._overdue += 1
        if self._overdue > self._batch:
            self._overdue = 1
            with gevent.Timeout(self._wait_max_s, False):
                gevent.idle()
