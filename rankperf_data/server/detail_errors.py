"""The error answers of the APIs whose errors are `{"detail": message}` (Jina, Voyage)."""

from __future__ import annotations

import orjson

from rankperf_data.server.http import JSON, Response


def detail_error(status: int, detail: str, headers: bytes = b"") -> Response:
    return Response(status, orjson.dumps({"detail": detail}), JSON, headers)


class DetailErrors:
    """The error answers the app asks a codec for, in a few words each API chooses."""

    busy = "Too many requests"  # the 429 wording
    key_messages = ("Missing API key", "Invalid API key")  # no key, a wrong key

    @classmethod
    def overloaded(cls) -> Response:
        return detail_error(429, f"{cls.busy}: the model is overloaded", b"retry-after: 1\r\n")

    @classmethod
    def fault(cls, status: int) -> Response:
        messages = {429: cls.busy, 503: "Service unavailable"}
        return detail_error(status, messages.get(status, "Internal server error"))

    @classmethod
    def unauthorized(cls, supplied: bool) -> Response:
        return detail_error(401, cls.key_messages[supplied])

    @staticmethod
    def too_large() -> Response:
        return detail_error(413, "Request body too large")
