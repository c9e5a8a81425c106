"""The Locust user classes, one per API in the registry (TeiRerankUser, CohereRerankUser, ...).

A user takes the next request index (closed loop) or the next scheduled arrival (open loop),
sends the pre-encoded body, validates the answer with the API module, and records it. Bodies,
checks and records live in plain modules; this file only wires them to Locust's HTTP client.
"""

from __future__ import annotations

import os
import time

import gevent
from geventhttpclient.url import URL
from locust import FastHttpUser, constant, task
from locust.exception import StopTest, StopUser
from locust.runners import STATE_CLEANUP, STATE_STOPPED, STATE_STOPPING
from locust.user.task import LOCUST_STATE_RUNNING, LOCUST_STATE_STOPPING

from rankperf_data import apis, options
from rankperf_data.load import hooks
from rankperf_data.load.arrivals import OPEN_CONNECTION
from rankperf_data.load.failures import classify, read_body, server_speaks_no_tls
from rankperf_data.load.judging import judged_fields
from rankperf_data.load.process import epoch_ns
from rankperf_data.redact import redact_text
from rankperf_data.results.outcomes import ErrorKind, error_label
from rankperf_data.results.records import (
    NO_SERVER_TIMING,
    NOT_JUDGED,
    PHASE_PROFILING,
    Record,
    ServerTiming,
    new_record,
)

_NAN = float("nan")
_TIMING_HEADERS = ("x-queue-time", "x-inference-time", "x-tokenization-time")


class RerankFailure(Exception):
    """What Locust's failure table shows for a failed rerank request."""

    def __init__(self, label: str, message: str) -> None:
        super().__init__(f"{label}: {message}")

    def __repr__(self) -> str:
        return f"RerankFailure({self.args[0]!r})"


def _server_timing(response, status: int) -> ServerTiming:
    """TEI's timing headers of a 200 answer; absent (NaN / -1) for other servers and answers."""
    if response is None or status != 200 or response.get("x-queue-time") is None:
        return NO_SERVER_TIMING
    queue_ms, inference_ms, tokenization_ms = (_header_ms(response, h) for h in _TIMING_HEADERS)
    compute_tokens = int(_header_ms(response, "x-compute-tokens")) if response.get("x-compute-tokens") else -1
    return ServerTiming(queue_ms, inference_ms, tokenization_ms, compute_tokens)


def _header_ms(response, name: str) -> float:
    value = response.get(name)
    try:
        return float(value) if value is not None else _NAN
    except (TypeError, ValueError):
        return _NAN


class TargetError(ValueError):
    """The host and endpoint path do not make a usable http(s) URL."""


def target_url(host: str | None, path: str) -> URL:
    """The URL a user posts to: Locust's base URL (-H) followed by the endpoint path, as a plain
    prefix (Locust's rule). Raises TargetError when that is no http(s) URL with a host and port."""
    text = f"{host or ''}{path}"
    shown = redact_text(repr(text))  # a password in the host's user:pass@ stays out of the logs
    try:
        url = URL(text)
        url.port  # noqa: B018 (parsing the port is what rejects 'host:notaport')
    except ValueError as exc:
        raise TargetError(f"invalid URL {shown} (host + endpoint path): {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise TargetError(f"invalid URL {shown} (host + endpoint path): expected http(s)://HOST[:PORT]/PATH")
    return url


def request_headers(settings, environment) -> dict[str, str]:
    """Every request's headers: JSON both ways, --header values, the API key as a bearer token."""
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               "Accept-Encoding": "identity", "User-Agent": "rankperf"}
    headers.update(settings.headers)
    key = os.environ.get(options.API_KEY_ENV) or getattr(environment.parsed_options, "api_key", None)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


