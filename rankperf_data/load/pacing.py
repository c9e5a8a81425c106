"""Open-loop arrival schedules: pure functions of (rate, seed, worker share), no clock, no sockets.

A schedule yields intended send offsets in seconds from the start of the run. With W workers,
each follows its own share so that the union is the requested process: independent Poisson
streams of rate R/W superpose to a Poisson stream of rate R; constant streams of rate R/W
offset by w/R interleave to equal gaps of 1/R.
"""

from __future__ import annotations

from collections.abc import Iterator

# numpy 2 imports numpy.random on first use: import it now, not inside the first scheduled send
from numpy.random import PCG64, Generator

_BLOCK = 4096  # exponential gaps drawn in blocks: one numpy call per 4096 arrivals


def constant_offsets(rate: float, worker: int = 0, workers: int = 1) -> Iterator[float]:
    """Equal gaps: this worker's arrivals of a total constant rate ``rate``."""
    if rate <= 0:
        raise ValueError("rate must be > 0")
    step = workers / rate
    k = 0
    first = worker / rate
    while True:
        # multiply, don't accumulate: no drift over millions of arrivals
        yield first + k * step
        k += 1


def poisson_offsets(rate: float, seed: int, worker: int = 0, workers: int = 1) -> Iterator[float]:
    """Exponential gaps with mean ``workers / rate``: this worker's share of a Poisson process."""
    if rate <= 0:
        raise ValueError("rate must be > 0")
    rng = Generator(PCG64([seed & 0xFFFFFFFF, worker, 0x5EED]))
    scale = workers / rate
    t = 0.0
    while True:
        for gap in rng.exponential(scale, _BLOCK).tolist():
            t += gap
            yield t


def schedule(pattern: str, rate: float, seed: int, worker: int = 0, workers: int = 1) -> Iterator[float]:
    """The schedule for ``--arrival-pattern``."""
    if pattern == "constant":
        return constant_offsets(rate, worker, workers)
    if pattern == "poisson":
        return poisson_offsets(rate, seed, worker, workers)
    raise ValueError(f"unknown arrival pattern {pattern!r}")
