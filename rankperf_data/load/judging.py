"""The quality and consistency fields of one record, from a validated answer (no Locust)."""

from __future__ import annotations

from rankperf_data.apis.base import Verdict
from rankperf_data.dataset.request import RankingRequest
from rankperf_data.report.consistency import compare
from rankperf_data.report.quality import judge
from rankperf_data.results.records import NOT_JUDGED, Judged

_NAN = float("nan")


def judged_fields(verdict: Verdict, request: RankingRequest, k: int,
                  reference: tuple | None) -> Judged:
    """The record's quality (ndcg, mrr, recall) and consistency (ref_tau, ref_delta, ref_flags) fields.

    Only a valid answer is judged (labels) or compared (``reference`` = (order, scores) of the same
    request sent alone); anything else keeps the "not judged" values.
    """
    if not verdict.ok or (request.relevance is None and reference is None):
        return NOT_JUDGED
    quality = (_NAN, _NAN, _NAN)
    if request.relevance is not None:
        quality = judge(verdict.order, request.relevance, k, request.relevance_unlisted)
    if reference is None:
        return Judged(*quality, _NAN, _NAN, 0)
    return Judged(*quality, *compare(verdict.order, verdict.scores, reference[0], reference[1], k))
