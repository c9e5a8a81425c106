"""Routing and request handling for `rankperf serve`: auth, faults, parsing, admission, scoring, answers."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import orjson

from rankperf_data.server import infinity
from rankperf_data.server import metrics as prom
from rankperf_data.server.capacity import (
    DEFAULT_BATCH_OVERHEAD_MS,
    DEFAULT_PER_TOKEN_US,
    NO_TIME,
    Engine,
    Ticket,
    Timing,
    engine_mode,
)
from rankperf_data.server.cohere import CohereCodec
from rankperf_data.server.faults import CONTENT_KINDS, EARLY_KINDS, STATUS_KINDS, Fault, FaultPlan
from rankperf_data.server.http import (
    ABORT,
    JSON,
    TEXT,
    HttpError,
    HttpServer,
    Request,
    Response,
    arrival_clock,
    new_event_loop,
)
from rankperf_data.server.jina import JinaCodec
from rankperf_data.server.metrics import Metrics
from rankperf_data.server.nim import NimCodec
from rankperf_data.server.scoring import Model, RankJob, drifted
from rankperf_data.server.tei import TeiCodec
from rankperf_data.server.voyage import VoyageCodec

log = logging.getLogger("rankperf.serve")

APIS = ("all", "tei", "cohere", "nim", "voyage", "jina", "infinity")
# Voyage and Jina both own /v1/rerank, which `all` gives to Cohere v1: there they sit under a prefix
PREFIXED_IN_ALL = {"voyage": "/voyage", "jina": "/jina"}
TEI_VERSION = "1.9.3"  # the TEI release whose behaviour is reproduced
UNMATCHED = "other"  # metrics route label for unknown paths and unparseable requests


class Codec(Protocol):
    """What each API module (tei.py, cohere.py, nim.py, voyage.py, jina.py) provides to the app."""

    api: str

    def parse(self, req: Request) -> RankJob: ...  # raises HttpError with the API's error answer
    def rank(self, scores: list[float]) -> list[int]: ...  # indices, best first, with the API's tie rule
    def render(self, job: RankJob, ranked: list[int], labels: list[int], logits: list[float], timing: Timing,
               elapsed_s: float) -> Response: ...
    def overloaded(self) -> Response: ...
    def fault(self, status: int) -> Response: ...
    def unauthorized(self, supplied: bool) -> Response: ...
    def too_large(self) -> Response: ...


@dataclass
class ServeConfig:
    """Everything `rankperf serve` can be told; defaults match TEI's where TEI has the option."""

    api: str = "all"
    model: Model = field(default_factory=Model)
    max_client_batch_size: int = 32
    legacy_413: bool = False
    max_concurrent_requests: int = 512
    max_batch_tokens: int = 16384
    payload_limit: int = 2_000_000
    batch_overhead_ms: float = DEFAULT_BATCH_OVERHEAD_MS
    per_token_us: float = DEFAULT_PER_TOKEN_US
    fixed_latency_ms: float | None = None
    faults: list[Fault] = field(default_factory=list)
    seed: int | None = None
    api_key: str | None = field(default=None, repr=False)  # kept out of any log of the config
    score_drift: float = 0.0  # logits move by up to this while other requests are in flight


