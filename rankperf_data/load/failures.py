"""Map a client-side failure (no usable HTTP response) to a named error kind and a message."""

from __future__ import annotations

import socket
import ssl

import gevent
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError

from rankperf_data.results.outcomes import ErrorKind

# What the HTTP parser says when the socket ends inside a message: these are cuts, not bad HTTP.
_BODY_CUT = "Incomplete response"
_HEADERS_CUT = "Invalid EOF state"


class ClosedEarly(ConnectionError):
    """The server closed the connection before the whole response body arrived."""

    def __init__(self, received: int, expected: int | None) -> None:
        self.received = received
        self.expected = expected
        if expected is None:
            detail = f"{received} body bytes of an undeclared length"
        else:
            detail = f"{received} of {expected} body bytes"
        super().__init__(f"connection closed early ({detail})")


def _parse_error_text(exc: HTTPParseError) -> str:
    return str(exc.args[0]) if exc.args else ""


def is_cut_short(exc: BaseException) -> bool:
    """True when the HTTP parser failed only because the connection ended mid-message."""
    return isinstance(exc, HTTPParseError) and _parse_error_text(exc).startswith((_BODY_CUT, _HEADERS_CUT))


def read_body(response) -> bytes:
    """The whole body of ``response``; a connection closed before its end raises ClosedEarly."""
    try:
        return response.read()
    except HTTPParseError as exc:
        if not is_cut_short(exc):
            raise
        # the client has let the socket go; what arrived before the close is still buffered
        received = len(response.read())
        raise ClosedEarly(received, response.content_length) from exc


# OpenSSL's reasons when the answer to a ClientHello is not TLS at all (a plain-HTTP server's 400)
_NOT_TLS_REASONS = frozenset(("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                              "UNKNOWN_PROTOCOL", "HTTP_REQUEST"))
TLS_HANDSHAKE_TIMEOUT = ("TLS error: no TLS handshake answer within --connect-timeout-seconds (a plain-HTTP "
                         "server on an https:// URL?)")
CONNECT_TIMEOUT = "no connection within --connect-timeout-seconds"


def _handshake_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) and "handshake" in str(exc)


def server_speaks_no_tls(exc: BaseException) -> bool:
    """True when an https:// request failed because the server does not speak TLS there: it answered
    the handshake with something else (a plain-HTTP server's 400), or not at all. Every request to
    that address will fail the same way; a bad certificate is not this."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False
    if isinstance(exc, ssl.SSLError):
        return getattr(exc, "reason", None) in _NOT_TLS_REASONS
    return _handshake_timeout(exc)


def classify(exc: BaseException) -> tuple[ErrorKind, str]:
    if _handshake_timeout(exc):
        return ErrorKind.CONNECTION, TLS_HANDSHAKE_TIMEOUT
    if isinstance(exc, TimeoutError) and str(exc) == "timed out":
        # a socket's own timer: only the connect timeout is shorter than the request's deadline
        return ErrorKind.TIMEOUT, CONNECT_TIMEOUT
    if isinstance(exc, (gevent.Timeout, socket.timeout, TimeoutError)):
        return ErrorKind.TIMEOUT, "no complete response within the request timeout"
    if isinstance(exc, ClosedEarly):
        return ErrorKind.CONNECTION, str(exc)
    if is_cut_short(exc):
        where = "the headers" if _parse_error_text(exc).startswith(_HEADERS_CUT) else "the body"
        return ErrorKind.CONNECTION, f"connection closed early (before the end of {where})"
    if isinstance(exc, HTTPParseError) and not isinstance(exc, HTTPConnectionClosed):
        return ErrorKind.INVALID_RESPONSE, f"malformed HTTP response: {exc}"
    if isinstance(exc, ssl.SSLError):
        return ErrorKind.CONNECTION, f"TLS error: {exc}"
    if isinstance(exc, socket.gaierror):
        return ErrorKind.CONNECTION, f"cannot resolve host (DNS lookup failed): {exc}"
    if isinstance(exc, UnicodeError):  # the resolver's IDNA step rejects malformed host names
        return ErrorKind.CONNECTION, f"cannot resolve host (invalid host name): {exc}"
    return ErrorKind.CONNECTION, f"{type(exc).__name__}: {exc}"
