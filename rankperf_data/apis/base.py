"""The interface each rerank API module implements, and the verdict of a response check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rankperf_data.dataset.request import RankingRequest
from rankperf_data.results.outcomes import ErrorKind


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
    """One wire protocol, as a module: everything that differs between APIs lives behind this.

    The registry (apis/__init__.py) lists the modules; the options, the Locust user classes, the
    target checks and the report's facts all come from these attributes and functions.
    """

    endpoint_type: str  # the --endpoint-type value
    aiperf_endpoint_type: str  # the nearest type AIPerf's export model accepts (its own, when it has one)
    user_class: str  # the Locust user class name
    default_path: str  # the route posted to when --endpoint is not given
    routes: tuple[str, ...]  # every route the API serves by default (a base URL ending in one is a mistake)
    summary: str  # one line for --endpoint-type's help: the request on the wire
    top_n_field: str | None  # the body field --top-n sets, or None when the API always answers every passage

    def route(self, api_version: str) -> str: ...  # the default route for --cohere-api-version's value

    def encode(self, request: RankingRequest, model: str, extra: dict | None, top_n: int = 0) -> bytes: ...

    def validate(self, status: int, body: bytes, request: RankingRequest, top_n: int | None = None) -> Verdict: ...
