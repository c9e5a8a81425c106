"""Due open-loop arrivals waiting for a user: first in, first out for arrivals, last in, first out for users.

gevent's Queue wakes its waiting getters in the order they started waiting, so with a cap of 512
users every arrival goes to a different user: each of the first 512 arrivals opens its own TCP
connection (a quarter of a second of late sends at 2,000/s), and later ones keep cycling through
512 connections and greenlet stacks that are cold in the CPU's caches. Handing each arrival to the
user that became idle last keeps as few users (and connections) busy as the load needs. It also
drops the O(waiters) search gevent's Queue makes on every wake-up.
"""

from __future__ import annotations

from collections import deque
from contextlib import nullcontext
from typing import Any

from gevent import Timeout
from gevent.hub import Waiter, get_hub
from gevent.queue import Empty

OPEN_CONNECTION = "open your connection"  # not an arrival: the user that takes it connects ahead of the schedule


class Arrivals:
    """Arrivals handed from the schedule loops to the users of one process."""

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._idle: list[Waiter] = []  # users waiting, the one that came last on top
        self._loop = get_hub().loop

    def put(self, item: Any) -> None:
        """Queue one arrival (None: the end) and wake the user that became idle last."""
        self._items.append(item)
        if self._idle:
            self._loop.run_callback(self._idle.pop().switch, None)

    def get(self, timeout: float | None = None) -> Any:
        """The oldest arrival, waiting for one if none is queued (``Empty`` after ``timeout`` s)."""
        with Timeout(timeout, Empty) if timeout is not None else nullcontext():
            while not self._items:
                waiter = Waiter()
                self._idle.append(waiter)
                try:
                    waiter.get()
                except BaseException:
                    self._forget(waiter)
                    raise
        return self._items.popleft()

    def _forget(self, waiter: Waiter) -> None:
        """A user stopped waiting (killed, timed out): off the idle stack, or, if an arrival had
        already woken it, pass that wake-up on so the arrival does not wait for the next one."""
        if waiter in self._idle:
            self._idle.remove(waiter)
        elif self._items and self._idle:
            self._loop.run_callback(self._idle.pop().switch, None)

    def get_nowait(self) -> Any:
        if not self._items:
            raise Empty
        return self._items.popleft()

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

