"""The ramp-up, seen from the master: when the run started and when Locust had started every user.

Locust starts users at the spawn rate (-r per second). Requests measured before the last user
is running were sent at a lower concurrency than asked for; the report counts them
(report/ramp.py) from this clock and the records' send times. hooks.py feeds it Locust's events.
"""

from __future__ import annotations


class RampClock:
    """Epoch ns of the test start and of Locust's first "spawning complete" after it (0: not yet)."""

    def __init__(self) -> None:
        self.started_ns = 0
        self.done_ns = 0

    def start(self, now_ns: int) -> None:
        self.started_ns, self.done_ns = now_ns, 0

    def complete(self, now_ns: int) -> None:
        if self.started_ns and not self.done_ns:  # later ones are user-count edits mid-run
            self.done_ns = now_ns

    def describe(self, users: int) -> dict:
        """What RunInfo.ramp_up keeps: done_ns 0 means the users were still starting at the end."""
        return {"started_ns": self.started_ns, "done_ns": self.done_ns, "users": users}


CLOCK = RampClock()  # hooks start it where the runner coordinates (master or local) only
