"""Scrape the server's /metrics during a run (master or local process): baseline, periodic, final.

A baseline scrape of each endpoint before any load decides whether it is used: one that does not
answer Prometheus text (refused, 404, HTML, JSON) gets one warning and is dropped; the run goes on.
Then every ``interval_s`` (AIPerf's 0.333 s) a greenlet scrapes the live endpoints; when the
measured phase starts after a warmup it scrapes at once (the phase boundary); ``finish`` takes the
final scrape after the last answer. Each scrape is parsed as it comes and folded into the windows'
per-series state (report/server_fold), so memory does not grow with the run; with a spool path it
is also appended to the spool (the raw scrapes file at the end), else kept in memory (tests,
benchmarks). Locust's monkey-patching makes urllib cooperative here.
"""

from __future__ import annotations

import http.client
import logging
import time
import urllib.error
import urllib.request
from pathlib import Path

import gevent
from gevent.event import Event

from rankperf_data.redact import redact_text
from rankperf_data.report.promtext import NotPrometheus, parse_exposition
from rankperf_data.report.server_fold import FoldedScrapes
from rankperf_data.report.server_metrics import ServerScrapes
from rankperf_data.report.server_scrapes_file import ScrapeSpool

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
                 formats: list[str] | None = None, timeout_s: float = SCRAPE_TIMEOUT_S,
                 spool: str | Path | None = None) -> None:
        self._urls = list(urls)
        self.data = ServerScrapes(configured=[shown(u) for u in urls], interval_s=interval_s,
                                  formats=list(formats or ["json", "csv"]))
        self._timeout = timeout_s
        self._warmup = warmup
        self._live: list[str] = []
        self._failed_once: set[str] = set()
        self._fold = FoldedScrapes()
        self._spool = ScrapeSpool(spool) if spool is not None else None
        self._wake = Event()
        self._boundary = 0  # 0: not due, 1: due, 2: taken
        self._stopped = False
        self._loop: gevent.Greenlet | None = None

    def _scrape(self, url: str, kind: str) -> Exception | None:
        """One GET, parsed and folded at once (~1 ms of CPU for TEI's 23 KB page): nothing kept per scrape."""
        try:
            families = parse_exposition(fetch(url, self._timeout))
        except (OSError, ValueError, http.client.HTTPException) as exc:  # not Prometheus, a bad URL or port, ...
            return exc
        scrape = {"endpoint_url": shown(url), "timestamp_ns": time.time_ns(), "kind": kind, "families": families}
        self._fold.add(scrape)
        if self._spool is not None:
            self._spool.append(scrape)
        else:
            self.data.scrapes.append(scrape)
        return None

    def _warn_once(self, url: str, exc: Exception) -> None:
        if url not in self._failed_once:
            self._failed_once.add(url)
            message = f"server metrics: a scrape of {shown(url)} failed during the run ({_reason(exc)})"
            self.data.warnings.append(message)
            log.warning("rankperf: %s", message)

    def start(self) -> None:
        """Baseline scrape of every endpoint (before any load), then the periodic greenlet."""
        for url in self._urls:
            exc = self._scrape(url, "baseline")
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
        if self._spool is not None:
            self._spool.close()
        # not JSON: the report reads the windows from the fold, the raw file from the spool
        return {**self.data.to_dict(), "folded": self._fold,
                "spool": str(self._spool.path) if self._spool is not None else None}
