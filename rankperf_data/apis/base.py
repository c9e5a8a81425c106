"""The interface each rerank API module implements, and the verdict of a response check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rankperf_data.apis.errors import ErrorKind
from rankperf_data.dataset.request import RankingRequest


@dataclass(frozen=True, slots=True)
class Verdict:
    """Outcome of validating one response."""

    kind: ErrorKind
    message: str = ""
    results: int = 0
    order: tuple[int, ...] = ()  # a valid answer: passage indices in the server's order
    scores: tuple[float, ...] = ()  # ...and their scores, in that order

    @property
    def ok(self) -> bool:
        return self.kind == ErrorKind.OK


OK = Verdict(ErrorKind.OK)


class RerankApi(Protocol):
    """One wire protocol: where to post, how to encode, how to judge the answer."""

    endpoint_type: str  # AIPerf's --endpoint-type value
    default_path: str

    def encode(self, request: RankingRequest, model: str, extra: dict | None) -> bytes: ...

    def validate(self, status: int, body: bytes, request: RankingRequest, top_n: int | None) -> Verdict: ...
