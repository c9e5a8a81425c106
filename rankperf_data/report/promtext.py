"""Prometheus text: parse a scrape (promtext_lines, prometheus_client's parser for unusual lines), window increases, histogram_quantile.

A parsed scrape is plain JSON-able data, so the load side can store it and the report rebuild from
disk: ``{family: {"type", "help", "series": [...]}}`` where a counter/gauge/unknown series is
``{"labels", "value"}`` and a histogram series ``{"labels", "buckets": {le: cumulative}, "sum",
"count"}`` with ``le`` normalised through float (Rust writes ``1``, Python ``1.0``: the same bound).
Summaries are skipped, as AIPerf does; ``*_created`` samples are dropped.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rankperf_data.report.promtext_lines import Family, parse_families

KEPT_TYPES = ("counter", "gauge", "untyped", "unknown", "histogram")
INF_KEY = "+Inf"


class NotPrometheus(ValueError):
    """The body is not Prometheus text exposition (HTML, JSON, an error page, or empty)."""


@lru_cache(maxsize=4096)  # the same few bounds come back in every scrape
def le_key(text: str) -> str:
    """A bucket bound as a canonical string: '1', '1.0' and '1e0' are one bound."""
    bound = float(text)
    return INF_KEY if math.isinf(bound) and bound > 0 else repr(bound)


def label_key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def parse_exposition(text: str) -> dict[str, dict]:
    """Families of one scrape; raises NotPrometheus when the text is not an exposition."""
    head = text.lstrip()[:1]
    if head in ("<", "{", "["):
        raise NotPrometheus("looks like " + {"<": "HTML", "{": "JSON", "[": "JSON"}[head])
    fams = parse_families(text)
    if fams is None:  # a line outside the common shape: prometheus_client's parser, same answer
        try:
            fams = reference_families(text)
        except Exception as exc:  # noqa: BLE001 (whatever prometheus_client cannot read is not Prometheus text)
            raise NotPrometheus(str(exc).splitlines()[0][:120] if str(exc) else "not Prometheus text") from None
    families: dict[str, dict] = {}
    for fam in fams:
        if fam.type not in KEPT_TYPES or fam.name.endswith("_created"):
            continue
        families[fam.name] = {"type": fam.type, "help": fam.documentation or "", "series": _series(fam)}
    if not families:
        raise NotPrometheus("no metrics in the body")
    return families


def reference_families(text: str) -> list[Family]:
    """prometheus_client's parse of the whole text, as Family objects; raises ValueError."""
    from prometheus_client.parser import text_string_to_metric_families  # ~45 ms import: only when needed

    return [Family(f.name, f.type, f.documentation, [(s.name, s.labels, s.value) for s in f.samples])
            for f in text_string_to_metric_families(text)]


def _series(fam: Family) -> list[dict]:
    if fam.type != "histogram":
        return [{"labels": dict(labels), "value": float(value)} for name, labels, value in fam.samples
                if not name.endswith("_created")]
    grouped: dict[tuple, dict] = {}
    for name, sample_labels, value in fam.samples:
        labels = {k: v for k, v in sample_labels.items() if k != "le"}
        entry = grouped.setdefault(label_key(labels), {"labels": labels, "buckets": {}, "sum": 0.0, "count": 0.0})
        if name.endswith("_bucket"):
            entry["buckets"][le_key(sample_labels["le"])] = float(value)
        elif name.endswith("_sum"):
            entry["sum"] = float(value)
        elif name.endswith("_count"):
            entry["count"] = float(value)
    return list(grouped.values())


# ---- increases over a window ------------------------------------------------------------------


@dataclass
class Increase:
    """What a series gained over a window of scrapes."""

    value: float = 0.0  # counters: the increase
    buckets: dict[str, float] | None = None  # histograms: increase per bound (cumulative)
    sum: float = 0.0
    count: float = 0.0
    resets: int = 0  # intervals in which a counter went down (a restart): the later value is the increase


def _hist_drop(a: dict, b: dict) -> bool:
    if b["count"] < a["count"]:
        return True
    return any(b["buckets"].get(k, 0.0) < v for k, v in a["buckets"].items())


