"""A minimal, fast HTTP/1.1 server on asyncio.Protocol: keep-alive, pipelining, Content-Length and chunked bodies."""

from __future__ import annotations

import asyncio
import contextlib
import select
import selectors
import socket
import struct
import sys
import time
from collections.abc import Callable
from http import HTTPStatus

import orjson

MAX_HEAD = 64 * 1024  # request line + headers; more is 431
# While a response is pending, stop reading once this much unparsed input has piled up.
PAUSE_AT = 4 * 1024 * 1024
# After a closing response, keep reading (and discarding) this long so the client sees the response, not an RST.
LINGER_S = 2.0


class Request:
    """One parsed request. `error` is set (status, reason) when the framing itself was bad or too large."""

    __slots__ = ("method", "path", "query", "headers", "body", "keep_alive", "error", "received")

    def __init__(self, method: str, path: str, query: str, headers: dict[bytes, bytes], body: bytes,
                 keep_alive: bool, error: tuple[int, str] | None = None) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers  # lower-case name -> raw value
        self.body = body
        self.keep_alive = keep_alive
        self.error = error
        self.received = 0.0  # loop time at which the server noticed the complete request


class Response:
    """A complete response. `headers` holds extra pre-formatted lines, each ending in CRLF."""

    __slots__ = ("status", "body", "content_type", "headers")

    def __init__(self, status: int, body: bytes = b"", content_type: bytes | None = None,
                 headers: bytes = b"") -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers


class HttpError(Exception):
    """An error answer raised from deep inside request parsing. `reason` labels it for metrics
    (TEI's te_request_failure `err`), or is None for framework-level rejections."""

    def __init__(self, response: Response, reason: str | None = None) -> None:
        super().__init__(reason or str(response.status))
        self.response = response
        self.reason = reason


def is_json_content_type(value: bytes | None) -> bool:
    """application/json or application/*+json, with any parameters (what axum's Json extractor accepts)."""
    if value == b"application/json":  # the usual case, without the parsing
        return True
    if not value:
        return False
    mime = value.split(b";", 1)[0].strip().lower()
    return mime == b"application/json" or (mime.startswith(b"application/") and mime.endswith(b"+json"))


# A handler may return this instead of a response: the connection is reset (RST), nothing is sent.
ABORT = object()

Handler = Callable[[Request], "Response | asyncio.Future[Response] | object"]

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"


def json_body(req: Request, bad_request: Callable[[str], Response],
              not_json: str = "Request body is not valid JSON") -> object:
    """The decoded body; a 400 from ``bad_request`` when it is not declared as JSON or is not JSON."""
    if not is_json_content_type(req.headers.get(b"content-type")):
        raise HttpError(bad_request("Content-Type must be application/json"))
    try:
        return orjson.loads(req.body)
    except orjson.JSONDecodeError as e:
        raise HttpError(bad_request(f"{not_json}: {e}")) from None


def _status_line(code: int) -> bytes:
    try:
        reason = HTTPStatus(code).phrase
    except ValueError:
        reason = "Unknown"
    return f"HTTP/1.1 {code} {reason}\r\n".encode()


_STATUS = {code: _status_line(code) for code in range(100, 600)}


def encode_response(resp: Response, keep_alive: bool) -> bytes:
    """The bytes on the wire for `resp`."""
    parts = [_STATUS.get(resp.status) or _status_line(resp.status)]
    if resp.content_type is not None:
        parts.append(b"content-type: " + resp.content_type + b"\r\n")
    parts.append(b"content-length: %d\r\n" % len(resp.body))
    parts.append(resp.headers)
    parts.append(b"connection: keep-alive\r\n\r\n" if keep_alive else b"connection: close\r\n\r\n")
    parts.append(resp.body)
    return b"".join(parts)


class _BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _parse_head(head: bytes) -> tuple[str, str, str, dict[bytes, bytes], bool]:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
        raise _BadRequest(400, "Invalid request line")
    method, target, version = parts
    if version == b"HTTP/1.1":
        keep_alive = True
    elif version == b"HTTP/1.0":
        keep_alive = False
    else:
        raise _BadRequest(400 if not version.startswith(b"HTTP/") else 505, "Unsupported HTTP version")
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():  # also refuses obsolete line folding
            raise _BadRequest(400, "Invalid header line")
        name = name.lower()
        value = value.strip()
        if name in headers:
            if name == b"content-length" and headers[name] != value:
                raise _BadRequest(400, "Conflicting Content-Length")
            value = headers[name] + b", " + value
        headers[name] = value
    conn = headers.get(b"connection")
    if conn is not None:
        tokens = conn.lower()
        if b"close" in tokens:
            keep_alive = False
        elif b"keep-alive" in tokens:
            keep_alive = True
    try:
        text = target.decode("ascii")
    except UnicodeDecodeError:
        raise _BadRequest(400, "Invalid request target") from None
    path, _, query = text.partition("?")
    return method.decode("ascii"), path, query, headers, keep_alive


