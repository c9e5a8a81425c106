"""Hugging Face Text Embeddings Inference: POST /rerank {query, texts} -> [{index, score}]."""

from __future__ import annotations

from rankperf_data.apis._validate import check_rankings, finish_body, parse_success
from rankperf_data.apis.base import Verdict
from rankperf_data.dataset.request import RankingRequest

endpoint_type = "hf_tei_rankings"
default_path = "/rerank"
aiperf_endpoint_type = endpoint_type
user_class = "TeiRerankUser"
routes = (default_path,)
summary = "POST /rerank {query, texts}"
top_n_field = None


def route(api_version: str) -> str:
    return default_path


def encode(request: RankingRequest, model: str, extra: dict | None, top_n: int = 0) -> bytes:
    # TEI takes no model field: the server serves one model.
    body: dict = {"query": request.query, "texts": list(request.passages)}
    return finish_body(body, request, extra)


def validate(status: int, body: bytes, request: RankingRequest, top_n: int | None = None) -> Verdict:
    data, verdict = parse_success(status, body)
    if verdict:
        return verdict
    n = len(request.passages)
    # TEI has no top_n: every text comes back, sorted by score.
    return check_rankings(data, "index", "score", n, n)
