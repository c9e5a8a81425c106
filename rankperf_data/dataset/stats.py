"""Mean/min/max summaries of request sizes, mergeable across chunks."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def summary(values: np.ndarray) -> tuple[int, float, float, float]:
    """(count, sum, min, max) of an array (count 0 for an empty one)."""
    if len(values) == 0:
        return (0, 0.0, 0.0, 0.0)
    return (len(values), float(values.sum()), float(values.min()), float(values.max()))


def distribution(parts: Iterable[tuple[int, float, float, float]]) -> dict:
    """``{"mean", "min", "max"}`` over merged summaries (empty dict when there were no values)."""
    parts = [p for p in parts if p[0] > 0]
    if not parts:
        return {}
    n = sum(p[0] for p in parts)
    total = sum(p[1] for p in parts)
    return {"mean": total / n, "min": int(min(p[2] for p in parts)), "max": int(max(p[3] for p in parts))}