class App:
    """Turns requests into responses (or futures of responses); owns the counters."""

    def __init__(self, config: ServeConfig, loop: asyncio.AbstractEventLoop) -> None:
        self.config = config
        self.loop = loop
        self.metrics = Metrics()
        self.model = config.model
        self.engine = Engine(loop, batch_overhead_ms=config.batch_overhead_ms, per_token_us=config.per_token_us,
                             max_batch_tokens=config.max_batch_tokens, fixed_latency_ms=config.fixed_latency_ms,
                             max_concurrent=config.max_concurrent_requests, on_batch=self.metrics.batch,
                             on_pair=self.metrics.pair)
        self.faults = FaultPlan(config.faults, config.seed)
        self._auth = ("Bearer " + config.api_key).encode() if config.api_key else None
        self._codecs: dict[str, Codec] = {}  # path -> codec, for API-shaped 413s
        self.routes = self._build_routes()
        self._open = 0  # requests admitted for model time and not answered yet (--score-drift)
        self._access_log = log.isEnabledFor(logging.DEBUG)  # method, path, status; never headers
        self.metrics.gauge("te_queue_size", "Pairs waiting for a batch", lambda: self.engine.queue_size)
        self.metrics.gauge("rankperf_pairs_in_flight", "Pairs holding a permit", lambda: self.engine.in_flight)

    # -- routing ---------------------------------------------------------------------------------------
    def _build_routes(self) -> dict[str, dict[str, Callable[[Request, str], object]]]:
        api, model = self.config.api, self.model
        routes: dict[str, dict[str, Callable]] = {}

        def add(method: str, path: str, fn: Callable) -> None:
            routes.setdefault(path, {})[method] = fn

        def add_rerank(path: str, codec: Codec) -> None:
            self._codecs[path] = codec
            add("POST", path, lambda req, route: self._rerank(codec, req, route))

        empty = lambda req, route: Response(200)  # noqa: E731
        if api in ("all", "tei"):
            tei = TeiCodec(model, self.config.max_client_batch_size, self.config.legacy_413)
            for path in ("/rerank", "/", "/invocations"):
                add_rerank(path, tei)
            for path in ("/", "/health", "/ping"):
                add("GET", path, empty)
            add("GET", "/info", self._guarded(self._static(self._info())))
        if api in ("all", "cohere"):
            add_rerank("/v1/rerank", CohereCodec(model, "1"))
            add_rerank("/v2/rerank", CohereCodec(model, "2"))
            if api == "cohere":  # vLLM serves the same Cohere-style request on /rerank, documents included
                add_rerank("/rerank", CohereCodec(model, "1", always_documents=True))
                add("GET", "/health", empty)
                add("GET", "/ping", empty)
        if api in ("all", "nim"):
            add_rerank("/v1/ranking", NimCodec(model))
            for state in ("ready", "live"):
                body = {"object": "health.response", "message": f"Service is {state}.", "status": state}
                add("GET", f"/v1/health/{state}", self._static(body))
        for name, codec_type in (("voyage", VoyageCodec), ("jina", JinaCodec)):
            if api in ("all", name):
                add_rerank(("" if api == name else PREFIXED_IN_ALL[name]) + "/v1/rerank", codec_type(model))
        if api in ("all", "cohere", "nim", "voyage", "jina"):
            models = {"object": "list", "data": [{"id": model.model_id, "object": "model", "owned_by": "rankperf"}]}
            add("GET", "/v1/models", self._guarded(self._static(models)))
        if api == "infinity":  # infinity-emb's own /rerank, health and model list, on one port
            add_rerank("/rerank", infinity.InfinityCodec(model))
            add("GET", "/health", lambda req, route: infinity.health())
            add("GET", "/models", self._guarded(self._static(infinity.models_body(model))))
            add("GET", "/metrics", self._infinity_metrics)
        else:
            add("GET", "/metrics", lambda req, route: Response(200, self.metrics.render(), prom.CONTENT_TYPE))
        return routes

    def _infinity_metrics(self, req: Request, route: str) -> Response:
        """rankperf's own series plus the http_requests_total counter a real Infinity exposes."""
        methods = {path: tuple(by_method) for path, by_method in self.routes.items()}
        body = self.metrics.render() + infinity.http_requests_total(self.metrics.responses, methods)
        return Response(200, body, prom.CONTENT_TYPE)

    def _static(self, obj: object) -> Callable:
        body = orjson.dumps(obj)
        return lambda req, route: Response(200, body, JSON)

    def _guarded(self, fn: Callable) -> Callable:
        def guarded(req: Request, route: str) -> object:
            return fn(req, route) if self._authorized(req) else Response(401)

        return guarded

    def _info(self) -> dict:
        c, m = self.config, self.model
        return {
            "model_id": m.model_id, "model_sha": None, "model_dtype": "float16", "served_model_name": m.model_id,
            "model_type": {"reranker": {"id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}}},
            "max_concurrent_requests": c.max_concurrent_requests, "max_input_length": m.max_input_length,
            "max_batch_tokens": c.max_batch_tokens, "max_batch_requests": None,
            "max_client_batch_size": c.max_client_batch_size, "auto_truncate": m.auto_truncate,
            "tokenization_workers": 1, "version": TEI_VERSION, "sha": None, "docker_label": None,
        }

    def _authorized(self, req: Request) -> bool:
        if self._auth is None:
            return True
        got = req.headers.get(b"authorization")
        return got is not None and hmac.compare_digest(got, self._auth)

    # -- entry point -----------------------------------------------------------------------------------
    def handle(self, req: Request) -> object:
        """The HTTP server's handler: a Response, a Future of one, or ABORT."""
        methods = self.routes.get(req.path)
        route = req.path if methods is not None else UNMATCHED
        self.metrics.received[route] += 1
        if req.error is not None:
            result = self._framework_error(req)
        elif methods is None:
            result = Response(404)
        else:
            fn = methods.get(req.method)
            if fn is None:
                allow = ", ".join(sorted(methods)).encode()
                result = Response(405, headers=b"allow: " + allow + b"\r\n")
            else:
                result = fn(req, route)
        if self.config.api == "infinity" and type(result) is Response and result.status in (404, 405):
            result.body, result.content_type = infinity.no_route_body(result.status), JSON  # Starlette's
        if type(result) is Response:
            self.metrics.responses[(route, result.status)] += 1
            if self._access_log:
                log.debug("%s %s -> %d", req.method, req.path, result.status)
        return result

    def _framework_error(self, req: Request) -> Response:
        status, reason = req.error
        codec = self._codecs.get(req.path)
        if status == 413 and codec is not None:
            return codec.too_large()
        return Response(status, reason.encode(), TEXT)

    # -- rerank ----------------------------------------------------------------------------------------
    def _rerank(self, codec: Codec, req: Request, route: str) -> object:
        m = self.metrics
        if self._auth is not None and not self._authorized(req):
            return codec.unauthorized(b"authorization" in req.headers)
        fault = self.faults.draw() if self.faults else None
        if fault is not None and fault.kind in EARLY_KINDS:
            m.faults[(fault.kind, route)] += 1
            if fault.kind == "hang":
                return self.loop.create_future()  # never answered; cancelled when the client leaves
            if fault.kind == "reset":
                return ABORT
            return codec.fault(STATUS_KINDS[fault.kind])
        arrived = req.received or self.loop.time()
        try:
            job = codec.parse(req)
        except HttpError as e:
            if e.reason is not None:
                m.te_count["batch"] += 1  # TEI's label value for every /rerank call
                m.te_failure[e.reason] += 1
            return self._respond(route, e.response, fault, None)
        m.te_count["batch"] += 1
        return self._admit(codec, job, route, fault, arrived)

    def _admit(self, codec: Codec, job: RankJob, route: str, fault: Fault | None, arrived: float) -> object:
        """Permits, then the simulated computation of the admitted pairs, then the answer."""
        m = self.metrics
        granted = self.engine.admit(len(job.passages))
        m.pairs[route] += granted
        failure = self._outcome(codec, job, granted)
        computed_tokens = job.pair_tokens[:granted]
        if job.pair_error is not None:  # pairs that failed their own check are not computed
            computed_tokens = [t for t in computed_tokens if t]
            self.engine.release(granted - len(computed_tokens))
        if not computed_tokens:  # nothing to wait for: refused outright
            m.te_failure[failure[0]] += 1
            return self._respond(route, failure[1], fault, None)
        m.predict_count += len(computed_tokens)
        for tokens in computed_tokens:
            m.input_length.observe(tokens)
        pairs = len(computed_tokens)
        answer = partial(self._answer, codec, job, route, fault, failure, arrived,
                         None if self.engine.mode == "batched" else pairs)
        if self.engine.immediate:
            return self._respond(route, answer(NO_TIME, self.loop.time() - arrived)(), fault, None)
        fixed = self.engine.fixed_timing
        fut: asyncio.Future | None = None
        self._open += 1  # until its answer is delivered or its client leaves
        if fixed is not None:
            # Fixed latency: the answer is prepared now, so that only its delivery is due at the deadline
            # (many answers due together would otherwise be built one after another, each one late).
            ready = answer(fixed, fixed.inference)

            def computed(timing: Timing) -> None:
                self._respond(route, ready(), fault, fut)
        else:
            def computed(timing: Timing) -> None:
                self._respond(route, answer(timing, self.loop.time() - arrived)(), fault, fut)

        ticket = self.engine.submit(computed_tokens, computed, arrived)
        fut = self._deferred(route, ticket)
        fut.add_done_callback(self._closed)
        return fut

    def _closed(self, _fut: asyncio.Future) -> None:
        self._open -= 1

    def _outcome(self, codec: Codec, job: RankJob, granted: int) -> tuple[str, Response] | None:
        """The failure (metrics reason, answer) of an admitted request, or None when it succeeds.

        Like TEI, the answer is the first error in text order: a pair without a permit is refused with
        429, and one with a permit may still fail its own check (empty or over-long input).
        """
        if job.pair_error is not None:
            index, err = job.pair_error
            if index < granted:
                return err.reason or "validation", err.response
        if granted < len(job.passages):
            return "overloaded", codec.overloaded()
        return None

    def _answer(self, codec: Codec, job: RankJob, route: str, fault: Fault | None,
                failure: tuple[str, Response] | None, arrived: float, unbatched_pairs: int | None,
                timing: Timing, elapsed: float) -> Callable[[], Response]:
        """Build the answer of an admitted request now; the returned function records the metrics and
        hands it over, once the answer is due. `unbatched_pairs`: the pairs to record per pair here
        (fixed or no latency; the batcher records its pairs itself)."""
        if failure is not None:  # TEI answers only after the admitted pairs were computed
            resp = failure[1]
            reason: str | None = failure[0]
            kind = None
        else:
            resp = self._render(codec, job, fault, timing, elapsed)
            reason = None
            kind = fault.kind if fault is not None and fault.kind in CONTENT_KINDS else None

        def due() -> Response:
            m = self.metrics
            m.duration.observe(self.loop.time() - arrived)
            m.tokenization_duration.observe(0.0)  # no tokenization time is modelled
            if unbatched_pairs:
                m.pair(timing.queue, timing.inference, unbatched_pairs)
            m.queue_duration.observe(timing.queue)
            m.inference_duration.observe(timing.inference)
            if reason is not None:
                m.te_failure[reason] += 1
            else:
                if kind is not None:
                    m.faults[(kind, route)] += 1
                m.te_success["batch"] += 1
            return resp

        return due

    def _render(self, codec: Codec, job: RankJob, fault: Fault | None, timing: Timing, elapsed: float) -> Response:
        """The 200 answer: scores, ranking, the API's body and headers, altered by a content fault."""
        logits = self.model.logits(job.query, job.passages)
        if self.config.score_drift:  # the request being answered is one of the open ones
            logits = drifted(logits, job.passages, self._open - 1, self.config.score_drift)
        ranked = codec.rank(logits)
        if 0 < job.top_n < len(ranked):
            ranked = ranked[:job.top_n]
        labels = ranked
        kind = fault.kind if fault is not None else None
        if kind == "wrong-count":
            ranked = labels = ranked[:-1]
        elif kind == "bad-index":
            labels = [len(job.passages), *ranked[1:]]
        resp = codec.render(job, ranked, labels, logits, timing, elapsed)
        if kind == "bad-json":
            resp.body = resp.body[: len(resp.body) // 2]
        return resp

    def _respond(self, route: str, resp: Response, fault: Fault | None, fut: asyncio.Future | None) -> object:
        """Send `resp` now (returned to the HTTP layer) or through `fut`; a `slow` fault delays any answer,
        errors included, as a slow server would."""
        if fault is not None and fault.kind == "slow":
            self.metrics.faults[("slow", route)] += 1
            if fut is None:
                fut = self._deferred(route, None)
            self.loop.call_later(fault.delay_ms / 1000.0, self._deliver, fut, resp, route)
            return fut
        if fut is None:
            return resp
        self._deliver(fut, resp, route)
        return fut

    def _deferred(self, route: str, ticket: Ticket | None) -> asyncio.Future:
        """A future answer; if the client leaves first, its pairs are dropped and it counts as dropped."""
        fut = self.loop.create_future()

        def on_done(f: asyncio.Future) -> None:
            if f.cancelled():
                if ticket is not None:
                    self.engine.cancel(ticket)
                self.metrics.dropped[route] += 1
                self.metrics.te_failure["dropped"] += 1

        fut.add_done_callback(on_done)
        return fut

    def _deliver(self, fut: asyncio.Future, resp: Response, route: str) -> None:
        """Complete a deferred request, unless its client already left."""
        if not fut.done():
            self.metrics.responses[(route, resp.status)] += 1
            if self._access_log:
                log.debug("%s -> %d (deferred)", route, resp.status)
            fut.set_result(resp)


def event_loop_for(config: ServeConfig, spin_s: float = 0.0) -> asyncio.AbstractEventLoop:
    """The event loop `serve` should run on: timers must be sub-millisecond accurate whenever the model
    (or a slow fault) takes time; `spin_s` busy-polls that long before each deadline."""
    mode = engine_mode(config.batch_overhead_ms, config.per_token_us, config.fixed_latency_ms)
    precise = mode != "immediate" or any(f.kind == "slow" for f in config.faults)
    return new_event_loop(precise_timers=precise, spin_s=spin_s)


class ListenError(Exception):
    """The listening socket could not be opened (port in use, bad address, no permission)."""


async def serve(config: ServeConfig, host: str, port: int, ready: Callable[[int], None],
                stop: asyncio.Event) -> None:
    """Run until `stop` is set; `ready(port)` is called once listening."""
    loop = asyncio.get_running_loop()
    app = App(config, loop)
    server = HttpServer(app.handle, config.payload_limit, arrival_clock(loop))
    app.metrics.gauge("rankperf_connections_open", "Open client connections", lambda: len(server.connections))
    app.metrics.gauge("rankperf_connections_opened", "Connections accepted since start", lambda: server.opened)
    try:
        bound = await server.start(host, port)
    except OSError as e:
        raise ListenError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    log.info("model %s, api %s, %s, max %d pairs in flight, faults: %s, auth %s",
             config.model.model_id, config.api, app.engine.describe(), config.max_concurrent_requests,
             app.faults.describe(), "on" if config.api_key else "off")
    ready(bound)
    try:
        await stop.wait()
    finally:
        await server.close()
        log.info("stopped")
