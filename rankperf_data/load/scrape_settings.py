"""Parse the server-metrics options: endpoint URLs, the on/off switch, the export formats."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from rankperf_data.dataset.errors import InputError

FORMATS = ("json", "csv")
FLAG = "--server-metrics"


def metrics_endpoint(text: str) -> str:
    """A --server-metrics value as a URL: 'host:port' -> http://host:port/metrics; a full URL without a
    path gets /metrics. Anything that is not an http(s) URL or host:port is an InputError."""
    raw = text.strip()
    url = raw if raw.startswith(("http://", "https://")) else "http://" + raw
    if "://" in raw and not raw.startswith(("http://", "https://")) or (url is not raw and ":" not in raw):
        raise InputError(f"expected an http(s) URL or host:port, got {text!r}", field=FLAG)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"not a valid URL: {text!r} ({exc})", field=FLAG) from None
    if not parts.hostname or any(c.isspace() for c in raw) or (url is not raw and port is None):
        raise InputError(f"expected an http(s) URL or host:port, got {text!r}", field=FLAG)
    path = parts.path.rstrip("/") or "/metrics"
    return f"{parts.scheme}://{parts.netloc}{path}" + (f"?{parts.query}" if parts.query else "")


def metrics_endpoints(values: str | Iterable[str] | None) -> list[str]:
    """Every --server-metrics value (repeatable; commas or spaces also separate), as URLs."""
    items = [values] if isinstance(values, str) else list(values or [])
    out: list[str] = []
    for item in items:
        for part in str(item).replace(",", " ").split():
            url = metrics_endpoint(part)
            if url not in out:
                out.append(url)
    return out


def formats(value: str | Iterable[str] | None) -> list[str]:
    """--server-metrics-formats 'json,csv' (or 'json csv') -> ['json', 'csv']."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value or [])
    for item in items:
        if item not in FORMATS:
            raise InputError(f"{item!r} is not one of {', '.join(FORMATS)}", field="--server-metrics-formats")
    return items or list(FORMATS)


def check_switch(off: bool, extra: list[str]) -> None:
    """--no-server-metrics with --server-metrics URLs asks for two opposite things (AIPerf refuses it too)."""
    if off and extra:
        raise InputError("cannot be combined with --no-server-metrics", field=FLAG)
