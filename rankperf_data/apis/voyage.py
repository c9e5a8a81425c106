"""Voyage AI rerank: POST /v1/rerank {model, query, documents, top_k} -> {data: [{index, relevance_score}]}."""

from __future__ import annotations

import orjson

from rankperf_data.apis._validate import check_results_field, documents_body, finish_body, parse_success
from rankperf_data.apis.base import Verdict
from rankperf_data.dataset.request import RankingRequest
from rankperf_data.results.outcomes import ErrorKind

endpoint_type = "voyage_rankings"
aiperf_endpoint_type = "cohere_rankings"  # AIPerf has no Voyage type; Cohere's is the nearest
default_path = "/v1/rerank"
user_class = "VoyageRerankUser"
routes = (default_path,)
summary = "POST /v1/rerank {model, query, documents, top_k}"
top_n_field = "top_k"


def route(api_version: str) -> str:
    return default_path


def encode(request: RankingRequest, model: str, extra: dict | None, top_n: int = 0) -> bytes:
    return finish_body(documents_body(request, model, top_n, top_n_field), request, extra)


def error_detail(body: bytes) -> str | None:
    """Voyage's error message: the `detail` field of its JSON error body (what its own client shows)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    detail = data.get("detail") if isinstance(data, dict) else None
    if not isinstance(detail, str) or not detail.strip():
        return None
    return detail.strip()


def validate(status: int, body: bytes, request: RankingRequest, top_n: int | None = None) -> Verdict:
    data, verdict = parse_success(status, body)
    if verdict:
        if verdict.kind == ErrorKind.HTTP:
            detail = error_detail(body)
            return Verdict(ErrorKind.HTTP, detail) if detail else verdict
        return verdict
    return check_results_field(data, "data", request, top_n)
