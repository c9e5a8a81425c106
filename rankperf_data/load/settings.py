"""Load-side settings parsed from option values: headers, extra inputs, goodput, limits.

Pure parsing with precise errors (no Locust): shared by the Locust hooks and `rankperf profile`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from rankperf_data import options
from rankperf_data.dataset.errors import InputError
from rankperf_data.load import scrape_settings
from rankperf_data.report import goodput

MAX_REFERENCE_ENTRIES = 100_000  # --check-consistency: distinct entries whose references are kept


def option_values(source: Any) -> dict[str, Any]:
    """Every rankperf option's raw value (by dest) from a namespace or mapping, defaults filled in."""
    get = source.get if isinstance(source, Mapping) else lambda k, d: getattr(source, k, d)
    return {opt.dest: get(opt.dest, opt.default) for opt in options.OPTIONS}


def typed_values(source: Any) -> dict[str, Any]:
    """Like option_values, with strings (web UI, config files) parsed by each option's type."""
    raw = option_values(source)
    return {dest: options.value(raw, dest) for dest in raw}


def _items(value: str | Iterable[str] | None) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [v for v in value if v]


def _pairs(value: str | Iterable[str] | None, flag: str, parse: Callable[[str], Any]) -> dict[str, Any]:
    """``name:value`` items or JSON objects -> dict; ``parse`` turns each value text into its value."""
    out: dict[str, Any] = {}
    for item in _items(value):
        item = item.strip()
        if item.startswith("{"):
            try:
                obj = orjson.loads(item)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"not a JSON object: {exc}", field=flag) from None
            if not isinstance(obj, dict):
                raise InputError("JSON value must be an object", field=flag)
            out.update(obj)
            continue
        name, sep, raw = item.partition(":")
        if not sep or not name.strip():
            raise InputError(f"expected 'name:value', got {item!r}", field=flag)
        out[name.strip()] = parse(raw.strip())
    return out


def parse_headers(value: str | Iterable[str] | None) -> dict[str, str]:
    """``Name:Value`` items or JSON objects -> header dict."""
    return {str(k): str(v) for k, v in _pairs(value, "--header", str).items()}


def _json_or_text(raw: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw


def parse_extra_inputs(value: str | Iterable[str] | None) -> dict[str, Any]:
    """``key:value`` items (value parsed as JSON when it is JSON) or JSON objects -> body fields."""
    return _pairs(value, "--extra-inputs", _json_or_text)


def parse_goodput(value: str | None) -> dict[str, float | str]:
    """``'request_latency:250 intended_latency:20+1.5*passages'`` -> {metric: bound} (report.goodput's parser)."""
    try:
        return goodput.parse_goodput(value)
    except ValueError as exc:
        raise InputError(str(exc), field="--goodput") from None


def parse_endpoint(value: str | None) -> str:
    """The request path for ``--endpoint``: '' (the API's default) or a path starting with '/'.

    'v1/rerank' becomes '/v1/rerank' (AIPerf accepts both); anything that is not a plain path
    (a full URL, '//host', spaces) is an InputError, since the base URL is a plain prefix."""
    path = (value or "").strip()
    if not path:
        return ""
    if "://" in path:
        raise InputError(f"expected a path such as /v1/rerank, got the URL {path!r}: put the server "
                         "in --url (-H for locust) and the path here", field="--endpoint")
    if not path.startswith("/"):
        path = "/" + path
    parts = urlsplit("http://host" + path)
    if path.startswith("//") or parts.netloc != "host" or any(c.isspace() for c in path):
        raise InputError(f"not a valid URL path: {value!r}", field="--endpoint")
    return path


@dataclass
class LoadSettings:
    """How each request is sent and how much load there is."""

    model: str
    endpoint: str
    cohere_api_version: str
    top_n: int
    headers: dict[str, str]
    extra: dict[str, Any]
    timeout: float
    insecure: bool
    request_count: int
    warmup: int
    duration: float
    rate: float
    pattern: str
    artifact_dir: str
    goodput: dict[str, float | str] = field(default_factory=dict)  # tag -> ms, or 'A+B*passages'
    server_metrics: list[str] = field(default_factory=list)  # extra /metrics URLs (--server-metrics)
    server_metrics_off: bool = False
    server_metrics_formats: list[str] = field(default_factory=lambda: list(scrape_settings.FORMATS))
    rtt_automatic: bool = False  # --network-latency-automatic
    rtt_mean_ms: float | None = None  # --network-latency-mean
    rtt_interval_s: float = 1.0
    connect_timeout: float = 10.0
    quality_k: int = 10  # NDCG/MRR/Recall cut-off (labelled inputs)
    check_consistency: bool = False

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> LoadSettings:
        v = typed_values(values)
        return cls(
            model=v["model"] or options.DEFAULT_MODEL,
            endpoint=parse_endpoint(v["endpoint"]),
            cohere_api_version=v["cohere_api_version"],
            top_n=int(v["top_n"] or 0),
            headers=parse_headers(v["header"]),
            extra=parse_extra_inputs(v["extra_inputs"]),
            timeout=float(v["request_timeout_seconds"]),
            insecure=bool(v["insecure"]),
            request_count=int(v["request_count"] or 0),
            warmup=int(v["warmup_request_count"] or 0),
            duration=float(v["benchmark_duration"] or 0),
            rate=float(v["request_rate"] or 0),
            pattern=v["arrival_pattern"],
            artifact_dir=v["artifact_dir"] or "",
            goodput=parse_goodput(v["goodput"]),
            connect_timeout=float(v["connect_timeout_seconds"]),
            quality_k=int(v["quality_k"] or 10),
            check_consistency=bool(v["check_consistency"]),
            server_metrics=scrape_settings.metrics_endpoints(v["server_metrics"]),
            server_metrics_off=bool(v["no_server_metrics"]),
            server_metrics_formats=scrape_settings.formats(v["server_metrics_formats"]),
            rtt_automatic=bool(v["network_latency_automatic"]),
            rtt_mean_ms=None if v["network_latency_mean"] is None else float(v["network_latency_mean"]),
            rtt_interval_s=float(v["network_latency_ping_interval"] or 1.0),
        )

    def __post_init__(self) -> None:
        scrape_settings.check_switch(self.server_metrics_off, self.server_metrics)
        if self.rtt_automatic and self.rtt_mean_ms is not None:
            raise InputError("cannot be combined with --network-latency-automatic (measure it, or give it)",
                             field="--network-latency-mean")
        if self.rtt_interval_s != 1.0 and not self.rtt_automatic:
            raise InputError("only applies with --network-latency-automatic", field="--network-latency-ping-interval")

    @property
    def open_loop(self) -> bool:
        return self.rate > 0


def require_finite(settings: LoadSettings, dataset: Any) -> None:
    """--check-consistency needs distinct entries to repeat: a file or a pool, of bounded size."""
    if not settings.check_consistency:
        return
    if not dataset.entries:
        raise InputError("needs repeated requests: give --input-file or --num-dataset-entries N "
                         "(every request is distinct otherwise, so none has a reference)",
                         field="--check-consistency")
    if dataset.entries > MAX_REFERENCE_ENTRIES:
        raise InputError(f"at most {MAX_REFERENCE_ENTRIES:,} distinct entries (references are kept per entry), "
                         f"got {dataset.entries:,}", field="--check-consistency")
