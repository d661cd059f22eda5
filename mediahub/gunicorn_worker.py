"""The gunicorn worker class of the API (``worker_class`` in ``gunicorn_conf``): gthread, plus two
things gunicorn does not do by itself.

**Slow clients do not hold threads.** gthread hands a connection to a thread as soon as it is
readable, and the thread then blocks until the whole request has trickled in: twenty clients sending
one byte every few seconds would hold every thread of the API. Here a thread reads only what has
already arrived (non-blocking) and gives the connection back to the event loop until the request
line, headers and a body of up to ``READ_AHEAD_BYTES`` are complete, so waiting costs a socket, not
a thread. A request must be complete within ``SLOW_REQUEST_TIMEOUT_SECONDS``; a larger body (a
file upload) is then read by the application, but must keep ``SLOW_BODY_MIN_BYTES_PER_SECOND`` on
average and never stall for longer than ``SLOW_REQUEST_TIMEOUT_SECONDS``. Either failure is a
``408`` in API.md's error shape. (Behind a buffering proxy such as nginx none of this triggers.)

**gunicorn's own errors are JSON.** Requests gunicorn refuses before Django sees them (a header
over ``limit_request_field_size``, a NUL in a header, a malformed request line) get API.md's error
shape instead of gunicorn's HTML page.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import socket
import time

from gunicorn import util
from gunicorn.workers import gthread

from mediahub.errors import RequestTimeout

SLOW_REQUEST_TIMEOUT_SECONDS = float(os.environ.get("SLOW_REQUEST_TIMEOUT_SECONDS", "20"))
SLOW_BODY_MIN_BYTES_PER_SECOND = int(os.environ.get("SLOW_BODY_MIN_BYTES_PER_SECOND", "8192"))
# Bodies up to this size are buffered before a thread runs the request (API JSON, small forms).
READ_AHEAD_BYTES = int(os.environ.get("REQUEST_READ_AHEAD_BYTES", str(1024 * 1024)))
# How long a thread waits for a request's first bytes, and then for each further piece.
FIRST_BYTES_WAIT = 0.2
NEXT_BYTES_WAIT = 0.01
# Request line and headers beyond this are gunicorn's to refuse (its limits are smaller).
HEAD_LIMIT = 64 * 1024

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.I)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.I)
_EXPECT_CONTINUE = re.compile(rb"\r\nexpect:[ \t]*100-continue", re.I)

_CODES = {
    400: "bad_request",
    403: "forbidden",
    408: "request_timeout",
    413: "request_too_large",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "request_header_fields_too_large",
    500: "internal_error",
    501: "not_implemented",
}


def json_error(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP response with API.md's error shape."""
    body = json.dumps(
        {"error": {"code": _CODES.get(status, "bad_request"), "message": message or reason, "details": {}}}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for ``gunicorn.util.write_error`` (which writes an HTML page)."""
    util.write_nonblock(sock, json_error(status_int, reason, mesg))


class PacedSocket(socket.socket):
    """A client socket that serves bytes read ahead first, and paces blocking reads while a
    request is being read (``arm``): ``RequestTimeout`` on a stall or a too slow average."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.buffered = bytearray()
        self.waiting_since: float | None = None  # the current request's first read-ahead
        self.armed_at: float | None = None
        self.received = 0

    @classmethod
    def adopt(cls, sock: socket.socket) -> PacedSocket:
        return cls(sock.family, sock.type, sock.proto, fileno=sock.detach())

    # --- read-ahead (non-blocking, in a thread for a moment) ---

    def read_ahead(self) -> bool:
        """Read what has arrived; True once the request is complete enough to run.

        It waits in the thread only briefly: for the first bytes of a request (``FIRST_BYTES_WAIT``,
        as data usually follows a connection at once) and for the rest of a request cut in pieces
        (``NEXT_BYTES_WAIT``). A client slower than that is left to the event loop."""
        if self.waiting_since is None:
            self.waiting_since = time.monotonic()
        blocking = self.getblocking()
        self.setblocking(False)
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self, selectors.EVENT_READ)
                while True:
                    wait = NEXT_BYTES_WAIT if self.buffered else FIRST_BYTES_WAIT
                    if not selector.select(wait):
                        return False
                    try:
                        data = super().recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    if not data:
                        return True  # the client closed: let the parser see it
                    self.buffered += data
                    if self._complete():
                        return True
        finally:
            self.setblocking(blocking)

    def _complete(self) -> bool:
        head_end = self.buffered.find(b"\r\n\r\n")
        if head_end < 0:
            return len(self.buffered) >= HEAD_LIMIT
        head = bytes(self.buffered[:head_end])
        body = len(self.buffered) - head_end - 4
        if _EXPECT_CONTINUE.search(head):
            return True  # the client waits for our "100 Continue" before sending the body
        if _CHUNKED.search(head):
            return body >= READ_AHEAD_BYTES or b"\r\n0\r\n" in self.buffered[head_end:]
        length = _CONTENT_LENGTH.search(head)
        needed = int(length.group(1)) if length else 0
        return body >= min(needed, READ_AHEAD_BYTES)

    def overdue(self) -> bool:
        return (
            self.waiting_since is not None
            and time.monotonic() - self.waiting_since > SLOW_REQUEST_TIMEOUT_SECONDS
        )

    # --- paced blocking reads (the rest of a large body) ---

    def arm(self) -> None:
        self.armed_at, self.received = time.monotonic(), 0

    def disarm(self) -> None:
        self.armed_at = self.waiting_since = None

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self.buffered:
            data = bytes(self.buffered[:size])
            del self.buffered[:size]
            return data
        if self.armed_at is None:
            return super().recv(size, flags)
        caller_timeout = self.gettimeout()  # gunicorn bounds its own drains this way
        allowance = (
            self.armed_at
            + SLOW_REQUEST_TIMEOUT_SECONDS
            + self.received / SLOW_BODY_MIN_BYTES_PER_SECOND
            - time.monotonic()
        )
        wait = min(SLOW_REQUEST_TIMEOUT_SECONDS, allowance)
        if caller_timeout is not None and caller_timeout < wait:
            return super().recv(size, flags)
        if wait <= 0:
            raise RequestTimeout("The request body arrived too slowly.")
        self.settimeout(wait)
        try:
            data = super().recv(size, flags)
        except TimeoutError:
            raise RequestTimeout("The request body arrived too slowly.") from None
        finally:
            self.settimeout(caller_timeout)
        self.received += len(data)
        return data


