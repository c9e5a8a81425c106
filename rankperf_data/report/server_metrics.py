"""Server /metrics over a run's windows: per-series stats of the profiling (and warmup) window.

Input is what the load side stored (``ServerScrapes``): every scrape of every endpoint, parsed by
``promtext``, each tagged ``baseline`` (before any load), ``periodic``, ``profiling_start`` (when the
measured phase began) or ``final`` (after the last answer). The profiling window runs from the
``profiling_start`` scrape (the baseline when there was no warmup) to the ``final`` one; the warmup
window from the baseline to ``profiling_start``. Rates divide by the client's window (first send to
last response): the server only counts while requests run, and the scrape window adds idle time.
A live run hands over no scrapes but their fold (``server_fold``), which gives the same windows;
a stored run (the raw scrapes file) is computed here from its scrapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rankperf_data.report.promtext import (
    Increase,
    Quantile,
    counter_increase,
    histogram_increase,
    histogram_quantile,
    label_key,
)

QUANTILES = (0.5, 0.9, 0.95, 0.99)


@dataclass
class ServerScrapes:
    """Everything scraped during a run, as stored on disk."""

    configured: list[str] = field(default_factory=list)  # endpoint URLs asked for
    successful: list[str] = field(default_factory=list)  # the ones whose baseline scrape worked
    warnings: list[str] = field(default_factory=list)
    interval_s: float = 0.333
    formats: list[str] = field(default_factory=lambda: ["json", "csv"])
    scrapes: list[dict] = field(default_factory=list)  # {endpoint_url, timestamp_ns, kind, families}
    # A live run keeps no scrapes: each was folded into window state (server_fold.FoldedScrapes)
    # and appended to a spool file (server_scrapes_file), which becomes the raw file at the end.
    folded: object | None = None
    spool: str | None = None

    def scrape_times(self) -> tuple[int, int | None, int | None]:
        """How many scrapes, the first's and the last's timestamp_ns."""
        if self.folded is not None:
            return self.folded.scrapes, self.folded.first_ns, self.folded.last_ns
        times = [s["timestamp_ns"] for s in self.scrapes]
        return len(times), (min(times) if times else None), (max(times) if times else None)

    def to_dict(self) -> dict:
        return {"configured": self.configured, "successful": self.successful, "warnings": self.warnings,
                "interval_s": self.interval_s, "formats": self.formats, "scrapes": self.scrapes}

    @classmethod
    def from_dict(cls, data: dict) -> ServerScrapes:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class SeriesStats:
    """One series of one endpoint over a window."""

    endpoint_url: str
    labels: dict[str, str]
    stats: dict[str, float | None]
    buckets: dict[str, float] | None = None  # histograms: increase per bound over the window
    quantiles: dict[float, Quantile] = field(default_factory=dict)
    resets: int = 0


@dataclass
class FamilyStats:
    name: str
    type: str
    help: str
    series: list[SeriesStats] = field(default_factory=list)


@dataclass
class Window:
    """The stats of every family over one phase's window."""

    phase: str
    start_ns: int
    end_ns: int
    scrapes: int  # scrapes per endpoint inside the window (max over endpoints)
    families: dict[str, FamilyStats] = field(default_factory=dict)


def unit_of(name: str, kind: str) -> str | None:
    """The base unit a name says (TEI's durations are in seconds without the suffix)."""
    if name.endswith(("_seconds", "_duration")) or "_seconds_" in name:
        return "seconds"
    if name.endswith("_bytes"):
        return "bytes"
    if "token" in name:
        return "tokens"
    return None if kind != "counter" else "count"


