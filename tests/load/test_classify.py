"""Client-side failures map to stable, named error kinds."""

import socket
import ssl

import gevent
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError

from rankperf_data.apis.errors import ErrorKind
from rankperf_data.load.failures import classify


def test_failures_have_named_kinds():
    assert classify(gevent.Timeout(1))[0] == ErrorKind.TIMEOUT
    assert classify(TimeoutError())[0] == ErrorKind.TIMEOUT
    assert classify(ConnectionRefusedError(111, "Connection refused")) == (
        ErrorKind.CONNECTION, "ConnectionRefusedError: [Errno 111] Connection refused")
    assert classify(HTTPConnectionClosed("closed"))[0] == ErrorKind.CONNECTION
    assert classify(HTTPParseError("bad status line"))[0] == ErrorKind.INVALID_RESPONSE
    kind, message = classify(socket.gaierror(-2, "Name or service not known"))
    assert kind == ErrorKind.CONNECTION and message.startswith("cannot resolve host (DNS lookup failed)")
    kind, message = classify(ssl.SSLCertVerificationError("certificate verify failed"))
    assert kind == ErrorKind.CONNECTION and message.startswith("TLS error")
