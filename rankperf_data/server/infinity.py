"""Infinity's Cohere-like `POST /rerank` (infinity-emb 0.0.78) on the server side, as observed on the real server.

What sets it apart from Cohere/vLLM: FastAPI/pydantic 422 `{"detail": [...]}` for every body problem
(bad JSON and a missing or non-JSON Content-Type included), `top_n` must be > 0, an empty query is accepted,
over-long pairs are always truncated, `document` is always present (null, or the plain string),
handler errors are OpenAI-style `{"error": {...}}`, and a 429 carries no Retry-After.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterable

import orjson

from rankperf_data.server.capacity import Timing
from rankperf_data.server.http import JSON, HttpError, Request, Response, is_json_content_type
from rankperf_data.server.scoring import Model, RankJob, best_first, sigmoid

MAX_QUERY_CHARS = 122_880
MAX_DOCUMENTS = 2048  # INFINITY_MAX_CLIENT_BATCH_SIZE's default
DEFAULT_MODEL = "default/not-specified"


def _detail(kind: str, loc: list, msg: str, value: object, ctx: dict | None = None) -> dict:
    """One pydantic v2 error, as FastAPI lists it."""
    item = {"type": kind, "loc": ["body", *loc], "msg": msg, "input": value}
    if ctx is not None:
        item["ctx"] = ctx
    return item


def _unprocessable(errors: list[dict]) -> HttpError:
    return HttpError(Response(422, orjson.dumps({"detail": errors}), JSON), "validation")


def _json_error(body: bytes) -> dict:
    """FastAPI decodes with the stdlib json module: its message and position, not orjson's."""
    try:
        json.loads(body)
    except ValueError as e:  # JSONDecodeError, or UnicodeDecodeError for bytes that are not UTF-8
        pos, msg = getattr(e, "pos", 0), getattr(e, "msg", str(e))
        return _detail("json_invalid", [pos], "JSON decode error", {}, {"error": msg})
    return _detail("json_invalid", [0], "JSON decode error", {}, {"error": "Expecting value"})  # orjson-only refusal


def openai_error(status: int, message: str) -> Response:
    return Response(status, orjson.dumps({"error": {"message": message, "type": None, "param": None,
                                                    "code": status}}), JSON)


def _string(data: dict, key: str, errors: list[dict], max_length: int | None = None) -> str | None:
    value = data[key]
    if not isinstance(value, str):
        errors.append(_detail("string_type", [key], "Input should be a valid string", value))
        return None
    if max_length is not None and len(value) > max_length:
        errors.append(_detail("string_too_long", [key], f"String should have at most {max_length} characters",
                              value, {"max_length": max_length}))
    return value


def _documents(value: object, errors: list[dict]) -> list[str]:
    if not isinstance(value, list):
        errors.append(_detail("list_type", ["documents"], "Input should be a valid list", value))
        return []
    for i, doc in enumerate(value):
        if not isinstance(doc, str):
            errors.append(_detail("string_type", ["documents", i], "Input should be a valid string", doc))
    n = len(value)
    if n == 0:
        errors.append(_detail("too_short", ["documents"], "List should have at least 1 item after validation, not 0",
                              value, {"field_type": "List", "min_length": 1, "actual_length": 0}))
    elif n > MAX_DOCUMENTS:
        errors.append(_detail("too_long", ["documents"],
                              f"List should have at most {MAX_DOCUMENTS} items after validation, not {n}",
                              value, {"field_type": "List", "max_length": MAX_DOCUMENTS, "actual_length": n}))
    return value


def _flag(data: dict, key: str, errors: list[dict]) -> bool:
    value = data.get(key, False)
    if isinstance(value, bool):
        return value
    if value in (0, 1) and not isinstance(value, float):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "1", "yes", "on", "t", "y"):
            return True
        if word in ("false", "0", "no", "off", "f", "n"):
            return False
        errors.append(_detail("bool_parsing", [key], "Input should be a valid boolean, unable to interpret input",
                              value))
    else:
        errors.append(_detail("bool_type", [key], "Input should be a valid boolean", value))
    return False


def _top_n(value: object, errors: list[dict]) -> int:
    """0 = all. pydantic's lax int: numeric strings and whole floats pass; must be > 0."""
    if value is None:
        return 0
    number: object = value
    if isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            errors.append(_detail("int_parsing", ["top_n"],
                                  "Input should be a valid integer, unable to parse string as an integer", value))
            return 0
    elif isinstance(value, float):
        if not value.is_integer():
            errors.append(_detail("int_from_float", ["top_n"],
                                  "Input should be a valid integer, got a number with a fractional part", value))
            return 0
        number = int(value)
    elif not isinstance(value, int) or isinstance(value, bool):
        errors.append(_detail("int_type", ["top_n"], "Input should be a valid integer", value))
        return 0
    if number <= 0:
        errors.append(_detail("greater_than", ["top_n"], "Input should be greater than 0", value, {"gt": 0}))
        return 0
    return number


