"""The boundary search, as a pure function of a measure(value) -> (feasible, breach) callable.

Bracket by doubling from ``lo`` (capped at ``hi``) until a value fails; bisect between the highest
passing and the lowest failing value until the gap is at most 1 (integer search) or below
``precision`` of the failing value; then measure the highest passing value once more to confirm
it. A confirmation that fails makes that value the failing bound and the bisection goes on below
it. Every measurement counts against ``max_iterations``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Measure = Callable[[float], tuple[bool, "dict | None"]]


@dataclass(frozen=True)
class Probe:
    iteration: int
    value: float
    feasible: bool
    breach: dict | None = None
    non_monotonic: bool = False  # contradicts the bracket known when it was measured
    confirmation: bool = False


@dataclass
class SearchOutcome:
    probes: list[Probe] = field(default_factory=list)
    feasible_max: Probe | None = None
    infeasible_min: Probe | None = None
    reason: str = ""


class _State:
    def __init__(self, measure: Measure, max_iterations: int) -> None:
        self.measure, self.max_iterations = measure, max_iterations
        self.out = SearchOutcome()
        self.failed: set[float] = set()

    @property
    def exhausted(self) -> bool:
        return len(self.out.probes) >= self.max_iterations

    def probe(self, value: float, confirmation: bool = False) -> Probe:
        ok, breach = self.measure(value)
        fmax, imin = self.out.feasible_max, self.out.infeasible_min
        odd = (ok and imin is not None and value >= imin.value) or \
              (not ok and fmax is not None and value <= fmax.value)
        p = Probe(len(self.out.probes), value, bool(ok), None if ok else breach, odd, confirmation)
        self.out.probes.append(p)
        if not ok:
            self.failed.add(value)
            if imin is None or value <= imin.value:
                self.out.infeasible_min = p
        return p

    def best_pass_below(self, limit: float) -> Probe | None:
        passing = [p for p in self.out.probes if p.feasible and p.value < limit and p.value not in self.failed]
        return max(passing, key=lambda p: (p.value, p.iteration), default=None)


def _bracket(s: _State, lo: float, hi: float) -> bool:
    """Doubling from lo; False when the search ends here (first point fails, or hi passes)."""
    value = lo
    while not s.exhausted:
        p = s.probe(value)
        if not p.feasible:
            if s.out.feasible_max is None:
                s.out.reason = "no_pass_in_range"
                return False
            return True
        s.out.feasible_max = p
        if value >= hi:
            s.out.reason = "no_failure_in_range"
            return False
        value = min(hi, value * 2)
    s.out.reason = "max_iterations"
    return False


def _close_enough(gap: float, imin: float, integer: bool, precision: float) -> bool:
    return (integer and gap <= 1) or gap / imin < precision


def search(measure: Measure, lo: float, hi: float, *, integer: bool, precision: float = 0.05,
           max_iterations: int = 20) -> SearchOutcome:
    """The highest value in [lo, hi] whose measurement passes, assuming passing is monotonic."""
    if integer:
        lo, hi = int(lo), int(hi)
    s = _State(measure, max_iterations)
    if not _bracket(s, lo, hi):
        return s.out
    confirmed: set[float] = set()
    while not s.exhausted:
        fmax, imin = s.out.feasible_max, s.out.infeasible_min
        if fmax is None:
            s.out.reason = "no_pass_in_range"
            return s.out
        gap = imin.value - fmax.value
        if _close_enough(gap, imin.value, integer, precision):
            if fmax.value in confirmed:
                s.out.reason = "precision_reached"
                return s.out
            p = s.probe(fmax.value, confirmation=True)
            if p.feasible:
                confirmed.add(fmax.value)
            else:
                s.out.feasible_max = s.best_pass_below(p.value)
            continue
        step = gap // 2 if integer else gap / 2
        p = s.probe(fmax.value + step)
        if p.feasible and p.value not in s.failed:
            s.out.feasible_max = p
    s.out.reason = s.out.reason or "max_iterations"
    return s.out
