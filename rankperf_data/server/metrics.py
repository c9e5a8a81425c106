"""Exact request counters and TEI-named metrics, rendered as Prometheus text."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"

# TEI's duration buckets: 1e-5 x 1.5^k, 35 of them (seconds).
DURATION_BUCKETS = [1e-5 * 1.5**k for k in range(35)]
SIZE_BUCKETS = [float(2**k) for k in range(16)]


class Histogram:
    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: list[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def lines(self, name: str) -> list[str]:
        out = []
        running = 0
        for bound, n in zip(self.bounds, self.counts, strict=False):
            running += n
            out.append(f'{name}_bucket{{le="{bound:.6g}"}} {running}')
        out.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        out.append(f"{name}_sum {self.sum:.9g}")
        out.append(f"{name}_count {self.count}")
        return out


def _labels(names: tuple[str, ...], values: tuple) -> str:
    return ",".join(f'{k}="{_escape(str(v))}"' for k, v in zip(names, values, strict=True))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """All counters the server keeps. Every counter is updated on the event loop thread only.

    rankperf's own counters are the exact witness load tests compare their client counts with:
    `received` is counted before any processing; `responses` when a response is written; a request
    that got no response is a `hang`/`reset` fault, `dropped` (client left first) or still in flight.
    """

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.responses: Counter[tuple[str, int]] = Counter()
        self.faults: Counter[tuple[str, str]] = Counter()
        self.pairs: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.te_count: Counter[str] = Counter()
        self.te_success: Counter[str] = Counter()
        self.te_failure: Counter[str] = Counter()
        self.duration = Histogram(DURATION_BUCKETS)
        self.queue_duration = Histogram(DURATION_BUCKETS)
        self.inference_duration = Histogram(DURATION_BUCKETS)
        self.batch_size = Histogram(SIZE_BUCKETS)
        self.batch_tokens = Histogram(SIZE_BUCKETS)
        self._gauges: list[tuple[str, str, Callable[[], float]]] = []

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self._gauges.append((name, help_text, read))

    def batch(self, size: int, tokens: int) -> None:
        self.batch_size.observe(size)
        self.batch_tokens.observe(tokens)

    def render(self) -> bytes:
        out: list[str] = []

        def counter(name: str, help_text: str, data: Counter, labels: tuple[str, ...]) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} counter")
            for key in sorted(data, key=str):
                values = key if isinstance(key, tuple) else (key,)
                out.append(f"{name}{{{_labels(labels, values)}}} {data[key]}")

        def histogram(name: str, help_text: str, h: Histogram) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} histogram")
            out.extend(h.lines(name))

        counter("te_request_count", "Rerank requests that reached the handler", self.te_count, ("method",))
        counter("te_request_success", "Successful rerank requests", self.te_success, ("method",))
        counter("te_request_failure", "Failed rerank requests by cause", self.te_failure, ("err",))
        histogram("te_request_duration", "Request duration in seconds", self.duration)
        histogram("te_request_queue_duration", "Mean per-pair queue time in seconds", self.queue_duration)
        histogram("te_request_inference_duration", "Mean per-pair inference time in seconds",
                  self.inference_duration)
        histogram("te_batch_next_size", "Pairs per batch", self.batch_size)
        histogram("te_batch_next_tokens", "Tokens per batch", self.batch_tokens)
        counter("rankperf_requests_received_total", "Requests received per route, counted before any processing",
                self.received, ("route",))
        counter("rankperf_responses_total", "Responses written per route and status", self.responses,
                ("route", "status"))
        counter("rankperf_faults_injected_total", "Injected faults per route and kind", self.faults,
                ("kind", "route"))
        counter("rankperf_pairs_total", "(query, passage) pairs admitted to the model per route", self.pairs,
                ("route",))
        counter("rankperf_requests_dropped_total", "Requests whose client left before the answer",
                self.dropped, ("route",))
        for name, help_text, read in self._gauges:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} gauge")
            out.append(f"{name} {read():g}")
        out.append("")
        return "\n".join(out).encode()


def parse_prometheus(text: str) -> dict[str, float]:
    """Sample lines -> {'name{labels}': value}, labels exactly as rendered (alphabetical here)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        try:
            out[key] = float(value)
        except ValueError:
            continue
    return out
