"""Exact request counters and TEI-named metrics, rendered as Prometheus text."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"

# TEI's buckets (router/src/prometheus.rs): durations 1e-5 x 1.5^k s for k = 1..35; batch sizes
# 2^0..2^12 entries; batch tokens 2^0..2^20; input length 2^0..2^19 tokens.
DURATION_BUCKETS = [1e-5 * 1.5**k for k in range(1, 36)]
BATCH_SIZE_BUCKETS = [float(2**k) for k in range(13)]
BATCH_TOKENS_BUCKETS = [float(2**k) for k in range(21)]
INPUT_LENGTH_BUCKETS = [float(2**k) for k in range(20)]


def rust_float(value: float) -> str:
    """A float as Rust's Display writes it (TEI's exporter): shortest round-trip digits, never an
    exponent, no '.0' on whole numbers: 1, 0.5, 0.000015000000000000002."""
    if value == int(value):
        return str(int(value))
    return format(Decimal(repr(value)), "f")


class Histogram:
    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: list[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float, times: int = 1) -> None:
        self.counts[bisect_left(self.bounds, value)] += times
        self.sum += value * times
        self.count += times

    def lines(self, name: str) -> list[str]:
        out = []
        running = 0
        for bound, n in zip(self.bounds, self.counts, strict=False):
            running += n
            out.append(f'{name}_bucket{{le="{rust_float(bound)}"}} {running}')
        out.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        out.append(f"{name}_sum {rust_float(self.sum)}")
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
        self.predict_count = 0  # pairs admitted (TEI: te_predict_count, +1 per pair)
        self.predict_success = 0  # pairs computed
        self.duration = Histogram(DURATION_BUCKETS)
        self.tokenization_duration = Histogram(DURATION_BUCKETS)
        self.queue_duration = Histogram(DURATION_BUCKETS)
        self.inference_duration = Histogram(DURATION_BUCKETS)
        self.predict_duration = Histogram(DURATION_BUCKETS)
        self.predict_tokenization = Histogram(DURATION_BUCKETS)
        self.predict_queue = Histogram(DURATION_BUCKETS)
        self.predict_inference = Histogram(DURATION_BUCKETS)
        self.input_length = Histogram(INPUT_LENGTH_BUCKETS)
        self.batch_size = Histogram(BATCH_SIZE_BUCKETS)
        self.batch_tokens = Histogram(BATCH_TOKENS_BUCKETS)
        self._gauges: list[tuple[str, str, Callable[[], float]]] = []

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self._gauges.append((name, help_text, read))

    def batch(self, size: int, tokens: int) -> None:
        self.batch_size.observe(size)
        self.batch_tokens.observe(tokens)

    def pair(self, queue: float, inference: float, times: int = 1) -> None:
        """Computed pair(s) with their own queue and inference time (TEI's te_predict_*; the reference
        server models no tokenization time, so that is 0)."""
        self.predict_success += times
        self.predict_tokenization.observe(0.0, times)
        self.predict_queue.observe(queue, times)
        self.predict_inference.observe(inference, times)
        self.predict_duration.observe(queue + inference, times)

    def render(self) -> bytes:
        out: list[str] = []

        def counter(name: str, help_text: str, data: Counter, labels: tuple[str, ...]) -> None:
            if not name.startswith("te_"):  # TEI describes nothing: no HELP lines for its names
                out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} counter")
            for key in sorted(data, key=str):
                values = key if isinstance(key, tuple) else (key,)
                out.append(f"{name}{{{_labels(labels, values)}}} {data[key]}")

        def plain(name: str, kind: str, value: float) -> None:
            out.append(f"# TYPE {name} {kind}")
            out.append(f"{name} {rust_float(value)}")

        def histogram(name: str, h: Histogram) -> None:
            out.append(f"# TYPE {name} histogram")
            out.extend(h.lines(name))

        # TEI's names, as metrics-exporter-prometheus 0.15 renders them: counters without _total,
        # histograms without labels, TEI's buckets, Rust's float formatting.
        counter("te_request_count", "", self.te_count, ("method",))
        counter("te_request_success", "", self.te_success, ("method",))
        counter("te_request_failure", "", self.te_failure, ("err",))
        histogram("te_request_duration", self.duration)
        histogram("te_request_tokenization_duration", self.tokenization_duration)
        histogram("te_request_queue_duration", self.queue_duration)
        histogram("te_request_inference_duration", self.inference_duration)
        plain("te_predict_count", "counter", self.predict_count)
        plain("te_predict_success", "counter", self.predict_success)
        histogram("te_predict_duration", self.predict_duration)
        histogram("te_predict_tokenization_duration", self.predict_tokenization)
        histogram("te_predict_queue_duration", self.predict_queue)
        histogram("te_predict_inference_duration", self.predict_inference)
        histogram("te_request_input_length", self.input_length)
        histogram("te_batch_next_size", self.batch_size)
        histogram("te_batch_next_tokens", self.batch_tokens)
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
            if not name.startswith("te_"):
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
