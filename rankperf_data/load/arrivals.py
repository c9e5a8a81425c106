"""Open-loop hand-over of due arrivals to idle sender greenlets: batched, most recently idle first.

The schedule puts each arrival when it is due; the users (senders) get them. Compared with a
``gevent.queue.Queue`` this does two things that matter at thousands of arrivals per second:

- every arrival put during one turn of the event loop is handed over by one hub callback, and a
  sender that finds arrivals waiting takes the next one without a switch through the hub;
- idle senders are woken last-in first-out: at partial load the same few users (and their
  connections) do the sending, which keeps them warm, instead of cycling through all of them.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gevent
from gevent.hub import Waiter, get_hub
from gevent.queue import Empty


class Arrivals:
    """A queue of due arrivals (``None`` tells one sender to stop) with LIFO idle senders."""

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._idle: list[Waiter] = []  # senders waiting, the most recently idle last
        self._scheduled = False
        self._hub = get_hub()

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put(self, item: Any) -> None:
        """Add an arrival; a waiting sender gets it once this greenlet yields (never blocks)."""
        self._items.append(item)
        if self._idle and not self._scheduled:
            self._scheduled = True
            self._hub.loop.run_callback(self._dispatch)

    def get_nowait(self) -> Any:
        if not self._items:
            raise Empty
        return self._items.popleft()

    def get(self, timeout: float | None = None) -> Any:
        """The next arrival; waits (at most ``timeout`` s, then raises Empty) when there is none."""
        if self._items:
            return self._items.popleft()
        waiter = Waiter()
        self._idle.append(waiter)
        timer = gevent.Timeout.start_new(timeout, Empty) if timeout is not None else None
        try:
            return waiter.get()
        finally:
            if timer is not None:
                timer.close()
            if self._idle and waiter in self._idle:  # killed or timed out while idle: nothing handed over
                self._idle.remove(waiter)

    def _dispatch(self) -> None:
        """In the hub: give each waiting arrival to the most recently idle sender."""
        self._scheduled = False
        while self._items and self._idle:
            self._idle.pop().switch(self._items.popleft())
