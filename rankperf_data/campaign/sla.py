"""SLA filters ('metric:stat:op:threshold', as AIPerf's --search-sla) and their verdicts on a run.

A latency threshold may be per-passage ('request_latency:p99:lt:50+2*passages'). Rule for that form:
each request's margin is its latency minus its own bound (base + per-passage x its passages), and
the filter passes when the stat of the margins meets op 0; e.g. p99 of the margins < 0 means at
least 99 % of requests met their own bound. A fixed bound gives the same verdict as the plain
form, since p99(latency - c) = p99(latency) - c.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rankperf_data.report.slo import LatencyBound, parse_latency_bound

STATS = ("avg", "min", "max", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99")
OPS = {"lt": lambda a, b: a < b, "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}
LATENCY_TAGS = ("request_latency", "intended_latency")
RATE_ACHIEVED = "rate_achieved"  # 1 when an open-loop run sent its offered rate, else 0


class SlaError(ValueError):
    """A filter that cannot be parsed; the message is one line naming the flag."""


@dataclass(frozen=True)
class SlaFilter:
    metric_tag: str
    stat: str
    op: str
    threshold: float | LatencyBound

    @property
    def per_passage(self) -> bool:
        return isinstance(self.threshold, LatencyBound) and self.threshold.per_passage

    @property
    def lookup(self) -> tuple[str, str, float]:
        """(tag, stat, limit) to compare: the margin tag against 0 for a per-passage bound."""
        if self.per_passage:
            return margin_tag(self.metric_tag, self.threshold), self.stat, 0.0
        value = self.threshold.base_ms if isinstance(self.threshold, LatencyBound) else self.threshold
        return self.metric_tag, self.stat, float(value)

    def to_json(self) -> dict:
        threshold = self.threshold.to_json() if isinstance(self.threshold, LatencyBound) else self.threshold
        return {"metric_tag": self.metric_tag, "stat": self.stat, "op": self.op, "threshold": threshold}

    def __str__(self) -> str:
        return f"{self.metric_tag}:{self.stat}:{self.op}:{self.threshold}"


def margin_tag(tag: str, bound: LatencyBound) -> str:
    return f"{tag}_over_slo[{bound}]"


def parse_filter(text: str, flag: str = "--search-sla") -> SlaFilter:
    parts = text.split(":")
    if len(parts) != 4:
        raise SlaError(f"{flag} {text!r}: expected METRIC:STAT:OP:THRESHOLD, e.g. request_latency:p99:lt:250")
    tag, stat, op, raw = parts
    if stat not in STATS:
        raise SlaError(f"{flag} {text!r}: stat {stat!r} is not one of {', '.join(STATS)}")
    if op not in OPS:
        raise SlaError(f"{flag} {text!r}: op {op!r} is not one of {', '.join(OPS)}")
    if tag in LATENCY_TAGS:
        try:
            return SlaFilter(tag, stat, op, parse_latency_bound(raw))
        except ValueError as exc:
            raise SlaError(f"{flag} {text!r}: {exc}") from None
    try:
        value = float(raw)
    except ValueError:
        raise SlaError(f"{flag} {text!r}: threshold {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise SlaError(f"{flag} {text!r}: threshold must be finite")
    return SlaFilter(tag, stat, op, value)


def first_breach(filters: list[SlaFilter], values: dict[str, dict[str, float]]) -> dict | None:
    """The first filter the run's values fail (a missing metric fails), with what was observed."""
    for f in filters:
        tag, stat, limit = f.lookup
        observed = values.get(tag, {}).get(stat)
        if observed is None or not OPS[f.op](observed, limit):
            return {**f.to_json(), "observed": observed}
    return None
