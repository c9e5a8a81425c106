"""The quality and consistency fields of one record, from a validated answer (no Locust)."""

from __future__ import annotations

from rankperf_data.apis.base import Verdict
from rankperf_data.dataset.request import RankingRequest
from rankperf_data.load.records import NOT_JUDGED
from rankperf_data.report.consistency import compare
from rankperf_data.report.quality import judge

_NAN = float("nan")


def judged_fields(verdict: Verdict, request: RankingRequest, k: int,
                  reference: tuple | None) -> tuple:
    """(ndcg, mrr, recall, ref_tau, ref_delta, ref_flags) in RECORD_FIELDS order.

    Only a valid answer is judged (labels) or compared (``reference`` = (order, scores) of the same
    request sent alone); anything else keeps the "not judged" values.
    """
    if not verdict.ok or (request.relevance is None and reference is None):
        return NOT_JUDGED
    quality = (_NAN, _NAN, _NAN)
    if request.relevance is not None:
        quality = judge(verdict.order, request.relevance, k, request.relevance_unlisted)
    if reference is None:
        return (*quality, _NAN, _NAN, 0)
    return (*quality, *compare(verdict.order, verdict.scores, reference[0], reference[1], k))
