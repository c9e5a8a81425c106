"""Latency as a function of the request's size: least squares a + b x passages (+ c x pair tokens).

The pair-token term is fitted only where it is identifiable: with a fixed number of tokens per
passage (and per query), pair tokens are a multiple of passages and the term is collinear, so the
model keeps passages alone and reports ``per_pair_token_us: null``. Confidence intervals are 95 %,
from the coefficients' standard errors and Student's t. Also the latency table by passage count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rankperf_data.report import stats

MAX_GROUPS = 24  # more distinct passage counts than this are grouped into equal-width ranges
# A regressor whose part not explained by the others has less than this share of its own variance
# is collinear with them (fixed tokens per passage give exactly 0; rounding noise stays far below).
COLLINEAR_SHARE = 1e-6
# Student's t, two-sided 95 %, for 1..30 degrees of freedom; the normal 1.96 beyond.
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042)


def t95(df: int) -> float:
    return _T95[df - 1] if 1 <= df <= len(_T95) else 1.96


@dataclass(frozen=True)
class LatencyModel:
    """latency_ms = intercept_ms + per_passage_ms x passages (+ per_pair_token_us / 1000 x pair tokens)."""

    intercept_ms: float
    per_passage_ms: float
    per_pair_token_us: float | None
    r2: float
    n: int
    ci95: dict[str, tuple[float, float] | None]

    def to_dict(self) -> dict:
        return {"intercept_ms": self.intercept_ms, "per_passage_ms": self.per_passage_ms,
                "per_pair_token_us": self.per_pair_token_us, "r2": self.r2, "n": self.n,
                "ci95": {k: (list(v) if v is not None else None) for k, v in self.ci95.items()}}

    def line(self) -> str:
        """'4.1 ms + 1.49 ms per passage, R^2 0.98' (with the token term when it was fitted)."""
        text = f"{self.intercept_ms:,.3g} ms {_signed(self.per_passage_ms)} ms per passage"
        if self.per_pair_token_us is not None:
            text += f" {_signed(self.per_pair_token_us)} us per pair token"
        return f"{text}, R^2 {self.r2:.2f}"


def _signed(value: float) -> str:
    """'+ 1.5' or '- 0.2': a term of a sum, read aloud."""
    return f"{'-' if value < 0 else '+'} {abs(value):,.3g}"


def _collinear(column: np.ndarray, others: np.ndarray) -> bool:
    centred = column - column.mean()
    total = float(centred @ centred)
    if total == 0.0:
        return True
    coef, *_ = np.linalg.lstsq(others, column, rcond=None)
    residual = column - others @ coef
    return float(residual @ residual) < COLLINEAR_SHARE * total


def fit(latency_ms: np.ndarray, passages: np.ndarray, pair_tokens: np.ndarray | None = None) -> LatencyModel | None:
    """Least squares over successful requests; None when passages do not vary (nothing to fit)."""
    y = np.asarray(latency_ms, dtype=np.float64)
    p = np.asarray(passages, dtype=np.float64)
    if y.size < 3 or p.min() == p.max():  # passages do not vary (no sorted copy, as np.unique would make)
        return None
    x = np.column_stack([np.ones_like(p), p])
    names = ["intercept_ms", "per_passage_ms"]
    if pair_tokens is not None and pair_tokens.size == y.size and not _collinear(pair_tokens.astype(np.float64), x):
        x = np.column_stack([x, pair_tokens.astype(np.float64) / 1000.0])  # ms per token -> us per token
        names.append("per_pair_token_us")
    coef, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    if rank < x.shape[1]:
        return None
    residual = y - x @ coef
    rss = float(residual @ residual)
    centred = y - y.mean()
    tss = float(centred @ centred)
    df = y.size - x.shape[1]
    ci: dict[str, tuple[float, float] | None] = {"intercept_ms": None, "per_passage_ms": None,
                                                 "per_pair_token_us": None}
    if df > 0:
        se = np.sqrt(np.diag(rss / df * np.linalg.inv(x.T @ x)))
        for name, c, s in zip(names, coef, se, strict=True):
            ci[name] = (float(c - t95(df) * s), float(c + t95(df) * s))
    return LatencyModel(float(coef[0]), float(coef[1]), float(coef[2]) if len(names) == 3 else None,
                        1.0 - rss / tss if tss > 0 else 1.0, int(y.size), ci)


def passage_groups(passages: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(label, mask) per passage count, or per equal-width range when there are too many counts."""
    values = np.unique(passages)
    if values.size <= MAX_GROUPS:
        return [(str(v), passages == v) for v in values]
    lo, hi = int(values.min()), int(values.max())
    width = -(-(hi - lo + 1) // MAX_GROUPS)  # ceil
    groups = []
    for start in range(lo, hi + 1, width):
        end = min(start + width - 1, hi)
        groups.append((str(start) if start == end else f"{start}-{end}", (passages >= start) & (passages <= end)))
    return groups


def latency_by_passages(latency_ms: np.ndarray, passages: np.ndarray) -> list[dict]:
    """One row per passage count (or range): requests, mean, p50 and p99 latency (ms)."""
    rows = []
    for label, mask in passage_groups(passages):
        s = stats.record_stats(latency_ms[mask])
        if s is not None:
            rows.append({"passages": label, "count": s.count, "avg_ms": s.avg, "p50_ms": s.p50, "p99_ms": s.p99})
    return rows


def model_of_records(ok: np.ndarray) -> tuple[LatencyModel | None, list[dict]]:
    """The model and the table from successful records (pair tokens only when every count is known)."""
    if ok.size == 0:
        return None, []
    ms = (ok["end_ns"] - ok["start_ns"]).astype(np.float64) / 1e6
    passages = ok["passages"]
    tokens = None
    # pair tokens only matter when passages vary (else there is no fit): not built for nothing
    if passages.min() != passages.max() and ((ok["query_tokens"] >= 0) & (ok["passage_tokens"] >= 0)).all():
        tokens = ok["query_tokens"].astype(np.int64) * passages + ok["passage_tokens"]
    return fit(ms, passages, tokens), latency_by_passages(ms, passages)
