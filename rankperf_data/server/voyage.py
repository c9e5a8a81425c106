"""Voyage AI `/v1/rerank` on the server side: `{query, documents, model, top_k}` -> `{object, data, model, usage}`."""

from __future__ import annotations

import orjson

from rankperf_data.server.capacity import Timing
from rankperf_data.server.detail_errors import DetailErrors, detail_error
from rankperf_data.server.http import JSON, HttpError, Request, Response, json_body
from rankperf_data.server.scoring import Model, RankJob, TooLong, best_first, sigmoid

MAX_DOCUMENTS = 1000  # Voyage's documented limit per request


def _invalid(message: str) -> HttpError:
    # Voyage's client reads the message from `detail`
    return HttpError(detail_error(400, message), "validation")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class VoyageCodec(DetailErrors):
    """`top_k` absent or null = every document; `truncation` (default true) false refuses over-long pairs;
    `return_documents` (default false) adds each document as a plain string."""

    api = "voyage"
    busy = "Rate limit exceeded"
    key_messages = ("No API key provided.", "Provided API key is invalid.")

    def __init__(self, model: Model) -> None:
        self.model = model

    def parse(self, req: Request) -> RankJob:
        data = json_body(req, lambda message: detail_error(400, message))
        if not isinstance(data, dict):
            raise _invalid("Request body must be a JSON object")
        query, documents, model = data.get("query"), data.get("documents"), data.get("model")
        if not isinstance(query, str) or not query:
            raise _invalid("query must be a non-empty string")
        if not isinstance(documents, list) or not documents or not all(isinstance(d, str) for d in documents):
            raise _invalid("documents must be a non-empty list of strings")
        if len(documents) > MAX_DOCUMENTS:
            raise _invalid(f"documents may hold at most {MAX_DOCUMENTS} items, got {len(documents)}")
        if not isinstance(model, str):
            raise _invalid("model is required and must be a string")
        top_k = data.get("top_k")
        if top_k is not None and (not _is_int(top_k) or top_k < 1):
            raise _invalid("top_k must be a positive integer or null")
        flags = {key: data.get(key, default) for key, default in (("return_documents", False), ("truncation", True))}
        for key, value in flags.items():
            if not isinstance(value, bool):
                raise _invalid(f"{key} must be a boolean")
        try:
            tokens = self.model.fit(query, documents, flags["truncation"])
        except TooLong as e:
            raise _invalid(f"document {e.index} with the query is {e.tokens} tokens, over the model's context "
                           f"length {self.model.max_input_length}; set truncation to true") from None
        options = {"documents": documents, "return_documents": flags["return_documents"], "model": model}
        return RankJob(query, documents, tokens, top_k or 0, options)

    rank = staticmethod(best_first)

    def render(self, job: RankJob, ranked: list[int], labels: list[int], logits: list[float],
               timing: Timing, elapsed_s: float) -> Response:
        if 0 < job.top_n < len(ranked):
            ranked, labels = ranked[:job.top_n], labels[:job.top_n]
        data = []
        for label, i in zip(labels, ranked, strict=True):
            item: dict = {"index": label, "relevance_score": sigmoid(logits[i])}
            if job.options["return_documents"]:
                item["document"] = job.options["documents"][i]
            data.append(item)
        body = {"object": "list", "data": data, "model": job.options["model"],
                "usage": {"total_tokens": job.tokens}}
        return Response(200, orjson.dumps(body), JSON)

