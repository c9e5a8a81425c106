"""Jina AI rerank: POST /v1/rerank {model, query, documents, top_n, return_documents} -> {results}."""

from __future__ import annotations

from rankperf_data.apis._validate import check_rankings, finish_body, parse_success
from rankperf_data.apis.base import Verdict
from rankperf_data.dataset.request import RankingRequest
from rankperf_data.results.outcomes import ErrorKind

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
    body: dict = {"model": model, "query": request.query, "documents": list(request.passages)}
    if top_n:  # absent means every document
        body["top_n"] = top_n
    # Jina's default for return_documents has changed over time: always say it, and ask for none
    # (the documents would only make the answer longer than the other APIs' answers)
    body["return_documents"] = False
    return finish_body(body, request, extra)


def validate(status: int, body: bytes, request: RankingRequest, top_n: int | None = None) -> Verdict:
    data, verdict = parse_success(status, body)
    if verdict:
        return verdict
    if not isinstance(data, dict) or "results" not in data:
        return Verdict(ErrorKind.INVALID_RESPONSE, "expected an object with 'results'")
    n = len(request.passages)
    expected = min(top_n, n) if top_n else n
    return check_rankings(data["results"], "index", "relevance_score", n, expected)
