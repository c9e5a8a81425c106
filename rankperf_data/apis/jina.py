"""Jina AI rerank: POST /v1/rerank {model, query, documents, top_n, return_documents} -> {results}."""

from __future__ import annotations

from rankperf_data.apis._validate import check_results_field, documents_body, finish_body, parse_success
from rankperf_data.apis.base import Verdict
from rankperf_data.dataset.request import RankingRequest

endpoint_type = "jina_rankings"
aiperf_endpoint_type = "cohere_rankings"  # AIPerf has no Jina type; Cohere's is the nearest
default_path = "/v1/rerank"
user_class = "JinaRerankUser"
routes = (default_path,)
summary = "POST /v1/rerank {model, query, documents, top_n, return_documents: false}"
top_n_field = "top_n"


def route(api_version: str) -> str:
    return default_path


def encode(request: RankingRequest, model: str, extra: dict | None, top_n: int = 0) -> bytes:
    body = documents_body(request, model, top_n, top_n_field)
    # Jina's default for return_documents has changed over time: always say it, and ask for none
    # (the documents would only make the answer longer than the other APIs' answers)
    body["return_documents"] = False
    return finish_body(body, request, extra)


def validate(status: int, body: bytes, request: RankingRequest, top_n: int | None = None) -> Verdict:
    data, verdict = parse_success(status, body)
    if verdict:
        return verdict
    return check_results_field(data, "results", request, top_n)
