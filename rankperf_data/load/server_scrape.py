"""Scrape the server's /metrics during a run (master or local process): baseline, periodic, final.

A baseline scrape of each endpoint before any load decides whether it is used: one that does not
answer Prometheus text (refused, 404, HTML, JSON) gets one warning and is dropped; the run goes on.
Then every ``interval_s`` (AIPerf's 0.333 s) a greenlet scrapes the live endpoints; when the
measured phase starts after a warmup it scrapes at once (the phase boundary); ``finish`` takes the
final scrape after the last answer, then parses the bodies kept (compressed) during the run: parsing
is the costly part, and done then it stays out of the measured window. Locust's monkey-patching
makes urllib cooperative here.
"""

from __future__ import annotations

import http.client
import logging
import time
import urllib.error
import urllib.request
import zlib

import gevent
from gevent.event import Event

from rankperf_data.redact import redact_text
from rankperf_data.report.promtext import NotPrometheus, parse_exposition
from rankperf_data.report.server_metrics import ServerScrapes

log = logging.getLogger("rankperf")

DEFAULT_INTERVAL_S = 0.333  # AIPerf's AIPERF_SERVER_METRICS_COLLECTION_INTERVAL
SCRAPE_TIMEOUT_S = 5.0
MAX_BODY = 16 * 1024 * 1024  # a /metrics page larger than this is not one


def metrics_url(base: str) -> str:
    """<base>/metrics, never doubled."""
    base = base.rstrip("/")
    return base if base.endswith("/metrics") else base + "/metrics"


def fetch(url: str, timeout: float = SCRAPE_TIMEOUT_S) -> str:
    """The body of one GET; raises OSError (incl. HTTPError) or NotPrometheus."""
    req = urllib.request.Request(url, headers={"Accept": "text/plain;version=0.0.4"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        body = resp.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise NotPrometheus("body larger than 16 MB")
    return body.decode("utf-8", errors="replace")


def shown(url: str) -> str:
    """The URL as written to artifacts and logs: a password in it redacted."""
    return redact_text(url)


def _reason(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, NotPrometheus):
        return f"not Prometheus text: {exc}"
    return redact_text(f"{type(exc).__name__}: {exc}")


class ServerScraper:
    """The scrapes of one run."""

    def __init__(self, urls: list[str], *, interval_s: float = DEFAULT_INTERVAL_S, warmup: int = 0,
                 formats: list[str] | None = None, timeout_s: float = SCRAPE_TIMEOUT_S) -> None:
        self._urls = list(urls)
        self.data = ServerScrapes(configured=[shown(u) for u in urls], interval_s=interval_s,
                                  formats=list(formats or ["json", "csv"]))
        self._timeout = timeout_s
        self._warmup = warmup
        self._live: list[str] = []
        self._failed_once: set[str] = set()
        self._raw: list[tuple[dict, bytes]] = []  # scrapes of the run, body zlib-compressed until the end
        self._wake = Event()
        self._boundary = 0  # 0: not due, 1: due, 2: taken
        self._stopped = False
        self._loop: gevent.Greenlet | None = None

    def _scrape(self, url: str, kind: str, parse: bool = False) -> Exception | None:
        """One GET. During the run the body is kept compressed and parsed at the end (parsing
        costs ~10x the GET); the baseline is parsed at once, to know whether the endpoint is usable."""
        try:
            text = fetch(url, self._timeout)
            families = parse_exposition(text) if parse else None
        except (OSError, ValueError, http.client.HTTPException) as exc:  # not Prometheus, a bad URL or port, ...
            return exc
        scrape = {"endpoint_url": shown(url), "timestamp_ns": time.time_ns(), "kind": kind}
        if families is not None:
            self.data.scrapes.append({**scrape, "families": families})
        else:
            self._raw.append((scrape, zlib.compress(text.encode(), 1)))
        return None

    def _parse_raw(self) -> None:
        """Parse the bodies kept during the run; a body that is not Prometheus text is dropped, once said."""
        for scrape, packed in self._raw:
            try:
                families = parse_exposition(zlib.decompress(packed).decode())
            except NotPrometheus as exc:
                self._warn_once(scrape["endpoint_url"], exc)
                continue
            self.data.scrapes.append({**scrape, "families": families})
        self._raw.clear()
        self.data.scrapes.sort(key=lambda s: s["timestamp_ns"])

    def _warn_once(self, url: str, exc: Exception) -> None:
        if url not in self._failed_once:
            self._failed_once.add(url)
            message = f"server metrics: a scrape of {shown(url)} failed during the run ({_reason(exc)})"
            self.data.warnings.append(message)
            log.warning("rankperf: %s", message)

    def start(self) -> None:
        """Baseline scrape of every endpoint (before any load), then the periodic greenlet."""
        for url in self._urls:
            exc = self._scrape(url, "baseline", parse=True)
            if exc is None:
                self._live.append(url)
                continue
            message = f"server metrics: {shown(url)} not used ({_reason(exc)}); the run goes on without it"
            self.data.warnings.append(message)
            log.warning("rankperf: %s", message)
        self.data.successful = [shown(u) for u in self._live]
        if self._live:
            self._loop = gevent.spawn(self._run)

    def profiling_started(self) -> None:
        """The measured phase began: after a warmup, scrape now so that warmup stays apart."""
        if self._warmup and self._boundary == 0:
            self._boundary = 1
            self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self.data.interval_s)
            self._wake.clear()
            if self._stopped:
                return
            kind = "periodic"
            if self._boundary == 1:
                kind, self._boundary = "profiling_start", 2
            self._scrape_live(kind)

    def _scrape_live(self, kind: str) -> None:
        for url in self._live:
            exc = self._scrape(url, kind)
            if exc is not None:
                self._warn_once(url, exc)

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        if self._loop is not None:
            self._loop.kill(block=True, timeout=self._timeout + 1)
            self._loop = None

    def finish(self) -> dict:
        """Stop, take the final scrape (the last answer is in), and hand over everything scraped."""
        self.stop()
        self._scrape_live("final")
        self._parse_raw()
        return self.data.to_dict()
