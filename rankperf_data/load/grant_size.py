"""How many indices a closed-loop process asks for: about a second of its own measured rate.

Pure logic, no Locust, no clock of its own (the caller passes the time). A fixed grant of 64
indices means ~15k quota messages a second at 1M req/s; sizing each grant to the rate the
process actually achieves keeps it near one message a second per process at any rate, while a
slow process (or the first ask, before any rate is known) still asks for the small floor, so
that short runs spread their indices evenly. The ledger still decides every grant.
"""

from __future__ import annotations

from dataclasses import dataclass

from rankperf_data.load.quota import MAX_CHUNK, MAX_GRANT

TARGET_S = 1.0  # seconds of work one grant should carry
MIN_SPAN_S = 0.05  # a rate measured over less time than this is noise: keep the previous one
GROWTH = 8.0  # one measurement may raise the ask at most this much (a burst is not a rate)
SMOOTHING = 0.5  # weight of the newest measurement in the running rate


def clamp_want(rate: float, target_s: float = TARGET_S, floor: int = MAX_CHUNK, cap: int = MAX_GRANT) -> int:
    """Indices for ``target_s`` seconds at ``rate`` requests/s, kept within [floor, cap]."""
    return int(min(cap, max(floor, rate * target_s)))


@dataclass
class GrantSizer:
    """Measures a process's issue rate between its asks and turns it into the next ask."""

    floor: int = MAX_CHUNK
    cap: int = MAX_GRANT
    target_s: float = TARGET_S
    rate: float = 0.0  # smoothed requests/s (0: not measured yet)
    want: int = MAX_CHUNK
    _mark: tuple[float, int] | None = None  # (time, issued) at the start of the current span

    def observe(self, now: float, issued: int) -> int:
        """Called at each ask with the time (s) and the indices issued so far; returns the ask."""
        if self._mark is None:
            self._mark = (now, issued)
            return self.want
        t0, n0 = self._mark
        span = now - t0
        if span < MIN_SPAN_S:
            return self.want
        measured = (issued - n0) / span
        self.rate = measured if self.rate == 0 else SMOOTHING * measured + (1 - SMOOTHING) * self.rate
        self._mark = (now, issued)
        self.want = min(clamp_want(self.rate, self.target_s, self.floor, self.cap), int(self.want * GROWTH))
        return self.want