def _by_endpoint(scrapes: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for s in sorted(scrapes, key=lambda s: s["timestamp_ns"]):
        out.setdefault(s["endpoint_url"], []).append(s)
    return out


def window_bounds(points: list[dict], phase: str) -> tuple[int, int] | None:
    """Indices (first, last) of one endpoint's scrapes that bound the phase, or None."""
    kinds = [p["kind"] for p in points]
    start = kinds.index("profiling_start") if "profiling_start" in kinds else None
    if phase == "warmup":
        return (0, start) if start else None
    first = start if start is not None else 0
    last = len(points) - 1 - kinds[::-1].index("final") if "final" in kinds else len(points) - 1
    return (first, last) if last > first else None


def _series_points(points: list[dict], name: str) -> dict[tuple, list[dict | None]]:
    """label key -> the series at each scrape (None where absent)."""
    per_point = [{label_key(s["labels"]): s for s in p["families"].get(name, {}).get("series", [])}
                 for p in points]
    keys = dict.fromkeys(k for by_key in per_point for k in by_key)
    return {key: [by_key.get(key) for by_key in per_point] for key in keys}


def _histogram_stats(url: str, labels: dict, pts: list, window_s: float | None) -> SeriesStats:
    return histogram_stats(url, labels, histogram_increase(pts), window_s)


def histogram_stats(url: str, labels: dict, inc: Increase, window_s: float | None) -> SeriesStats:
    """A histogram series' stats from its increase over the window."""
    avg = inc.sum / inc.count if inc.count > 0 else None
    stats = {"count": inc.count, "sum": inc.sum, "avg": avg,
             "count_rate": inc.count / window_s if window_s else None,
             "sum_rate": inc.sum / window_s if window_s else None}
    quantiles = {}
    for q in QUANTILES:
        est = histogram_quantile(q, inc.buckets or {})
        if est is not None:
            quantiles[q] = est
        stats[f"p{round(q * 100)}_estimate"] = est.value if est is not None else None
    return SeriesStats(url, labels, stats, inc.buckets, quantiles, inc.resets)


def _series_stats(kind: str, url: str, labels: dict, pts: list, window_s: float | None) -> SeriesStats:
    if kind == "histogram":
        return _histogram_stats(url, labels, pts, window_s)
    values = [None if p is None else p["value"] for p in pts]
    if kind == "counter":
        return counter_stats(url, labels, counter_increase(values), window_s)
    return gauge_stats(url, labels, np.array([v for v in values if v is not None], dtype=np.float64))


def counter_stats(url: str, labels: dict, inc: Increase, window_s: float | None) -> SeriesStats:
    """A counter series' stats from its increase over the window."""
    return SeriesStats(url, labels, {"total": inc.value, "rate": inc.value / window_s if window_s else None},
                       resets=inc.resets)


def gauge_stats(url: str, labels: dict, seen: np.ndarray) -> SeriesStats:
    """A gauge (or unknown) series' stats from the values it had at the window's scrapes."""
    if seen.size == 0:
        return SeriesStats(url, labels, {"avg": None, "min": None, "max": None, "p99": None})
    return SeriesStats(url, labels, {"avg": float(seen.mean()), "min": float(seen.min()), "max": float(seen.max()),
                                     "p50": float(np.percentile(seen, 50)), "p99": float(np.percentile(seen, 99))})


def compute_window(data: ServerScrapes, phase: str, window_s: float | None) -> Window | None:
    """Stats of every family over the phase's window (None when no endpoint has one)."""
    if data.folded is not None:
        return data.folded.window(phase, window_s)
    families: dict[str, FamilyStats] = {}
    start_ns, end_ns, count = None, None, 0
    for url, points in _by_endpoint(data.scrapes).items():
        bounds = window_bounds(points, phase)
        if bounds is None:
            continue
        window = points[bounds[0]: bounds[1] + 1]
        start_ns = min(start_ns or window[0]["timestamp_ns"], window[0]["timestamp_ns"])
        end_ns = max(end_ns or 0, window[-1]["timestamp_ns"])
        count = max(count, len(window))
        names = {n: f for p in window for n, f in p["families"].items()}
        for name, fam in names.items():
            out = families.setdefault(name, FamilyStats(name, fam["type"], fam.get("help", "")))
            for key, pts in _series_points(window, name).items():
                out.series.append(_series_stats(fam["type"], url, dict(key), pts, window_s))
    if start_ns is None:
        return None
    return Window(phase, start_ns, end_ns, count, families)
