"""Cohere `/v1/rerank` and `/v2/rerank` (and vLLM's Cohere-style `/rerank`) on the server side."""

from __future__ import annotations

import uuid

import orjson

from rankperf_data.server.capacity import Timing
from rankperf_data.server.http import JSON, HttpError, Request, Response, json_body
from rankperf_data.server.scoring import Model, RankJob, TooLong, best_first, sigmoid

RETRY_AFTER = b"retry-after: 1\r\n"
DOCS_PER_SEARCH_UNIT = 100  # Cohere bills one search unit per query of up to 100 documents


def error(status: int, message: str, headers: bytes = b"") -> Response:
    return Response(status, orjson.dumps({"message": message}), JSON, headers)


def _invalid(status: int, message: str) -> HttpError:
    return HttpError(error(status, f"invalid request: {message}"), "validation")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional(data: dict, key: str, check, expected: str) -> object:
    """A field that may be absent or null; otherwise it must pass `check` (422 if not)."""
    value = data.get(key)
    if value is not None and not check(value):
        raise _invalid(422, f"{key} must be {expected}")
    return value


class CohereCodec:
    """`version` "1" accepts documents as strings or objects with `text`; "2" strings only, `model` required.

    top_n 0 or absent = all (vLLM's semantics); over-long pairs are truncated per the server's
    auto-truncate setting, else answered 400 with vLLM's message. `always_documents` returns each
    document whether or not `return_documents` asks for it, as vLLM does.
    """

    api = "cohere"

    def __init__(self, model: Model, version: str, always_documents: bool = False) -> None:
        self.model = model
        self.version = version
        self.always_documents = always_documents
        self._meta = {"api_version": {"version": version, "is_experimental": False}}

    def parse(self, req: Request) -> RankJob:
        data = json_body(req, lambda message: error(400, f"invalid request: {message}"), "could not parse JSON body")
        if not isinstance(data, dict):
            raise _invalid(422, "body must be a JSON object")
        model = data.get("model")
        if model is None and self.version == "2":
            raise _invalid(422, "model is required")
        if model is not None and not isinstance(model, str):
            raise _invalid(422, "model must be a string")
        if "query" not in data:
            raise _invalid(422, "query is required")
        query = data["query"]
        if not isinstance(query, str):
            raise _invalid(422, "query must be a string")
        if "documents" not in data:
            raise _invalid(422, "documents is required")
        documents = data["documents"]
        if not isinstance(documents, list):
            raise _invalid(422, "documents must be a list")
        rank_fields = _optional(data, "rank_fields", lambda v: isinstance(v, list)
                                and all(isinstance(f, str) for f in v), "a list of strings")
        texts = self._texts(documents, rank_fields)
        top_n = _optional(data, "top_n", _is_int, "an integer") or 0
        return_documents = _optional(data, "return_documents", lambda v: isinstance(v, bool), "a boolean")
        max_tokens = _optional(data, "max_tokens_per_doc", _is_int, "an integer") or 0
        _optional(data, "max_chunks_per_doc", _is_int, "an integer")
        if not query.strip():
            raise _invalid(400, "query must not be empty or be only whitespace")
        if not texts:
            raise _invalid(400, "list of documents must not be empty")
        if top_n < 0:
            raise _invalid(400, "top_n must be a non-negative integer")
        if max_tokens < 0:
            raise _invalid(400, "max_tokens_per_doc must be a non-negative integer")
        try:
            tokens = self.model.fit(query, texts, None, max_tokens)
        except TooLong as e:
            raise _invalid(400, f"This model's maximum context length is {self.model.max_input_length} tokens. "
                                f"However, your prompt contains {e.tokens} input tokens. Please reduce the "
                                f"length of the input prompt.") from None
        options = {"documents": documents, "return_documents": bool(return_documents) or self.always_documents,
                   "model": model or self.model.model_id}
        return RankJob(query, texts, tokens, top_n, options)

    def _texts(self, documents: list, rank_fields: list[str] | None) -> list[str]:
        texts = []
        for doc in documents:
            if isinstance(doc, str):
                texts.append(doc)
            elif self.version == "2" or not isinstance(doc, dict):
                raise _invalid(422, "documents must be a list of strings" if self.version == "2"
                               else "documents must be strings or objects with a text field")
            elif rank_fields:
                texts.append("\n".join(f"{f}: {doc.get(f, '')}" for f in rank_fields))
            elif isinstance(doc.get("text"), str):
                texts.append(doc["text"])
            else:
                raise _invalid(422, "document objects need a string `text` field (or use rank_fields)")
        return texts

    rank = staticmethod(best_first)

    def render(self, job: RankJob, ranked: list[int], labels: list[int], logits: list[float],
               timing: Timing, elapsed_s: float) -> Response:
        n = len(job.passages)
        if 0 < job.top_n < len(ranked):
            ranked, labels = ranked[:job.top_n], labels[:job.top_n]
        with_docs = job.options["return_documents"]
        documents = job.options["documents"]
        results = []
        for label, i in zip(labels, ranked, strict=True):
            item = {"index": label, "relevance_score": sigmoid(logits[i])}
            if with_docs:
                doc = documents[i]
                item["document"] = {"text": doc} if isinstance(doc, str) else doc
            results.append(item)
        tokens = job.tokens
        body = {
            "id": str(uuid.uuid4()),
            "results": results,
            "meta": {**self._meta, "billed_units": {"search_units": -(-n // DOCS_PER_SEARCH_UNIT)}},
            "model": job.options["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return Response(200, orjson.dumps(body), JSON)

    # -- error answers used by the app ------------------------------------------------------------------
    @staticmethod
    def overloaded() -> Response:
        return error(429, "too many requests: model is overloaded", RETRY_AFTER)

    @staticmethod
    def fault(status: int) -> Response:
        if status == 429:
            return error(429, "too many requests: rate limit exceeded", RETRY_AFTER)
        if status == 503:
            return error(503, "service unavailable")
        return error(status, "internal server error")

    @staticmethod
    def unauthorized(supplied: bool) -> Response:
        return error(401, "invalid api token" if supplied else "no api key supplied")

    @staticmethod
    def too_large() -> Response:
        return error(413, "invalid request: request body too large")
