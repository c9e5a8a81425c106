"""Hugging Face Text Embeddings Inference: POST /rerank {query, texts} -> [{index, score}]."""

from __future__ import annotations

import orjson

from rankperf_data.apis._validate import check_rankings, check_status, parse_json
from rankperf_data.apis.base import Verdict
from rankperf_data.dataset.request import RankingRequest

endpoint_type = "hf_tei_rankings"
default_path = "/rerank"
user_class = "TeiRerankUser"


def encode(request: RankingRequest, model: str, extra: dict | None) -> bytes:
    # TEI takes no model field: the server serves one model.
    body: dict = {"query": request.query, "texts": list(request.passages)}
    if extra:
        body.update(extra)
    if request.extra:
        body.update(request.extra)
    return orjson.dumps(body)


def validate(status: int, body: bytes, request: RankingRequest, top_n: int | None = None) -> Verdict:
    verdict = check_status(status, body)
    if verdict:
        return verdict
    data, verdict = parse_json(body)
    if verdict:
        return verdict
    n = len(request.passages)
    # TEI has no top_n: every text comes back, sorted by score.
    return check_rankings(data, "index", "score", n, n)
