"""One webhook HTTP request: connect to a checked address, no redirects, bounded time and body."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from http.client import HTTPException
from urllib.parse import SplitResult

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

from mediahub.webhooks.targets import TargetRefused, check_url, resolve

# Bytes of the receiver's answer kept in the delivery log.
RESPONSE_BODY_LIMIT = 1024


@dataclass(frozen=True)
class Outcome:
    response_status: int | None
    response_body: str
    duration_ms: int
    error: str

    @property
    def succeeded(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300 and not self.error


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    response_limit: int = RESPONSE_BODY_LIMIT,
) -> Outcome:
    """POST ``body`` to ``url`` and read the first ``response_limit`` bytes of the answer, all
    within ``timeout`` seconds.

    Every failure (refused target, network error, timeout) becomes an Outcome, never an exception.
    """
    started = time.monotonic()
    deadline = started + timeout

    def outcome(status: int | None = None, response_body: str = "", error: str = "") -> Outcome:
        if time.monotonic() >= deadline:
            status, response_body, error = None, "", f"Timed out after {timeout:g} s."
        return Outcome(status, response_body, int((time.monotonic() - started) * 1000), error)

    try:
        parts = check_url(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = resolve(parts.hostname, port)
    except TargetRefused as exc:
        return outcome(error=f"Refused: {exc}")

    error = ""
    for address in addresses:
        try:
            return outcome(*_post_to(address, port, parts, body, headers, deadline, response_limit))
        except urllib3.exceptions.NewConnectionError as exc:  # refused or unreachable: next address
            error = f"Could not connect: {exc}"
        except (urllib3.exceptions.HTTPError, HTTPException, OSError) as exc:
            return outcome(error=f"Request failed: {exc}")
    return outcome(error=error)


def _post_to(
    address: str,
    port: int,
    parts: SplitResult,
    body: bytes,
    headers: dict[str, str],
    deadline: float,
    response_limit: int,
) -> tuple[int, str]:
    """POST to exactly ``address``; Host, SNI and the certificate check keep the URL's host name."""
    remaining = max(deadline - time.monotonic(), 0.001)
    if parts.scheme == "https":
        conn = HTTPSConnection(
            address, port, timeout=remaining, server_hostname=parts.hostname, cert_reqs="CERT_REQUIRED"
        )
    else:
        conn = HTTPConnection(address, port, timeout=remaining)
    # Socket timeouts bound each read, not the exchange: a receiver trickling its answer byte by byte
    # is cut off at the deadline.
    watchdog = threading.Timer(remaining, _cut_off, [conn])
    watchdog.start()
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request(
            "POST", path, body=body, headers={**headers, "Host": parts.netloc}, preload_content=False
        )
        response = conn.getresponse()
        return response.status, response.read(response_limit).decode("utf-8", errors="replace")
    finally:
        watchdog.cancel()
        conn.close()


def _cut_off(conn: HTTPConnection) -> None:
    """Wake the thread blocked on this connection (plain socket shutdown, under TLS too)."""
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
