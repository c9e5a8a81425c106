"""Hugging Face TEI `/rerank` on the server side: request parsing, the bare-array answer, TEI's error shapes."""

from __future__ import annotations

import orjson

from rankperf_data.server.capacity import Timing
from rankperf_data.server.http import JSON, TEXT, HttpError, Request, Response, is_json_content_type
from rankperf_data.server.scoring import CHARS_PER_TOKEN_LIMIT, Model, RankJob, TooLong, sigmoid

_DIRECTIONS = {"Right", "Left", "right", "left"}
_REQUIRED = ("query", "texts")


def error(status: int, message: str, error_type: str, headers: bytes = b"") -> Response:
    """TEI's JSON error body; error_type is PascalCase as real servers send it."""
    return Response(status, orjson.dumps({"error": message, "error_type": error_type}), JSON, headers)


def _plain(status: int, message: str) -> Response:
    """axum's framework rejections are text/plain."""
    return Response(status, message.encode(), TEXT)


def _unexpected(value: object) -> str:
    """serde's description of a JSON value in 'invalid type' messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f'string "{value}"'
    return "sequence" if isinstance(value, list) else "map"


def _position(body: bytes) -> str:
    # serde reports where it stopped; the end of the body is where missing fields are noticed.
    line = body.count(b"\n") + 1
    column = len(body) - (body.rfind(b"\n") + 1)
    return f"at line {line} column {column}"


def _deserialize_error(body: bytes, detail: str) -> HttpError:
    return HttpError(_plain(422, f"Failed to deserialize the JSON body into the target type: {detail} "
                                 f"{_position(body)}"))


def _check_field(key: str, value: object) -> str | None:
    """serde's complaint about one known field, or None when it deserializes."""
    if key == "query":
        return None if isinstance(value, str) else f"query: invalid type: {_unexpected(value)}, expected a string"
    if key == "texts":
        if not isinstance(value, list):
            return f"texts: invalid type: {_unexpected(value)}, expected a sequence"
        for i, text in enumerate(value):
            if not isinstance(text, str):
                return f"texts[{i}]: invalid type: {_unexpected(text)}, expected a string"
        return None
    if key == "truncate":
        ok = value is None or isinstance(value, bool)
        return None if ok else f"truncate: invalid type: {_unexpected(value)}, expected a boolean"
    if key == "truncation_direction":
        if isinstance(value, str):
            return None if value in _DIRECTIONS else (
                f"truncation_direction: unknown variant `{value}`, expected `Left` or `Right`")
        return f"truncation_direction: invalid type: {_unexpected(value)}, expected a string"
    if key in ("raw_scores", "return_text"):
        return None if isinstance(value, bool) else f"{key}: invalid type: {_unexpected(value)}, expected a boolean"
    return None  # unknown fields are ignored


