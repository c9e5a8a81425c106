"""Every statistic the reports print, computed in one place from numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

PERCENTILES: tuple[int, ...] = (1, 5, 10, 25, 50, 75, 90, 95, 99)


@dataclass(frozen=True)
class RecordStats:
    """AIPerf's record-metric statistics. A field is None when the source cannot give it
    (e.g. Locust CSVs have no std and no p1..p25)."""

    avg: float | None
    min: float | None
    max: float | None
    sum: float | None
    count: int
    std: float | None = None  # population (ddof=0), as AIPerf
    p1: float | None = None
    p5: float | None = None
    p10: float | None = None
    p25: float | None = None
    p50: float | None = None
    p75: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None

    def get(self, name: str) -> float | None:
        return getattr(self, name)

    def as_dict(self) -> dict[str, float | int | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def record_stats(values: np.ndarray) -> RecordStats | None:
    """avg/min/max/sum/count/std and p1..p99 (linear interpolation); None for empty input."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return None
    pcts = np.percentile(data, PERCENTILES)  # numpy's default method is 'linear'
    return RecordStats(
        avg=float(data.mean()),
        min=float(data.min()),
        max=float(data.max()),
        sum=float(data.sum()),
        count=int(data.size),
        std=float(data.std()),
        **{f"p{p}": float(v) for p, v in zip(PERCENTILES, pcts, strict=True)},
    )


def percentile(values: np.ndarray, q: float) -> float | None:
    """One linear-interpolation percentile (0..100); None for empty input."""
    data = np.asarray(values, dtype=np.float64)
    return float(np.percentile(data, q)) if data.size else None


def arrival_rate(send_ns: np.ndarray) -> float | None:
    """Sends per second measured over the gaps between sends: (n - 1) / (last - first).

    Counting gaps rather than sends makes a constant-rate schedule come out exact.
    """
    if send_ns.size < 2:
        return None
    span = int(send_ns.max()) - int(send_ns.min())
    return (send_ns.size - 1) / (span / 1e9) if span > 0 else None


@dataclass(frozen=True)
class TimeBins:
    """Per-bin counts and percentiles of a value over time (for plots)."""

    start_s: np.ndarray  # bin start, seconds since the origin
    count: np.ndarray
    p50: np.ndarray  # NaN in empty bins
    p99: np.ndarray
    covered_s: np.ndarray  # time each bin covers: bin_s, less for the last one when end_ns cuts it

    @property
    def rate(self) -> np.ndarray:
        """Events per second in each bin (a partial last bin is not shown as a collapse)."""
        return self.count / self.covered_s


def time_bins(t_ns: np.ndarray, values: np.ndarray, origin_ns: int, bin_s: float = 1.0,
              end_ns: int | None = None) -> TimeBins:
    """Group values by the time bin their event falls in; counts and p50/p99 per bin.

    end_ns (the end of the observed window) trims the last bin's covered time, and sets the
    number of bins, so that several series binned with the same origin and end line up.
    """
    t = (np.asarray(t_ns, dtype=np.int64) - origin_ns) / 1e9
    idx = np.floor(np.maximum(t, 0) / bin_s).astype(np.int64)
    span_s = (end_ns - origin_ns) / 1e9 if end_ns is not None else (float(t.max()) if t.size else 0.0)
    n_bins = max(int(np.ceil(span_s / bin_s)) if span_s > 0 else 1, int(idx.max()) + 1 if idx.size else 0)
    counts = np.bincount(idx, minlength=n_bins)
    p50 = np.full(n_bins, np.nan)
    p99 = np.full(n_bins, np.nan)
    order = np.argsort(idx, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(counts)))
    sorted_vals = np.asarray(values, dtype=np.float64)[order]
    for b in np.flatnonzero(counts):
        chunk = sorted_vals[bounds[b] : bounds[b + 1]]
        p50[b], p99[b] = np.percentile(chunk, (50, 99))
    starts = np.arange(n_bins) * bin_s
    covered = np.full(n_bins, bin_s)
    if end_ns is not None and span_s > 0:
        covered = np.clip(span_s - starts, 1e-9, bin_s)
    return TimeBins(starts, counts, p50, p99, covered)
