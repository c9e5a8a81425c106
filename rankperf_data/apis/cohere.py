"""Cohere-style rerank (Cohere v1/v2, vLLM, Infinity): {model, query, documents, top_n} -> {results}."""

from __future__ import annotations

from rankperf_data.apis._validate import check_results_field, documents_body, finish_body, parse_success
from rankperf_data.apis.base import Verdict
from rankperf_data.dataset.request import RankingRequest

endpoint_type = "cohere_rankings"
default_path = "/v2/rerank"
v1_path = "/v1/rerank"
aiperf_endpoint_type = endpoint_type
user_class = "CohereRerankUser"
routes = (default_path, v1_path)
summary = "POST /v2/rerank {model, query, documents}; /v1/rerank with --cohere-api-version v1"
top_n_field = "top_n"


def route(api_version: str) -> str:
    """Cohere's two API versions differ only in their route here."""
    return v1_path if api_version == "v1" else default_path


def encode(request: RankingRequest, model: str, extra: dict | None, top_n: int = 0) -> bytes:
    return finish_body(documents_body(request, model, top_n, top_n_field), request, extra)


def validate(status: int, body: bytes, request: RankingRequest, top_n: int | None = None) -> Verdict:
    data, verdict = parse_success(status, body)
    if verdict:
        return verdict
    return check_results_field(data, "results", request, top_n)