class InfinityCodec:
    """`/rerank` as infinity-emb 0.0.78 answers it; one served model, whose name any `model` resolves to."""

    api = "infinity"

    def __init__(self, model: Model) -> None:
        self.model = model

    def parse(self, req: Request) -> RankJob:
        content_type = req.headers.get(b"content-type")
        if not is_json_content_type(content_type):  # FastAPI then sees the body as a string (no header too)
            text = req.body.decode("utf-8", errors="replace")
            raise _unprocessable([_detail("model_attributes_type", [], "Input should be a valid dictionary or "
                                          "object to extract fields from", text)])
        try:
            data = orjson.loads(req.body)
        except orjson.JSONDecodeError:
            raise _unprocessable([_json_error(req.body)]) from None
        if not isinstance(data, dict):
            raise _unprocessable([_detail("model_attributes_type", [], "Input should be a valid dictionary or "
                                          "object to extract fields from", data)])
        errors: list[dict] = []
        for key in ("query", "documents"):
            if key not in data:
                errors.append(_detail("missing", [key], "Field required", data))
        query = _string(data, "query", errors, MAX_QUERY_CHARS) if "query" in data else None
        documents = _documents(data["documents"], errors) if "documents" in data else []
        with_docs = _flag(data, "return_documents", errors)
        raw_scores = _flag(data, "raw_scores", errors)
        if data.get("model") is not None:
            _string(data, "model", errors)
        top_n = _top_n(data.get("top_n"), errors)
        if errors:
            raise _unprocessable(errors)
        # Infinity truncates every pair to the model's length, whatever the request says.
        tokens = self.model.fit(query, documents, True)
        options = {"documents": documents, "return_documents": with_docs, "raw_scores": raw_scores}
        return RankJob(query, documents, tokens, top_n, options)

    rank = staticmethod(best_first)  # ties keep request order (seen on the real server)

    def render(self, job: RankJob, ranked: list[int], labels: list[int], logits: list[float],
               timing: Timing, elapsed_s: float) -> Response:
        if 0 < job.top_n < len(ranked):
            ranked, labels = ranked[:job.top_n], labels[:job.top_n]
        raw = job.options["raw_scores"]
        documents = job.options["documents"] if job.options["return_documents"] else None
        results = [{"relevance_score": logits[i] if raw else sigmoid(logits[i]), "index": label,
                    "document": documents[i] if documents is not None else None}
                   for label, i in zip(labels, ranked, strict=True)]
        body = {"object": "rerank", "results": results, "model": self.model.model_id,
                "usage": {"prompt_tokens": job.tokens, "total_tokens": job.tokens},
                "id": f"infinity-{uuid.uuid4()}", "created": int(time.time())}
        return Response(200, orjson.dumps(body), JSON)

    # -- error answers used by the app ------------------------------------------------------------------
    def overloaded(self) -> Response:
        return openai_error(429, f"model {self.model.model_id} is currently overloaded")

    def fault(self, status: int) -> Response:
        if status == 429:
            return self.overloaded()
        return openai_error(status, "Internal Server Error" if status == 500 else "Service Unavailable")

    @staticmethod
    def unauthorized(supplied: bool) -> Response:
        return Response(401, b'{"detail":"Unauthorized"}', JSON, b"www-authenticate: Bearer\r\n")

    @staticmethod
    def too_large() -> Response:
        # Infinity itself has no body limit; this is the reference server's --payload-limit.
        return Response(413, b'{"detail":"Request Entity Too Large"}', JSON)


def no_route_body(status: int) -> bytes:
    """Starlette's JSON for an unknown path (404) or a known path with another method (405)."""
    return b'{"detail":"Not Found"}' if status == 404 else b'{"detail":"Method Not Allowed"}'


def health() -> Response:
    return Response(200, orjson.dumps({"unix": time.time()}), JSON)


def models_body(model: Model) -> dict:
    return {"data": [{"id": model.model_id, "stats": {"queue_fraction": 0.0, "queue_absolute": 0,
                                                      "results_pending": 0, "batch_size": 32},
                      "object": "model", "owned_by": "infinity", "created": int(time.time()),
                      "backend": "torch", "capabilities": ["rerank"]}],
            "object": "list"}


def http_requests_total(responses: Counter, methods: dict[str, Iterable[str]]) -> bytes:
    """prometheus-fastapi-instrumentator's counter, which Infinity exposes: answers by route, method and
    status class. Each of these routes has one method, so the route's counts are that method's."""
    grouped: Counter = Counter()
    for (route, status), n in responses.items():
        if route in methods:
            for method in methods[route]:
                grouped[(route, method, f"{status // 100}xx")] += n
    lines = ["# HELP http_requests_total Total number of requests by method, status and handler.",
             "# TYPE http_requests_total counter"]
    lines += [f'http_requests_total{{handler="{route}",method="{method}",status="{status}"}} {float(n)}'
              for (route, method, status), n in sorted(grouped.items())]
    return ("\n".join(lines) + "\n").encode()
