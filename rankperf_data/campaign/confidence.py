"""Across-run statistics of one metric statistic, as AIPerf's confidence aggregate defines them.

mean, sample std (ddof=1), min, max, cv = std/mean, se = std/sqrt(n), t_critical for the two-sided
confidence level with n-1 degrees of freedom, ci = mean -/+ t_critical x se. One value: std, cv and
se are 0, the interval is [v, v], t_critical is NaN (null in JSON).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from rankperf_data.campaign.tdist import t_critical


def confidence_stats(values: Iterable[float | None], confidence: float) -> dict[str, float] | None:
    """The payload for one (metric, stat) sample across runs; None when no finite value remains."""
    data = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(data)
    if n == 0:
        return None
    mean = sum(data) / n
    if n == 1:
        return {"mean": mean, "std": 0.0, "min": mean, "max": mean, "cv": 0.0, "se": 0.0,
                "ci_low": mean, "ci_high": mean, "t_critical": math.nan}
    std = math.sqrt(sum((v - mean) ** 2 for v in data) / (n - 1))
    se = std / math.sqrt(n)
    t = t_critical(confidence, n - 1)
    return {"mean": mean, "std": std, "min": min(data), "max": max(data),
            "cv": std / mean if mean != 0 else math.inf, "se": se,
            "ci_low": mean - t * se, "ci_high": mean + t * se, "t_critical": t}
