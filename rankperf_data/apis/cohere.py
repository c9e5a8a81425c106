"""Cohere-style rerank (Cohere v1/v2, vLLM, Infinity): {model, query, documents, top_n} -> {results}."""

from __future__ import annotations

from rankperf_data.apis._validate import check_rankings, finish_body, parse_success
from rankperf_data.apis.base import Verdict
from rankperf_data.dataset.request import RankingRequest
from rankperf_data.results.outcomes import ErrorKind

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
    body: dict = {"model": model, "query": request.query, "documents": list(request.passages)}
    if top_n:
        body["top_n"] = top_n
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