TLS_HANDSHAKE = 0x16  # the first byte of a TLS record carrying a ClientHello


def _not_http(data: bytes, pos: int) -> str | None:
    """Why the incomplete head at ``pos`` can never become an HTTP request, or None if it still may:
    a method is letters, so anything else before the first space (a TLS ClientHello) is refused."""
    method = data[pos:pos + 16].lstrip(b"\r\n").split(b" ", 1)[0]
    if not method or method.isalpha():
        return None
    if data[pos] == TLS_HANDSHAKE:
        return "TLS handshake on a plain-HTTP port: this server speaks http://, not https://"
    return "Invalid request line"


def _body_length(headers: dict[bytes, bytes]) -> int:
    """Content-Length, or -1 for chunked."""
    te = headers.get(b"transfer-encoding")
    cl = headers.get(b"content-length")
    if te is not None:
        if cl is not None:
            raise _BadRequest(400, "Both Content-Length and Transfer-Encoding")
        if te.lower() != b"chunked":
            raise _BadRequest(501, "Unsupported Transfer-Encoding")
        return -1
    if cl is None:
        return 0
    if not cl.isdigit():
        raise _BadRequest(400, "Invalid Content-Length")
    return int(cl)


def _read_chunked(data: bytes, pos: int, limit: int) -> tuple[bytes, int] | None:
    """(body, position after it) once the whole chunked body starting at `pos` is in `data`, else None."""
    parts = []
    size_total = 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            if len(data) - pos > 1024:
                raise _BadRequest(400, "Invalid chunk header")
            return None
        try:
            size = int(data[pos:eol].split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _BadRequest(400, "Invalid chunk size") from None
        pos = eol + 2
        if size == 0:
            # Trailer lines (ignored) end with an empty line.
            end = data.find(b"\r\n", pos)
            while end > pos:
                pos = end + 2
                end = data.find(b"\r\n", pos)
            if end < 0:
                return None
            return b"".join(parts), end + 2
        size_total += size
        if size_total > limit:
            raise _BadRequest(413, "Payload too large")
        if len(data) < pos + size + 2:
            return None
        parts.append(data[pos:pos + size])
        pos += size
        if data[pos:pos + 2] != b"\r\n":
            raise _BadRequest(400, "Invalid chunk terminator")
        pos += 2


class HttpProtocol(asyncio.Protocol):
    """One connection. Requests are answered strictly in order; later pipelined ones wait in the buffer."""

    __slots__ = ("_server", "_transport", "_buf", "_need", "_head", "_pending", "_pending_keep", "_paused",
                 "_write_blocked", "_closing", "_draining", "_linger_timer", "_skip", "_continued", "_received")

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()  # received bytes not parsed yet
        self._need = 0  # parse again once the buffer holds this much (the body of a parsed head)
        # Parsed head of a request whose body is still arriving: (method, path, query, headers, keep, length).
        self._head: tuple | None = None
        self._pending: asyncio.Future | None = None
        self._pending_keep = False
        self._paused = False  # reading paused: too much unparsed input, or the client doesn't read
        self._write_blocked = False  # the transport's write buffer is above its high-water mark
        self._closing = False  # no further requests are read
        self._draining = False  # response sent, FIN sent, discarding input until the client closes
        self._linger_timer: asyncio.TimerHandle | None = None
        self._skip = 0  # body bytes of a rejected (413) request still to discard
        self._continued = False
        self._received = 0.0  # when the input being parsed was noticed (see HttpServer.clock)

    # -- asyncio callbacks --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Nagle + delayed ACK would add ~40 ms to small responses on reused connections.
            with contextlib.suppress(OSError):  # not TCP (e.g. a Unix socket)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._server.connections.add(self)
        self._server.opened += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._server.connections.discard(self)
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()  # tells the app the client went away
        self._pending = None

    def data_received(self, data: bytes) -> None:
        if self._draining:
            return
        if self._skip:
            if len(data) <= self._skip:
                self._skip -= len(data)
                return
            data = data[self._skip:]
            self._skip = 0
        buf = self._buf
        if buf or self._pending is not None:
            buf += data
            if self._pending is not None:
                if len(buf) > PAUSE_AT:
                    self._pause()
                return
            if len(buf) < self._need:
                return  # the rest of a body is still on its way
            data = bytes(buf)
            buf.clear()
        self._process(data)

    def eof_received(self) -> bool:
        # Like hyper (TEI's server) without half-close support: EOF means the client is gone, and a
        # pending answer is dropped. Returning False closes the transport.
        return False

    def pause_writing(self) -> None:
        self._write_blocked = True
        self._pause()

    def resume_writing(self) -> None:
        self._write_blocked = False
        self._resume()

    def _pause(self) -> None:
        if not self._paused:
            self._paused = True
            self._transport.pause_reading()

    def _resume(self) -> None:
        """Read again, unless an answer is still pending or the client isn't reading its answers."""
        if self._paused and self._pending is None and not self._write_blocked and not self._closing:
            self._paused = False
            self._transport.resume_reading()

    # -- parsing -------------------------------------------------------------------------------------
    def _process(self, data: bytes) -> None:
        """Dispatch every complete request in `data`, in order; keep the rest for later. Works on offsets
        into the received bytes: a request that arrives in one read is never copied except for its body."""
        limit = self._server.payload_limit
        pos, n = 0, len(data)
        self._need = 0
        self._received = self._server.clock()
        while not self._closing and self._pending is None:
            if self._head is None:
                if pos >= n:
                    break
                end = data.find(b"\r\n\r\n", pos)
                if end < 0 or end - pos > MAX_HEAD:
                    if n - pos > MAX_HEAD:
                        return self._reject(431, "Request header fields too large")
                    if data.startswith(b"\r\n", pos):  # stray CRLF between requests is allowed
                        pos += 2
                        continue
                    refused = _not_http(data, pos)
                    if refused:  # answer now, as real servers do, rather than wait for a CRLF never sent
                        return self._reject(400, refused)
                    break
                try:
                    method, path, query, headers, keep = _parse_head(data[pos:end])
                    length = _body_length(headers)
                except _BadRequest as e:
                    return self._reject(e.status, e.reason)
                pos = end + 4
                self._continued = False
                if length > limit:
                    pos = self._too_large(data, pos, Request(method, path, query, headers, b"", keep,
                                                             (413, "Payload too large")), length)
                    continue
                self._head = (method, path, query, headers, keep, length)
            method, path, query, headers, keep, length = self._head
            if length >= 0:
                if n - pos < length:
                    self._need = length
                    self._maybe_continue(headers)
                    break
                body = data[pos:pos + length]
                pos += length
            else:
                try:
                    got = _read_chunked(data, pos, limit)
                except _BadRequest as e:
                    self._head = None
                    if e.status == 413:  # no Content-Length to skip by: answer and close
                        return self._dispatch(Request(method, path, query, headers, b"", False, (413, e.reason)))
                    return self._reject(e.status, e.reason)
                if got is None:
                    self._maybe_continue(headers)
                    break
                body, pos = got
            self._head = None
            self._dispatch(Request(method, path, query, headers, body, keep))
        if pos < n and not self._closing:
            self._buf += memoryview(data)[pos:]

    def _maybe_continue(self, headers: dict[bytes, bytes]) -> None:
        if not self._continued and headers.get(b"expect", b"").lower() == b"100-continue":
            self._continued = True
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _too_large(self, data: bytes, pos: int, req: Request, length: int) -> int:
        """413 right away, before the body; discard the body as it arrives, or close if the client waits
        for 100-continue (it may then never send the body). Returns the position after the body."""
        if req.headers.get(b"expect", b"").lower() == b"100-continue":
            req.keep_alive = False
        else:
            have = min(len(data) - pos, length)
            pos += have
            self._skip = length - have
        self._dispatch(req)
        return pos

    def _reject(self, status: int, reason: str) -> None:
        """Unparseable framing: answer through the app (for counting), then close."""
        self._head = None
        self._dispatch(Request("", "", "", {}, b"", False, (status, reason)))

    # -- dispatch --------------------------------------------------------------------------------------
    def _dispatch(self, req: Request) -> None:
        req.received = self._received
        result = self._server.handler(req)
        if isinstance(result, Response):
            self._send(result, req.keep_alive)
        elif result is ABORT:
            self._abort()
        else:  # a future: the answer comes later; keep later requests in the buffer meanwhile
            self._pending = result
            self._pending_keep = req.keep_alive
            result.add_done_callback(self._finish)

    def _finish(self, fut: asyncio.Future) -> None:
        if fut.cancelled() or self._closing:
            return
        self._pending = None
        result = fut.result()
        if result is ABORT:
            self._abort()
            return
        self._send(result, self._pending_keep)
        if self._closing:
            return
        self._resume()
        if len(self._buf) >= max(self._need, 1):
            data = bytes(self._buf)
            self._buf.clear()
            self._process(data)

    def _send(self, resp: Response, keep_alive: bool) -> None:
        if self._closing:
            return
        self._transport.write(encode_response(resp, keep_alive))
        if not keep_alive:
            self._linger()

    def _linger(self) -> None:
        """Half-close after the response and drain input, so unread request bytes don't turn into an RST
        that would destroy the response before the client reads it."""
        self._closing = self._draining = True
        self._buf.clear()
        if self._paused:
            self._paused = False
            self._transport.resume_reading()
        if self._transport.can_write_eof():
            self._transport.write_eof()
        else:
            self._transport.close()
            return
        self._linger_timer = asyncio.get_running_loop().call_later(LINGER_S, self._transport.close)

    def _abort(self) -> None:
        """Close with RST (SO_LINGER 0) and no response."""
        self._closing = True
        sock = self._transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._transport.abort()

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._closing = True
            self._transport.close()


class HttpServer:
    """Owns the listening socket and the open connections."""

    def __init__(self, handler: Handler, payload_limit: int, clock: Callable[[], float] | None = None) -> None:
        self.handler = handler
        self.payload_limit = payload_limit
        # When the current input was noticed, in loop time (see arrival_clock); default: now.
        self.clock = clock or time.monotonic
        self.connections: set[HttpProtocol] = set()
        self.opened = 0
        self._server: asyncio.base_events.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the bound port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: HttpProtocol(self), host, port,
                                                backlog=4096, reuse_address=True)
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close()
        if self._server is not None:
            await self._server.wait_closed()


