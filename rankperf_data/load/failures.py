"""Map a client-side failure (no usable HTTP response) to a named error kind and a message."""

from __future__ import annotations

import socket
import ssl

import gevent
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError

from rankperf_data.apis.errors import ErrorKind


def classify(exc: BaseException) -> tuple[ErrorKind, str]:
    if isinstance(exc, (gevent.Timeout, socket.timeout, TimeoutError)):
        return ErrorKind.TIMEOUT, "no complete response within the request timeout"
    if isinstance(exc, HTTPParseError) and not isinstance(exc, HTTPConnectionClosed):
        return ErrorKind.INVALID_RESPONSE, f"malformed HTTP response: {exc}"
    if isinstance(exc, ssl.SSLError):
        return ErrorKind.CONNECTION, f"TLS error: {exc}"
    if isinstance(exc, socket.gaierror):
        return ErrorKind.CONNECTION, f"cannot resolve host (DNS lookup failed): {exc}"
    if isinstance(exc, UnicodeError):  # the resolver's IDNA step rejects malformed host names
        return ErrorKind.CONNECTION, f"cannot resolve host (invalid host name): {exc}"
    return ErrorKind.CONNECTION, f"{type(exc).__name__}: {exc}"
