"""Server /metrics windows folded scrape by scrape: compute_window's result without keeping the scrapes.

Each scrape is added as it comes (one endpoint's scrapes in time order, as the scraper takes them)
and folded into per-series state: a histogram's last point and bucket increases, a counter's last
value and increase, a gauge's values (exact p50/p99 need them: 8 bytes per scrape per gauge series,
against ~55 KB per parsed scrape). Two folds per endpoint at most: one from the first scrape (the
warmup window once a ``profiling_start`` scrape comes, else the profiling window) and one from
``profiling_start``. Stats come out through server_metrics' own functions, so the numbers are those
of ``compute_window`` on the same scrapes. Scrapes after an endpoint's ``final`` are counted only.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np

from rankperf_data.report.promtext import EMPTY_HISTOGRAM, Increase, counter_step, histogram_step, label_key
from rankperf_data.report.server_metrics import (
    FamilyStats,
    SeriesStats,
    Window,
    counter_stats,
    gauge_stats,
    histogram_stats,
)


class _Series:
    """One series over one window: what its stats need, nothing more."""

    __slots__ = ("kind", "prev", "inc", "values")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.inc = Increase(buckets={}) if kind == "histogram" else Increase()
        self.values = array("d")
        # absent before it first shows (zeros): the interval from zeros to its first point counts
        self.prev: dict | float = EMPTY_HISTOGRAM if kind == "histogram" else 0.0

    def base(self, point: dict) -> None:
        """The window's first scrape: the base of the first interval."""
        self.prev = point if self.kind == "histogram" else point.get("value") or 0.0
        self._keep(point)

    def _keep(self, point: dict | None) -> None:
        if self.kind not in ("histogram", "counter") and point is not None:
            self.values.append(point["value"])

    def add(self, point: dict | None) -> None:
        if self.kind == "histogram":
            self.prev = histogram_step(self.inc, self.prev, point)
        elif self.kind == "counter":
            self.prev = counter_step(self.inc, self.prev, None if point is None else point["value"])
        else:
            self._keep(point)

    def stats(self, url: str, labels: dict, window_s: float | None) -> SeriesStats:
        if self.kind == "histogram":
            return histogram_stats(url, labels, self.inc, window_s)
        if self.kind == "counter":
            return counter_stats(url, labels, self.inc, window_s)
        return gauge_stats(url, labels, np.frombuffer(self.values, dtype=np.float64) if self.values else
                           np.array([], dtype=np.float64))


@dataclass
class WindowFold:
    """One endpoint's scrapes over one window, folded."""

    start_ns: int = 0
    end_ns: int = 0
    scrapes: int = 0
    families: dict[str, dict] = field(default_factory=dict)  # name -> {"type", "help"} last seen
    series: dict[str, dict[tuple, _Series]] = field(default_factory=dict)

    def add(self, point: dict) -> None:
        first = self.scrapes == 0
        self.scrapes += 1
        if first:
            self.start_ns = point["timestamp_ns"]
        self.end_ns = point["timestamp_ns"]
        present: dict[str, dict[tuple, dict]] = {}
        for name, fam in point["families"].items():
            self.families[name] = {"type": fam["type"], "help": fam.get("help", "")}
            present[name] = {label_key(s["labels"]): s for s in fam.get("series", [])}
        for name, by_key in present.items():
            known = self.series.setdefault(name, {})
            for key, s in by_key.items():
                if key not in known:
                    known[key] = _Series(self.families[name]["type"])
                    if first:
                        known[key].base(s)
        if first:
            return
        for name, known in self.series.items():
            by_key = present.get(name, {})
            for key, fold in known.items():
                fold.add(by_key.get(key))

    def families_stats(self, url: str, out: dict[str, FamilyStats], window_s: float | None) -> None:
        for name, fam in self.families.items():
            stats = out.setdefault(name, FamilyStats(name, fam["type"], fam["help"]))
            for key, fold in self.series.get(name, {}).items():
                stats.series.append(fold.stats(url, dict(key), window_s))


@dataclass
class _Endpoint:
    whole: WindowFold = field(default_factory=WindowFold)  # from the first scrape
    profiling: WindowFold | None = None  # from the profiling_start scrape (when it is not the first)
    started: bool = False  # a profiling_start scrape came
    ended: bool = False  # the final scrape came


@dataclass
class FoldedScrapes:
    """Every endpoint's windows, fed one scrape at a time; what the exports' summary needs besides."""

    endpoints: dict[str, _Endpoint] = field(default_factory=dict)
    scrapes: int = 0
    first_ns: int | None = None
    last_ns: int | None = None

    def add(self, scrape: dict) -> None:
        """One parsed scrape ({endpoint_url, timestamp_ns, kind, families}), after the earlier ones of its endpoint."""
        ts = scrape["timestamp_ns"]
        self.scrapes += 1
        self.first_ns = ts if self.first_ns is None else min(self.first_ns, ts)
        self.last_ns = ts if self.last_ns is None else max(self.last_ns, ts)
        ep = self.endpoints.setdefault(scrape["endpoint_url"], _Endpoint())
        if ep.ended:
            return
        kind = scrape["kind"]
        if kind == "profiling_start" and not ep.started and ep.whole.scrapes > 0:
            ep.whole.add(scrape)  # the warmup window ends here, the profiling one starts here
            ep.profiling = WindowFold()
        (ep.profiling or ep.whole).add(scrape)
        ep.started = ep.started or kind == "profiling_start"
        ep.ended = kind == "final"

    def window(self, phase: str, window_s: float | None) -> Window | None:
        """What ``compute_window`` gives on the same scrapes."""
        families: dict[str, FamilyStats] = {}
        start_ns, end_ns, count = None, None, 0
        for url, ep in self.endpoints.items():
            fold = self._fold(ep, phase)
            if fold is None:
                continue
            start_ns = min(start_ns or fold.start_ns, fold.start_ns)
            end_ns = max(end_ns or 0, fold.end_ns)
            count = max(count, fold.scrapes)
            fold.families_stats(url, families, window_s)
        if start_ns is None:
            return None
        return Window(phase, start_ns, end_ns, count, families)

    @staticmethod
    def _fold(ep: _Endpoint, phase: str) -> WindowFold | None:
        if phase == "warmup":
            return ep.whole if ep.profiling is not None else None
        fold = ep.profiling or ep.whole
        return fold if fold.scrapes >= 2 else None
