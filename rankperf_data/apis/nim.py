"""NVIDIA NIM ranking: POST /v1/ranking {model, query{text}, passages[{text}]} -> {rankings}."""

from __future__ import annotations

from rankperf_data.apis._validate import check_results_field, finish_body, parse_success
from rankperf_data.apis.base import Verdict
from rankperf_data.dataset.request import RankingRequest

endpoint_type = "nim_rankings"
default_path = "/v1/ranking"
aiperf_endpoint_type = endpoint_type
user_class = "NimRankingUser"
routes = (default_path,)
summary = "POST /v1/ranking {model, query{text}, passages[{text}]}"
top_n_field = None


def route(api_version: str) -> str:
    return default_path


def encode(request: RankingRequest, model: str, extra: dict | None, top_n: int = 0) -> bytes:
    # NIM has no top_n: every passage comes back
    body: dict = {
        "model": model,
        "query": {"text": request.query},
        "passages": [{"text": p} for p in request.passages],
    }
    return finish_body(body, request, extra)


def validate(status: int, body: bytes, request: RankingRequest, top_n: int | None = None) -> Verdict:
    data, verdict = parse_success(status, body)
    if verdict:
        return verdict
    return check_results_field(data, "rankings", request, None, score_key="logit")  # NIM has no top_n
