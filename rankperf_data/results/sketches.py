"""A mergeable latency distribution with bounded relative error (DDSketch), and its wire form.

Pure: numpy and ``ddsketch``, no Locust. A load process adds its latencies in batches (keys
computed with numpy, one library call per distinct bucket); the sketch travels as a small
msgpack-able dict; the master merges sketches from every process. Merging refuses sketches of
other parameters (relative accuracy, unit) with a ``SketchMismatch`` naming both, because
their buckets do not line up and a merge would be silently wrong.
"""

from __future__ import annotations

import math

import numpy as np
from ddsketch import DDSketch

RELATIVE_ACCURACY = 0.005  # quantile values within 0.5 % of the true ones: 1 % with room for rank effects
UNIT = "ms"


class SketchMismatch(ValueError):
    """Two sketches whose parameters differ cannot be merged."""


class LatencySketch:
    """Latencies (>= 0) in one unit; exact count, sum, min and max alongside the sketch."""

    def __init__(self, relative_accuracy: float = RELATIVE_ACCURACY, unit: str = UNIT) -> None:
        self.relative_accuracy = relative_accuracy
        self.unit = unit
        self._sketch = DDSketch(relative_accuracy=relative_accuracy)
        mantissa = 2 * relative_accuracy / (1 - relative_accuracy)
        self._multiplier = 1 / math.log1p(mantissa)  # key = ceil(ln(v) / ln(gamma)), as the library's mapping
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf

    @property
    def params(self) -> dict:
        return {"relative_accuracy": self.relative_accuracy, "unit": self.unit}

    def add_many(self, values: np.ndarray) -> None:
        """Add a batch of values: buckets computed with numpy, one library call per distinct bucket."""
        values = np.asarray(values, dtype=np.float64)
        if values.size == 0:
            return
        positive = values[values > 0]
        zeros = values.size - positive.size
        if zeros:
            self._sketch.add(0.0, float(zeros))
        if positive.size:
            keys, counts = np.unique(np.ceil(np.log(positive) * self._multiplier).astype(np.int64),
                                     return_counts=True)
            mapping = self._sketch._mapping
            for key, n in zip(keys.tolist(), counts.tolist(), strict=True):
                self._sketch.add(mapping.value(key), float(n))  # the bucket's own value lands in it
        self.count += int(values.size)
        self.sum += float(values.sum())
        self.min = min(self.min, float(values.min()))
        self.max = max(self.max, float(values.max()))

    def quantile(self, q: float) -> float | None:
        """The value at quantile q in [0, 1] (None when empty), clamped into the exact [min, max]."""
        if self.count == 0:
            return None
        value = self._sketch.get_quantile_value(q)
        return min(max(value, self.min), self.max)

    def check_mergeable(self, other: LatencySketch) -> None:
        if other.params != self.params:
            raise SketchMismatch(f"sketch parameters differ: {other.params} vs {self.params}")

    def merge(self, other: LatencySketch) -> None:
        self.check_mergeable(other)
        if other.count == 0:
            return
        self._sketch.merge(other._sketch)
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def to_wire(self) -> dict:
        """A msgpack-able dict: parameters, the buckets from the lowest to the highest non-empty one
        (dense, integer counts), exact count/sum/min/max."""
        store = self._sketch._store  # the library's own protobuf encoder reads the store the same way
        bins = np.asarray(store.bins, dtype=np.int64)
        nonzero = np.flatnonzero(bins)
        first, last = (int(nonzero[0]), int(nonzero[-1]) + 1) if nonzero.size else (0, 0)
        return {**self.params, "first_key": first + store.offset, "counts": bins[first:last].tolist(),
                "zeros": int(self._sketch._zero_count), "count": self.count, "sum": self.sum,
                "min": self.min if self.count else None, "max": self.max if self.count else None}

    @classmethod
    def from_wire(cls, data: dict) -> LatencySketch:
        sketch = cls(float(data["relative_accuracy"]), str(data["unit"]))
        mapping = sketch._sketch._mapping
        counts = data["counts"]
        first = int(data["first_key"])
        # the two ends first: the store then grows its range once, not bucket by bucket
        order = [len(counts) - 1, 0, *range(1, len(counts) - 1)] if len(counts) > 1 else range(len(counts))
        for i in order:
            if counts[i]:
                sketch._sketch.add(mapping.value(first + i), float(counts[i]))
        if data["zeros"]:
            sketch._sketch.add(0.0, float(data["zeros"]))
        sketch.count = int(data["count"])
        sketch.sum = float(data["sum"])
        if sketch.count:
            sketch.min, sketch.max = float(data["min"]), float(data["max"])
        return sketch
