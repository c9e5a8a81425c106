"""The target of a run (base URL + endpoint path), checked before any request is sent.

Pure checks with one-line errors (no Locust, no sockets): a scheme that is not http(s), a
missing host, a port out of range, and a base URL whose path already holds an API route (e.g.
``--url http://host:8000/rerank`` with the endpoint ``/rerank`` would post to ``/rerank/rerank``).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from rankperf_data import apis
from rankperf_data.dataset.errors import InputError
from rankperf_data.redact import redact_text

# Every route an API module posts to by default: a base URL ending in one is a full URL by mistake.
API_PATHS = tuple(sorted({p for m in apis.API_MODULES for p in m.routes}, key=len, reverse=True))


def endpoint_path(api, endpoint: str, api_version: str = "v2") -> str:
    """The path a user of ``api`` posts to: ``--endpoint`` when given, else the API's route."""
    return endpoint or api.route(api_version)  # api_version: --cohere-api-version, read by the APIs with versions


def _shown(base: str) -> str:
    """``base`` for a message: a password in it is never printed."""
    return redact_text(base)


def check_base_url(base: str, flag: str = "--url") -> None:
    """Raise InputError unless ``base`` is an http(s) URL with a host and a valid port."""
    shown = f"{flag} {_shown(base)!r}"
    if "://" not in base:
        raise InputError(f"{shown}: no scheme; write it as http://{base or 'HOST:PORT'} (or https://)")
    parts = urlsplit(base)
    if parts.scheme.lower() not in ("http", "https"):
        raise InputError(f"{shown}: unsupported scheme '{parts.scheme}://'; use http:// or https://")
    try:
        port = parts.port
    except ValueError as exc:  # "Port out of range 0-65535", "Port could not be cast to integer ..."
        raise InputError(f"{shown}: bad port ({exc}); a port is a number from 1 to 65535") from None
    if not parts.hostname:
        raise InputError(f"{shown}: no host name; expected http(s)://HOST[:PORT]")
    if port == 0:
        raise InputError(f"{shown}: port 0 is not a port a server listens on; use 1 to 65535")


def check_target(base: str, path: str, *, custom_endpoint: bool = False, flag: str = "--url") -> None:
    """Raise InputError when ``base`` + ``path`` is no usable URL, or doubles an API route.

    ``custom_endpoint``: the path came from ``--endpoint``; then only an exact doubling is refused
    (a gateway may well mount a server under a path of its own)."""
    check_base_url(base, flag)
    parts = urlsplit(_shown(base))
    base_path = parts.path.rstrip("/")
    if not base_path:
        return
    server = f"{parts.scheme}://{parts.netloc}"
    shown = f"{flag} {_shown(base)!r}"
    if base_path.endswith(path.rstrip("/")):
        raise InputError(f"{shown} already ends with the endpoint path {path}: requests would go to "
                         f"{base_path}{path}. Give the server's base URL ({server}); the endpoint path is "
                         "added to it")
    if custom_endpoint:
        return
    for route in API_PATHS:
        if base_path.endswith(route):
            raise InputError(f"{shown} ends with the API path {route}: requests would go to "
                             f"{base_path}{path}. Give the server's base URL ({server}) and choose the path "
                             "with --endpoint (or --cohere-api-version for Cohere's /v1/rerank)")


def check_targets(base: str, apis_used: Iterable, endpoint: str, api_version: str, flag: str) -> None:
    """check_target for each API a run will use (one per user class)."""
    for api in apis_used:
        check_target(base, endpoint_path(api, endpoint, api_version), custom_endpoint=bool(endpoint),
                     flag=flag)