def histogram_increase(points: Sequence[dict | None]) -> Increase:
    """Sum of per-interval increases of one histogram series over consecutive scrapes.

    A series absent from a scrape counts as zeros (TEI creates series on first use). In an
    interval where any bucket or the count went down, the counter was reset: as Prometheus'
    increase(), the later value is taken as the interval's increase (what came before the reset is lost).
    """
    out = Increase(buckets={})
    prev = points[0] or EMPTY_HISTOGRAM
    for point in points[1:]:
        prev = histogram_step(out, prev, point)
    return out


EMPTY_HISTOGRAM = {"buckets": {}, "sum": 0.0, "count": 0.0}


def histogram_step(out: Increase, prev: dict, point: dict | None) -> dict:
    """Add one interval (prev -> point; absent = zeros) to ``out``; returns the new prev."""
    cur = point or EMPTY_HISTOGRAM
    reset = _hist_drop(prev, cur)
    base = EMPTY_HISTOGRAM if reset else prev
    out.resets += reset
    for k, v in cur["buckets"].items():
        out.buckets[k] = out.buckets.get(k, 0.0) + v - base["buckets"].get(k, 0.0)
    out.sum += cur["sum"] - base["sum"]
    out.count += cur["count"] - base["count"]
    return cur


def counter_increase(values: Sequence[float | None]) -> Increase:
    """Sum of per-interval increases of a counter (absent = 0; a drop is a reset)."""
    out = Increase()
    prev = values[0] or 0.0
    for value in values[1:]:
        prev = counter_step(out, prev, value)
    return out


def counter_step(out: Increase, prev: float, value: float | None) -> float:
    """Add one interval of a counter to ``out``; returns the new prev."""
    cur = value or 0.0
    if cur < prev:
        out.resets += 1
        out.value += cur
    else:
        out.value += cur - prev
    return cur


# ---- histogram_quantile ---------------------------------------------------------------------


@dataclass(frozen=True)
class Quantile:
    """An estimate and the bucket it came from: the true value lies in (lower, upper]."""

    value: float
    lower: float
    upper: float
    at_least: bool = False  # in the +Inf bucket: the value is >= the largest finite bound

    def to_dict(self, scale: float = 1.0) -> dict:
        return {"estimate": self.value * scale, "bucket": [self.lower * scale,
                None if math.isinf(self.upper) else self.upper * scale], "at_least": self.at_least}


def sorted_buckets(buckets: dict[str, float]) -> list[tuple[float, float]]:
    """(bound, cumulative count) by bound, counts made non-decreasing as Prometheus does."""
    pairs = sorted((float(k), v) for k, v in buckets.items())
    out: list[tuple[float, float]] = []
    for bound, count in pairs:
        if out and count < out[-1][1]:
            count = out[-1][1]  # a dip (scrape not atomic, float noise): raised to the bucket below
        out.append((bound, count))
    return out


def histogram_quantile(q: float, buckets: dict[str, float] | list[tuple[float, float]]) -> Quantile | None:
    """Prometheus' histogram_quantile over cumulative bucket counts; None when it would be NaN
    (no +Inf bucket, fewer than two buckets, or no observations)."""
    pairs = sorted_buckets(buckets) if isinstance(buckets, dict) else list(buckets)
    if len(pairs) < 2 or not math.isinf(pairs[-1][0]) or pairs[-1][1] <= 0 or math.isnan(q):
        return None
    if q < 0 or q > 1:
        edge = -math.inf if q < 0 else math.inf
        return Quantile(edge, edge, edge)
    total = pairs[-1][1]
    rank = q * total
    counts = [c for _, c in pairs[:-1]]
    i = bisect_left(counts, rank)  # first finite bucket whose count reaches the rank, else +Inf
    if i == len(pairs) - 1:
        top = pairs[-2][0]
        return Quantile(top, top, math.inf, at_least=True)
    upper, count = pairs[i]
    if i == 0 and upper <= 0:
        return Quantile(upper, upper, upper)
    lower, below = (0.0, 0.0) if i == 0 else pairs[i - 1]
    if count == below:
        return Quantile(upper, lower, upper)
    return Quantile(lower + (upper - lower) * (rank - below) / (count - below), lower, upper)