class _PacedListener:
    """A listening socket whose accepted connections are ``PacedSocket``s."""

    def __init__(self, listener):
        self.listener = listener

    def accept(self):
        sock, address = self.listener.accept()
        return PacedSocket.adopt(sock), address

    def __getattr__(self, name):
        return getattr(self.listener, name)


class ApiWorker(gthread.ThreadWorker):
    def init_process(self) -> None:
        # gunicorn's error responses (bad request line, header too large, NUL in a header...) are
        # written by this one function; in this worker they are JSON.
        util.write_error = write_json_error
        super().init_process()

    def accept(self, listener) -> None:
        super().accept(_PacedListener(listener))

    def handle(self, conn):
        sock = conn.sock
        if not isinstance(sock, PacedSocket) or conn.is_http2 or self.cfg.is_ssl:
            return super().handle(conn)
        pipelined = conn.parser is not None and conn.parser.unreader.buf.getvalue()
        if not pipelined and not sock.read_ahead():
            if sock.overdue():
                self.log.info("Request from %s too slow: closed with 408", conn.client)
                write_json_error(sock, 408, "Request Timeout", "The request arrived too slowly.")
                return False
            return gthread._DEFER  # back to the event loop until more arrives; no thread waits
        conn.data_ready = True
        sock.arm()
        try:
            return super().handle(conn)
        finally:
            sock.disarm()

    def handle_request(self, req, conn):
        try:
            return super().handle_request(req, conn)
        finally:
            if isinstance(conn.sock, PacedSocket):
                conn.sock.disarm()  # gunicorn's own drain of an unread body bounds itself

    def handle_error(self, req, client, addr, exc) -> None:
        if isinstance(exc, RequestTimeout):
            self.log.info("Request from %s too slow: %s", addr, exc)
            write_json_error(client, 408, "Request Timeout", exc.message)
            return
        super().handle_error(req, client, addr, exc)
