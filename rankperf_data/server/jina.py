"""Jina AI `/v1/rerank` on the server side: `{model, query, documents, top_n, return_documents}` -> `{results}`."""

from __future__ import annotations

import orjson

from rankperf_data.server.capacity import Timing
from rankperf_data.server.http import JSON, HttpError, Request, Response, is_json_content_type
from rankperf_data.server.scoring import Model, RankJob, sigmoid


def error(status: int, detail: str, headers: bytes = b"") -> Response:
    # Jina documents no error schema; clients keep the raw body, a FastAPI-style `detail` here
    return Response(status, orjson.dumps({"detail": detail}), JSON, headers)


def _invalid(message: str) -> HttpError:
    return HttpError(error(422, message), "validation")


def _text(doc: object) -> str:
    """A document is a string or an object with a string `text`."""
    if isinstance(doc, str):
        return doc
    if isinstance(doc, dict) and isinstance(doc.get("text"), str):
        return doc["text"]
    raise _invalid("documents must be strings or objects with a text field")


class JinaCodec:
    """`top_n` absent = every document; `return_documents` absent = true (the documented default, which
    is why rankperf always sends it); over-long pairs are truncated as the hosted API does."""

    api = "jina"

    def __init__(self, model: Model) -> None:
        self.model = model

    def parse(self, req: Request) -> RankJob:
        if not is_json_content_type(req.headers.get(b"content-type")):
            raise HttpError(error(400, "Content-Type must be application/json"))
        try:
            data = orjson.loads(req.body)
        except orjson.JSONDecodeError as e:
            raise HttpError(error(400, f"Request body is not valid JSON: {e}")) from None
        if not isinstance(data, dict):
            raise _invalid("body must be a JSON object")
        for key in ("model", "query", "documents"):
            if key not in data:
                raise _invalid(f"{key} is required")
        if not isinstance(data["model"], str) or not isinstance(data["query"], str):
            raise _invalid("model and query must be strings")
        documents = data["documents"]
        if not isinstance(documents, list) or not documents:
            raise _invalid("documents must be a non-empty list")
        texts = [_text(d) for d in documents]
        top_n = data.get("top_n")
        if top_n is not None and (not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1):
            raise _invalid("top_n must be a positive integer")
        return_documents = data.get("return_documents", True)
        if not isinstance(return_documents, bool):
            raise _invalid("return_documents must be a boolean")
        tokens = self.model.fit(data["query"], texts, True)
        options = {"texts": texts, "return_documents": return_documents, "model": data["model"]}
        return RankJob(data["query"], texts, tokens, top_n or 0, options)

    @staticmethod
    def rank(scores: list[float]) -> list[int]:
        """Descending score, stable: ties keep request order."""
        return sorted(range(len(scores)), key=scores.__getitem__, reverse=True)

    def render(self, job: RankJob, ranked: list[int], labels: list[int], logits: list[float],
               timing: Timing, elapsed_s: float) -> Response:
        if 0 < job.top_n < len(ranked):
            ranked, labels = ranked[:job.top_n], labels[:job.top_n]
        results = []
        for label, i in zip(labels, ranked, strict=True):
            item: dict = {"index": label, "relevance_score": sigmoid(logits[i])}
            if job.options["return_documents"]:
                item["document"] = {"text": job.options["texts"][i]}
            results.append(item)
        body = {"model": job.options["model"], "usage": {"total_tokens": job.tokens}, "results": results}
        return Response(200, orjson.dumps(body), JSON)

    # -- error answers used by the app ------------------------------------------------------------------
    @staticmethod
    def overloaded() -> Response:
        return error(429, "Too many requests: the model is overloaded", b"retry-after: 1\r\n")

    @staticmethod
    def fault(status: int) -> Response:
        messages = {429: "Too many requests", 503: "Service unavailable"}
        return error(status, messages.get(status, "Internal server error"))

    @staticmethod
    def unauthorized(supplied: bool) -> Response:
        return error(401, "Invalid API key" if supplied else "Missing API key")

    @staticmethod
    def too_large() -> Response:
        return error(413, "Request body too large")
