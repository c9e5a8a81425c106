"""Checks shared by the API modules: status, JSON, and the ranking list's content."""

from __future__ import annotations

import json
import math

import orjson

from rankperf_data.apis.base import Verdict
from rankperf_data.dataset.request import RankingRequest
from rankperf_data.results.outcomes import ErrorKind

_SNIPPET = 200


def snippet(body: bytes) -> str:
    """A short, printable excerpt of a response body for error messages."""
    text = body[:_SNIPPET].decode("utf-8", errors="replace").strip()
    return text + ("…" if len(body) > _SNIPPET else "")


def check_status(status: int, body: bytes) -> Verdict | None:
    """An HTTP error verdict for a non-2xx status, else None."""
    if 200 <= status < 300:
        return None
    return Verdict(ErrorKind.HTTP, snippet(body) or f"HTTP {status}")


def parse_json(body: bytes) -> tuple[object, Verdict | None]:
    try:
        return orjson.loads(body), None
    except orjson.JSONDecodeError as exc:
        strict_error = exc
    # Some servers write NaN / Infinity literals or numbers that overflow a double, which orjson
    # refuses: the stdlib decoder reads them as floats, so the score check can name the problem.
    try:
        return json.loads(body), None
    except (ValueError, RecursionError):
        message = f"response is not JSON ({strict_error.msg}): {snippet(body)}"
        return None, Verdict(ErrorKind.INVALID_RESPONSE, message)


def finish_body(body: dict, request: RankingRequest, extra: dict | None) -> bytes:
    """--extra-inputs, then the line's own extra fields, merged top-level; encoded once."""
    if extra:
        body.update(extra)
    if request.extra:
        body.update(request.extra)
    return orjson.dumps(body)


def documents_body(request: RankingRequest, model: str, top_n: int, top_n_field: str) -> dict:
    """The `{model, query, documents}` body the Cohere-style APIs share; the top-n field only when set
    (absent means every document, ranked)."""
    body: dict = {"model": model, "query": request.query, "documents": list(request.passages)}
    if top_n:
        body[top_n_field] = top_n
    return body


def check_results_field(data: object, field: str, request: RankingRequest, top_n: int | None,
                        score_key: str = "relevance_score") -> Verdict:
    """A decoded success body `{field: [{index, score_key}...]}`, checked against the request: every
    passage, or the top n of them when asked."""
    if not isinstance(data, dict) or field not in data:
        return Verdict(ErrorKind.INVALID_RESPONSE, f"expected an object with '{field}'")
    n = len(request.passages)
    expected = min(top_n, n) if top_n else n
    return check_rankings(data[field], "index", score_key, n, expected)


def parse_success(status: int, body: bytes) -> tuple[object, Verdict | None]:
    """The decoded JSON of a 2xx response, or the verdict that ends the check (HTTP error, not JSON)."""
    verdict = check_status(status, body)
    if verdict:
        return None, verdict
    return parse_json(body)


def check_rankings(items: object, index_key: str, score_key: str, n_passages: int, expected: int) -> Verdict:
    """Validate a list of ``{index_key, score_key}`` objects: shape, indices, scores, order, count.

    ``expected`` is the number of results the API promises (all passages, or top_n).
    """
    if not isinstance(items, list):
        return Verdict(ErrorKind.INVALID_RESPONSE, f"expected a list of results, got {type(items).__name__}")
    seen: set[int] = set()
    order: list[int] = []  # kept for the quality and consistency checks
    scores: list[float] = []
    previous = math.inf
    for pos, item in enumerate(items):
        if not isinstance(item, dict):
            return Verdict(ErrorKind.INVALID_RESPONSE, f"result {pos} is not an object")
        index = item.get(index_key)
        score = item.get(score_key)
        if not isinstance(index, int) or isinstance(index, bool):
            return Verdict(ErrorKind.INVALID_RESPONSE, f"result {pos} has no integer '{index_key}'")
        if not isinstance(score, (int, float)) or isinstance(score, bool):
            return Verdict(ErrorKind.INVALID_RESPONSE, f"result {pos} has no numeric '{score_key}'")
        if not 0 <= index < n_passages:
            return Verdict(ErrorKind.VALIDATION, f"index {index} out of range for {n_passages} passages")
        if index in seen:
            return Verdict(ErrorKind.VALIDATION, f"duplicate index {index}")
        seen.add(index)
        if not math.isfinite(score):
            return Verdict(ErrorKind.VALIDATION, f"non-finite score at result {pos} (index {index}: {score})")
        if score > previous:
            return Verdict(ErrorKind.VALIDATION, f"results not sorted by {score_key} (position {pos})")
        previous = score
        order.append(index)
        scores.append(float(score))
    if len(items) != expected:
        return Verdict(ErrorKind.VALIDATION, f"expected {expected} results, got {len(items)}")
    return Verdict(ErrorKind.OK, results=len(items), order=tuple(order), scores=tuple(scores))

