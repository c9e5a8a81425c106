"""NVIDIA NIM `/v1/ranking` on the server side: `{query:{text}, passages:[{text}]}` -> `{rankings:[{index, logit}]}`."""

from __future__ import annotations

import orjson

from rankperf_data.server.capacity import Timing
from rankperf_data.server.http import JSON, HttpError, Request, Response, is_json_content_type
from rankperf_data.server.scoring import Model, RankJob, TooLong, best_first

_TRUNCATE = {"NONE": False, "END": True}


def error(status: int, detail: object, headers: bytes = b"") -> Response:
    """NIM's HTTP front end is FastAPI-style: `{"detail": ...}`."""
    return Response(status, orjson.dumps({"detail": detail}), JSON, headers)


def _unprocessable(kind: str, loc: list, msg: str, reason: str | None = "validation") -> HttpError:
    return HttpError(error(422, [{"type": kind, "loc": ["body", *loc], "msg": msg}]), reason)


def _text_of(obj: object, loc: list) -> str:
    if not isinstance(obj, dict):
        raise _unprocessable("model_attributes_type", loc, "Input should be a valid dictionary")
    if "text" not in obj:
        raise _unprocessable("missing", [*loc, "text"], "Field required")
    text = obj["text"]
    if not isinstance(text, str):
        raise _unprocessable("string_type", [*loc, "text"], "Input should be a valid string")
    return text


class NimCodec:
    """An absent `truncate` follows the server's auto-truncate setting (NIM's default is model-dependent)."""

    api = "nim"

    def __init__(self, model: Model) -> None:
        self.model = model

    def parse(self, req: Request) -> RankJob:
        if not is_json_content_type(req.headers.get(b"content-type")):
            raise _unprocessable("model_attributes_type", [], "Input should be a valid dictionary or object",
                                 None)
        try:
            data = orjson.loads(req.body)
        except orjson.JSONDecodeError as e:
            raise _unprocessable("json_invalid", [], f"JSON decode error: {e}", None) from None
        if not isinstance(data, dict):
            raise _unprocessable("model_attributes_type", [], "Input should be a valid dictionary or object")
        for key in ("model", "query", "passages"):
            if key not in data:
                raise _unprocessable("missing", [key], "Field required")
        if not isinstance(data["model"], str):
            raise _unprocessable("string_type", ["model"], "Input should be a valid string")
        query = _text_of(data["query"], ["query"])
        passages = data["passages"]
        if not isinstance(passages, list):
            raise _unprocessable("list_type", ["passages"], "Input should be a valid list")
        if not passages:
            raise _unprocessable("too_short", ["passages"], "List should have at least 1 item after validation")
        texts = [_text_of(p, ["passages", i]) for i, p in enumerate(passages)]
        truncate = data.get("truncate")
        if truncate is not None and truncate not in _TRUNCATE:
            raise _unprocessable("enum", ["truncate"], "Input should be 'NONE' or 'END'")
        try:
            tokens = self.model.fit(query, texts, None if truncate is None else _TRUNCATE[truncate])
        except TooLong as e:
            detail = (f"Input length {e.tokens} exceeds maximum allowed token size {self.model.max_input_length}; "
                      f"set truncate to END to truncate passages")
            raise HttpError(error(400, detail), "validation") from None
        return RankJob(query, texts, tokens, 0, {})

    rank = staticmethod(best_first)

    def render(self, job: RankJob, ranked: list[int], labels: list[int], logits: list[float],
               timing: Timing, elapsed_s: float) -> Response:
        rankings = [{"index": label, "logit": logits[i]} for label, i in zip(labels, ranked, strict=True)]
        tokens = job.tokens
        body = {"rankings": rankings, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        return Response(200, orjson.dumps(body), JSON)

    # -- error answers used by the app ------------------------------------------------------------------
    @staticmethod
    def overloaded() -> Response:
        return error(429, "Too many requests: model is overloaded")

    @staticmethod
    def fault(status: int) -> Response:
        messages = {429: "Too many requests", 503: "Service unavailable"}
        return error(status, messages.get(status, "Internal server error"))

    @staticmethod
    def unauthorized(supplied: bool) -> Response:
        return error(401, "Unauthorized")

    @staticmethod
    def too_large() -> Response:
        return error(413, "Request body too large")