class RerankUser(FastHttpUser):
    """Shared behaviour; subclasses pick the API module."""

    abstract = True
    wait_time = constant(0)
    insecure = False  # verify TLS by default (FastHttpUser's own default is not to)
    api = apis.tei

    def __init__(self, environment) -> None:
        try:
            self._build(environment)
        except StopTest:
            raise
        except Exception as exc:
            # Locust only logs an error raised while it builds a user, and the run then idles with
            # no users forever; StopTest makes it stop (headless: quit) after logging the reason.
            reason = str(exc) if isinstance(exc, TargetError) else f"{type(exc).__name__}: {exc}"
            # no chained traceback: it would print the unredacted original next to this message
            raise StopTest(f"rankperf: cannot start {type(self).__name__}: {redact_text(reason)}") from None

    def _build(self, environment) -> None:
        process = hooks.current_process()
        settings = process.settings
        self.insecure = settings.insecure
        self.network_timeout = settings.timeout
        # connect + TLS handshake: a dead host or a plain-HTTP server behind https:// fails in
        # seconds, not at the end of the (long) request timeout, which bounds it too
        self.connection_timeout = min(settings.connect_timeout, settings.timeout)
        super().__init__(environment)
        self.process = process
        self.settings = settings
        path = settings.endpoint or self._default_path()
        self.path = path
        url = target_url(self.host, path)
        self._http = self.client.client.clientpool.get_client(url)
        self._uri = url.request_uri
        self._url = str(url)
        self._url_shown = redact_text(self._url)  # for messages: a password in the URL stays out
        self._headers = request_headers(settings, environment)
        self._fire = environment.events.request.fire

    def stop(self, force: bool = False) -> bool:
        """Locust kills users it moves to another worker (rebalancing, a late worker joining)
        mid-request; let such a user finish the request in flight instead, so a measurement
        gets no cancelled requests from its own bookkeeping. A real stop (Ctrl-C, the Stop
        button, quit) still ends the request at once and records it as cancelled."""
        runner = self.environment.runner
        stopping_run = runner is None or runner.state in (STATE_CLEANUP, STATE_STOPPING, STATE_STOPPED)
        if force and not stopping_run and self._state in (LOCUST_STATE_RUNNING, LOCUST_STATE_STOPPING):
            self._state = LOCUST_STATE_STOPPING  # Locust's own graceful stop: ends after this task
            # Out of Locust's user group now, so that a second rebalancing right after this one
            # (several workers joining at once) counts and picks only the users that stay.
            self._group.discard(self._greenlet)
            return False
        return super().stop(force)

    def _default_path(self) -> str:
        return self.api.route(self.settings.cohere_api_version)

    def encode(self, request) -> bytes:
        return self.api.encode(request, self.settings.model, self.settings.extra, self.settings.top_n)

    @task
    def rank(self) -> None:
        process = self.process
        if process.queue is not None:  # open loop: wait for the next scheduled arrival
            item = process.queue.get()
            if item is OPEN_CONNECTION:
                self._open_connection()
                return
            if item is None:
                process.queue.put(None)  # let the other consumers see the end too
                raise StopUser()
            index, phase, intended = item
            self._send_accounted(index, phase, epoch_ns(intended))
        else:
            got = process.take()
            if got is None:
                raise StopUser()
            self._send_accounted(got[0], got[1], None)

    def _open_connection(self) -> None:
        """Open loop, before the schedule starts: connect, so the first arrival sent from here
        does not wait for it. A target that does not answer is left to the requests to report."""
        pool = self._http._connection_pool
        try:
            with gevent.Timeout(self.connection_timeout):
                sock = pool.get_socket()
            pool.return_socket(sock)
        except (Exception, gevent.Timeout):
            pass
        finally:
            self.process.connection_opened()

    def _send_accounted(self, index: int, phase: int, intended_ns: int | None) -> None:
        """Send; if the user is killed before the request is on its way, the index goes back."""
        self._began = False
        try:
            self.send(index, phase, intended_ns)
        except BaseException:
            if not self._began:
                self.process.give_back(index, phase)
            raise

    def send(self, index: int, phase: int, intended_ns: int | None) -> None:
        process = self.process
        request = process.dataset.get(index)
        body = self.encode(request)
        start = time.perf_counter_ns()
        start_epoch = epoch_ns(start)
        token = process.begin(index, phase, intended_ns or start_epoch, start_epoch,
                              (len(request.passages), request.query_tokens, request.total_passage_tokens, len(body)))
        self._began = True
        try:
            status, payload, response, kind, message, no_tls = self._post(body)
        except BaseException:  # the user was killed mid-request (stop, rebalancing): still accounted for
            process.cancel(token, "cancelled: the user was stopped before this request completed")
            raise
        end = time.perf_counter_ns()
        # let other users whose answers have also arrived take their end time before we spend CPU
        # on validation and the next body: otherwise that work lands in their measured latency
        stopped = None
        try:
            gevent.sleep(0)
        except BaseException as exc:  # stopped here (e.g. rebalancing): the answer is in, record it first
            stopped = exc
        results = -1
        judged = NOT_JUDGED
        if kind == ErrorKind.OK:
            verdict = self.api.validate(status, payload, request, self.settings.top_n or None)
            kind, message, results = verdict.kind, verdict.message, verdict.results
            if status == 404:  # the wrong URL, most likely: say which one was asked for
                message = f"POST {self._url_shown}: {'Not Found' if message == 'HTTP 404' else message}"
            judged = judged_fields(verdict, request, self.settings.quality_k, process.reference(index))
        end_epoch = start_epoch + (end - start)
        row = new_record(index=index, phase=phase, worker=process.worker_index, status=status, error_kind=int(kind),
                         intended_ns=intended_ns or start_epoch, start_ns=start_epoch, end_ns=end_epoch,
                         passages=len(request.passages), results=results, query_tokens=request.query_tokens,
                         passage_tokens=request.total_passage_tokens, request_bytes=len(body),
                         response_bytes=len(payload), server=_server_timing(response, status), judged=judged)
        self._count_in_locust(row, token, message)
        # after Locust has counted it: the last finish may tell the master this process is done,
        # and Locust's counters are sent along right then
        process.finish(token, row, message)
        if no_tls:  # recorded first: stopping the run cancels what is still in flight
            process.no_tls(f"{self._url_shown}: no TLS server answered there ({message}); if it speaks "
                           "plain HTTP, use http://")
        if stopped is not None:
            raise stopped

    def _post(self, body: bytes) -> tuple:
        """(status, payload, response, kind, message, no_tls) of one POST; every failure is caught
        and classified, except the user being killed (BaseException), which the caller records."""
        status, payload, response = 0, b"", None
        kind, message, no_tls = ErrorKind.OK, "", False
        try:
            with gevent.Timeout(self.settings.timeout):
                response = self._http.request("POST", self._uri, body=body, headers=self._headers)
                payload = read_body(response)
                status = response.status_code
        except gevent.Timeout as exc:
            kind, message = classify(exc)
        except Exception as exc:  # every failure is recorded, never lost
            kind, message = classify(exc)
            no_tls = server_speaks_no_tls(exc)
        return status, payload, response, kind, message, no_tls

    def _count_in_locust(self, row: Record, token: int, message: str) -> None:
        """Fire Locust's request event for a measured request.

        Warmup requests stay out of every statistic, Locust's own (console, CSV, web UI) too:
        only their rankperf records (phase=warmup) keep them. A request an interruption already
        recorded as cancelled stays out of Locust's counts too (Locust counts no request cut
        short), so that both count the same requests.
        """
        if row.phase != PHASE_PROFILING or token not in self.process.in_flight:
            return
        kind = row.error_kind
        self._fire(
            request_type="POST",
            name=self.path,
            response_time=(row.end_ns - row.start_ns) / 1e6,
            response_length=row.response_bytes,
            exception=None if kind == ErrorKind.OK else RerankFailure(error_label(kind, row.status), message),
            context={},
            start_time=row.start_ns / 1e9,
            url=self._url,
            response=None,
        )


def _user_class(api) -> type[RerankUser]:
    """The concrete user class for one API module: everything API-specific is in the module."""
    namespace = {"api": api, "__module__": __name__, "__doc__": f"{api.endpoint_type}: {api.summary}."}
    return type(RerankUser)(api.user_class, (RerankUser,), namespace)  # Locust's metaclass marks it concrete


# Built from the registry: a locustfile imports them by name (locustfiles/*.py, rankperf_data/locustfile.py).
USER_CLASSES: dict[str, type[RerankUser]] = {m.user_class: _user_class(m) for m in apis.API_MODULES}
globals().update(USER_CLASSES)