class TeiCodec:
    """TEI 1.9 semantics (`legacy_413` gives the 1.0-1.8 status for oversize batches)."""

    api = "tei"

    def __init__(self, model: Model, max_client_batch_size: int = 32, legacy_413: bool = False) -> None:
        self.model = model
        self.max_client_batch_size = max_client_batch_size
        self.validation_status = 413 if legacy_413 else 422

    def parse(self, req: Request) -> RankJob:
        body = req.body
        if not is_json_content_type(req.headers.get(b"content-type")):
            raise HttpError(_plain(415, "Expected request with `Content-Type: application/json`"))
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise HttpError(_plain(400, f"Failed to parse the request body as JSON: {e}")) from None
        if not isinstance(data, dict):
            raise _deserialize_error(body, f"invalid type: {_unexpected(data)}, expected struct RerankRequest")
        for key, value in data.items():
            problem = _check_field(key, value)
            if problem:
                raise _deserialize_error(body, problem)
        for key in _REQUIRED:
            if key not in data:
                raise _deserialize_error(body, f"missing field `{key}`")
        query: str = data["query"]
        texts: list[str] = data["texts"]
        return self._validate(query, texts, data)

    def _validate(self, query: str, texts: list[str], data: dict) -> RankJob:
        """The handler's checks, in TEI's order."""
        n = len(texts)
        if n == 0:
            raise HttpError(error(400, "`texts` cannot be empty", "Empty"), "validation")
        if n > self.max_client_batch_size:
            message = f"batch size {n} > maximum allowed batch size {self.max_client_batch_size}"
            raise HttpError(error(self.validation_status, message, "Validation"), "batch_size")
        options = {"raw_scores": data.get("raw_scores", False), "return_text": data.get("return_text", False)}
        tokens, too_long = self.model.fit_each(query, texts, data.get("truncate"))
        job = RankJob(query, texts, tokens, 0, options)
        # TEI checks each pair only once it holds a permit, so these errors lose to a 429 for a pair
        # that got none; the app decides which comes first (see App._outcome).
        empty_at = -1
        if not query:  # a pair is empty when both its query and its text are
            for i, text in enumerate(texts):
                if not text:
                    tokens[i] = 0
                    empty_at = i if empty_at < 0 else empty_at
        if empty_at >= 0 and (too_long is None or empty_at < too_long.index):
            job.pair_error = (empty_at, HttpError(
                error(400, "Input validation error: `inputs` cannot be empty", "Empty"), "validation"))
        elif too_long is not None:
            job.pair_error = (too_long.index, HttpError(self._too_long(too_long), "validation"))
        return job

    def _too_long(self, e: TooLong) -> Response:
        limit = self.model.max_input_length
        if e.char_limit:
            message = (f"Input validation error: `inputs` must have less than {limit * CHARS_PER_TOKEN_LIMIT} "
                       f"characters. Given: {e.chars}")
        else:
            message = f"Input validation error: `inputs` must have less than {limit} tokens. Given: {e.tokens}"
        return error(422, message, "Validation")

    @staticmethod
    def rank(scores: list[float]) -> list[int]:
        """Descending score; ties put the higher index first (TEI sorts ascending, then reverses)."""
        return sorted(range(len(scores)), key=lambda i: (scores[i], i), reverse=True)

    def render(self, job: RankJob, ranked: list[int], labels: list[int], logits: list[float],
               timing: Timing, elapsed_s: float) -> Response:
        raw = job.options["raw_scores"]
        texts = job.passages
        items = []
        for label, i in zip(labels, ranked, strict=True):
            item = {"index": label, "score": logits[i] if raw else sigmoid(logits[i])}
            if job.options["return_text"]:
                item["text"] = texts[i]
            items.append(item)
        total_ms = int(elapsed_s * 1000)
        chars = len(job.query) * len(texts) + sum(map(len, texts))
        headers = (
            b"x-compute-type: gpu+optimized\r\n"
            b"x-compute-time: %d\r\nx-total-time: %d\r\n"
            b"x-compute-characters: %d\r\nx-compute-tokens: %d\r\n"
            b"x-tokenization-time: 0\r\nx-queue-time: %d\r\nx-inference-time: %d\r\n"
            % (total_ms, total_ms, chars, job.tokens, int(timing.queue * 1000), int(timing.inference * 1000))
        )
        return Response(200, orjson.dumps(items), JSON, headers)

    # -- error answers used by the app ------------------------------------------------------------------
    @staticmethod
    def overloaded() -> Response:
        return error(429, "Model is overloaded", "Overloaded")

    @staticmethod
    def fault(status: int) -> Response:
        if status == 429:
            return error(429, "Model is overloaded", "Overloaded")
        if status == 503:
            return error(503, "unhealthy", "Unhealthy")
        return error(status, "Backend error: injected fault", "Backend")

    @staticmethod
    def unauthorized(supplied: bool) -> Response:
        return Response(401)

    @staticmethod
    def too_large() -> Response:
        return _plain(413, "Failed to buffer the request body: length limit exceeded")
