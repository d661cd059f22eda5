"""A real HTTP webhook receiver on loopback, for the webhook tests and the benchmark."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    # The receiver stalls until ``Receiver.release`` (a hanging or slow receiver).
    hang: bool = False


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float  # time.time()


class Receiver:
    """Answers each POST with the next scripted ``Reply`` (then ``default``) and records it."""

    def __init__(self, default: Reply | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.default = default or Reply()
        self.script: list[Reply] = []
        self.requests: list[ReceivedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.released = threading.Event()
        self.scheme = "http" if tls is None else "https"
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/hook"

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def release(self) -> None:
        """Let every stalled request answer."""
        self.released.set()

    def _next_reply(self) -> Reply:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.requests.append(ReceivedRequest(self.path, headers, body, time.time()))
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                try:
                    reply = receiver._next_reply()
                    if reply.hang:
                        receiver.released.wait(timeout=60)
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up (timeout): that is what the test looks at
                finally:
                    with receiver._lock:
                        receiver.in_flight -= 1

            do_GET = do_POST  # noqa: N815 - a redirected POST arrives as a GET

            def log_message(self, format: str, *args) -> None:
                pass

        return Handler