class PreciseEpollSelector(selectors.EpollSelector):
    """epoll whose timed waits end within microseconds of the deadline, not up to 1 ms late.

    epoll_wait takes whole milliseconds, so asyncio timers fire up to 1 ms late. A timed wait here
    first waits on the epoll fd itself with select(), which takes microseconds. With `spin_s`, the
    last `spin_s` before a deadline is busy-polled instead, so a waking (virtual) CPU's latency is
    paid before the deadline rather than after it.
    """

    def __init__(self, spin_s: float = 0.0) -> None:
        super().__init__()
        self._spin = spin_s
        self.woke = time.monotonic()  # when the last wait returned: input it reported arrived by then

    def select(self, timeout: float | None = None):  # type: ignore[override]
        ready = self._wait(timeout)
        self.woke = time.monotonic()
        return ready

    def _wait(self, timeout: float | None):
        if timeout is None or timeout <= 0:
            return super().select(timeout)
        fd = self._selector.fileno()
        if fd >= 1024:  # beyond select()'s FD_SETSIZE; the epoll fd is created early, so never in practice
            return super().select(timeout)
        deadline = time.monotonic() + timeout
        wait = timeout - self._spin
        if wait > 0:
            select.select([fd], [], [], wait)
        ready = super().select(0)
        while not ready and time.monotonic() < deadline:
            ready = super().select(0)
        return ready


def arrival_clock(loop: asyncio.AbstractEventLoop) -> Callable[[], float]:
    """A clock telling when the input being handled arrived, in `loop.time()` units.

    With the precise selector that is the moment its last wait returned, so requests that arrive
    together are stamped together, however long the ones handled first take; otherwise it is now.
    """
    selector = getattr(loop, "_selector", None)  # asyncio's SelectorEventLoop keeps it there
    if isinstance(selector, PreciseEpollSelector):
        return lambda: selector.woke
    return loop.time


def new_event_loop(precise_timers: bool, spin_s: float = 0.0) -> asyncio.AbstractEventLoop:
    """Precise timers need the epoll shim (busy-polling the last `spin_s` before each deadline);
    otherwise uvloop when it is installed (its timers are millisecond-grained), else asyncio's loop."""
    if precise_timers and hasattr(selectors, "EpollSelector") and sys.platform.startswith("linux"):
        return asyncio.SelectorEventLoop(PreciseEpollSelector(spin_s))
    try:
        import uvloop  # optional
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
