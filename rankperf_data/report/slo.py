"""Latency bounds for SLOs: a fixed number of ms, or the rerank-native 'a + b*passages' form.

One parser serves every flag that takes a latency bound (``--goodput``, ``--e2e-sla-ms``,
``--search-sla``), so a bound means the same thing everywhere. Pure: no Locust, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_NUMBER = r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?"
# One term: '20', '1.5*passages', 'passages*1.5', 'passages' (a per-passage factor of 1)
_TERM = re.compile(rf"^(?:(?P<num>{_NUMBER})(?:\*(?P<var1>passages))?|(?P<var2>passages)(?:\*(?P<num2>{_NUMBER}))?)$")


@dataclass(frozen=True)
class LatencyBound:
    """A request is within the bound when its latency (ms) <= base_ms + per_passage_ms x passages."""

    base_ms: float
    per_passage_ms: float = 0.0

    @property
    def per_passage(self) -> bool:
        return self.per_passage_ms != 0.0

    def limit_ms(self, passages: np.ndarray | int) -> np.ndarray | float:
        """The bound for requests carrying ``passages`` passages (an array gives an array)."""
        if not self.per_passage:
            return self.base_ms if np.isscalar(passages) else np.full(np.shape(passages), self.base_ms)
        return self.base_ms + self.per_passage_ms * np.asarray(passages, dtype=np.float64) \
            if not np.isscalar(passages) else self.base_ms + self.per_passage_ms * float(passages)

    def __str__(self) -> str:
        if not self.per_passage:
            return _fmt(self.base_ms)
        return f"{_fmt(self.base_ms)}+{_fmt(self.per_passage_ms)}*passages"

    def to_json(self) -> float | dict[str, float]:
        """A plain number for a fixed bound (AIPerf's shape), else both coefficients."""
        if not self.per_passage:
            return self.base_ms
        return {"base_ms": self.base_ms, "per_passage_ms": self.per_passage_ms}


def _fmt(value: float) -> str:
    return f"{value:g}"


def parse_latency_bound(text: str) -> LatencyBound:
    """'250' -> 250 ms; '20+1.5*passages' (spaces allowed, terms in any order) -> 20 + 1.5 x passages.

    Raises ValueError with a one-line reason for anything else (a negative or zero bound, an
    unknown variable, a product of two numbers)."""
    compact = "".join(str(text).split())
    if not compact:
        raise ValueError("empty latency bound: expected ms, e.g. 250, or 'A+B*passages', e.g. 20+1.5*passages")
    base = per = 0.0
    seen_base = seen_per = False
    for term in compact.split("+"):
        match = _TERM.match(term)
        if not match:
            raise ValueError(f"bad latency bound {text!r}: {term!r} is not a number of ms or "
                             "'N*passages' (expected e.g. 250 or 20+1.5*passages)")
        if match.group("var1") or match.group("var2"):
            if seen_per:
                raise ValueError(f"bad latency bound {text!r}: 'passages' appears twice")
            seen_per = True
            per = float(match.group("num") or match.group("num2") or 1.0)
        else:
            if seen_base:
                raise ValueError(f"bad latency bound {text!r}: two constant terms")
            seen_base = True
            base = float(match.group("num"))
    if not (np.isfinite(base) and np.isfinite(per)):
        raise ValueError(f"bad latency bound {text!r}: not finite")
    if base < 0 or per < 0 or (base == 0 and per == 0):
        raise ValueError(f"bad latency bound {text!r}: must be > 0")
    return LatencyBound(base, per)
