"""Jina AI `/v1/rerank` on the server side: `{model, query, documents, top_n, return_documents}` -> `{results}`."""

from __future__ import annotations

import orjson

from rankperf_data.server.capacity import Timing
from rankperf_data.server.detail_errors import DetailErrors, detail_error
from rankperf_data.server.http import JSON, HttpError, Request, Response, json_body
from rankperf_data.server.scoring import Model, RankJob, best_first, sigmoid


def _invalid(message: str) -> HttpError:
    # Jina documents no error schema; clients keep the raw body, a FastAPI-style `detail` here
    return HttpError(detail_error(422, message), "validation")


def _text(doc: object) -> str:
    """A document is a string or an object with a string `text`."""
    if isinstance(doc, str):
        return doc
    if isinstance(doc, dict) and isinstance(doc.get("text"), str):
        return doc["text"]
    raise _invalid("documents must be strings or objects with a text field")


class JinaCodec(DetailErrors):
    """`top_n` absent = every document; `return_documents` absent = true (the documented default, which
    is why rankperf always sends it); over-long pairs are truncated as the hosted API does."""

    api = "jina"

    def __init__(self, model: Model) -> None:
        self.model = model

    def parse(self, req: Request) -> RankJob:
        data = json_body(req, lambda message: detail_error(400, message))
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

    rank = staticmethod(best_first)

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

