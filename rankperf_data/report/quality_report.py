"""The run's quality section: means of the per-request NDCG/MRR/Recall and the consistency counts."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rankperf_data.report import stats
from rankperf_data.report.metrics import Metric
from rankperf_data.report.quality import DEFAULT_K
from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import REF_COMPARED, REF_ORDER_CHANGED, REF_TOPK_CHANGED
from rankperf_data.results.run import RunInfo

# Scores that differ by more than this from the answer sent alone count as drift (a deterministic
# server repeats its scores bit for bit; GPU batching moves them by ~1e-6).
SCORE_TOLERANCE = 1e-4


@dataclass
class QualityReport:
    """What `rankperf.quality` holds; ``metrics`` are the console rows (per-request stats)."""

    values: dict
    metrics: dict[str, Metric] = field(default_factory=dict)
    warning: str | None = None

    def to_dict(self) -> dict:
        return dict(self.values)


def quality_k(info: RunInfo) -> int:
    return int(info.options.get("quality_k") or DEFAULT_K)


def _labelled(rec: np.ndarray, k: int) -> tuple[dict, dict[str, Metric]]:
    ok = rec["error_kind"] == ErrorKind.OK
    judged = rec[ok & ~np.isnan(rec["ndcg"])]
    values: dict = {"k": k}
    rows: dict[str, Metric] = {}
    for name, column in (("ndcg", "ndcg"), ("mrr", "mrr"), ("recall", "recall")):
        tag = f"{name}@{k}"
        # float64 sum of the per-request float32 values: the same numbers whatever the split
        column_values = judged[column].astype(np.float64)
        values[tag] = float(column_values.mean()) if judged.size else None
        s = stats.record_stats(column_values)
        if s is not None:
            header = {"ndcg": "NDCG", "mrr": "MRR", "recall": "Recall"}[name]
            rows[tag] = Metric(tag, f"{header}@{k}", "", stats=s)
    values["judged_requests"] = int(judged.size)
    values["unjudged_requests"] = int(rec.size - judged.size)  # failed answers: not judged
    return values, rows


def _consistency(rec: np.ndarray, info: RunInfo, k: int) -> tuple[dict, str | None]:
    flags = rec["ref_flags"]
    compared = rec[(flags & REF_COMPARED) != 0]
    order = int(((compared["ref_flags"] & REF_ORDER_CHANGED) != 0).sum())
    topk = int(((compared["ref_flags"] & REF_TOPK_CHANGED) != 0).sum())
    delta = float(compared["ref_delta"].astype(np.float64).max()) if compared.size else None
    tau = float(compared["ref_tau"].astype(np.float64).min()) if compared.size else None
    refs = info.quality_references
    values = {"requests_compared": int(compared.size), "order_changed": order, "topk_changed": topk,
              "k": k, "max_score_delta": delta, "kendall_tau_min": tau,
              "reference_requests": int(refs.get("sent", 0)), "references_failed": int(refs.get("failed", 0)),
              "not_compared": int(rec.size - compared.size), "score_tolerance": SCORE_TOLERANCE}
    warning = None
    if order or (delta is not None and delta > SCORE_TOLERANCE):
        warning = (f"WARNING: answers drift under load: {order:,} of {compared.size:,} compared requests came "
                   f"back in another order than when sent alone ({topk:,} with another top-{k}), scores moved "
                   f"by up to {delta:.6g}, Kendall tau down to {tau:.4f}.")
    return values, warning


def quality_report(rec: np.ndarray, info: RunInfo | None) -> QualityReport | None:
    """The quality section of one phase's records, or None when the run judged nothing."""
    if info is None:
        return None
    labelled = bool(info.dataset.get("labelled"))
    checked = bool(info.options.get("check_consistency"))
    if not (labelled or checked):
        return None
    k = quality_k(info)
    values: dict = {}
    rows: dict[str, Metric] = {}
    warning = None
    if labelled:
        values, rows = _labelled(rec, k)
    if checked:
        values["consistency"], warning = _consistency(rec, info, k)
    return QualityReport(values, rows, warning)
