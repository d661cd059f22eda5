"""The outbound-address guard: every HTTP request mediahub makes to a URL a tenant chose goes
through here (webhooks today; URL imports and the ``http`` plugin next).

Without it a tenant could make our workers call internal services or the cloud metadata endpoint.
``check_url`` gives early feedback when a URL is saved; what actually protects us is ``open_url``:
it resolves the host, checks every address, and connects to exactly a checked address (a DNS answer
that changed since the save is caught too). Redirects, when a caller allows them, are checked the
same way before they are followed.

An address is public only if it is globally routable and every IPv4 address embedded in it
(IPv4-mapped and -compatible IPv6, NAT64, 6to4, Teredo) is public as well: ``64:ff9b::a9fe:a9fe`` is
the metadata service through a NAT64 gateway.

``OUTBOUND_ALLOW_PRIVATE_TARGETS`` (old name ``WEBHOOKS_ALLOW_PRIVATE_TARGETS``) lifts the rules
(plain http, private and loopback addresses) for development and tests.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import SplitResult, urljoin, urlsplit

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.response import BaseHTTPResponse

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix: IPv4 in the last 32 bits
# RFC 8215 local-use NAT64: the operator picks where the IPv4 sits, and it never leaves its network.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # RFC 2765 SIIT
_REDIRECTS = (301, 302, 303, 307, 308)


class OutboundRefused(Exception):
    """The URL or one of the addresses it resolves to is not an allowed destination."""


def private_targets_allowed() -> bool:
    return settings.OUTBOUND_ALLOW_PRIVATE_TARGETS


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (and would reach through a translator)."""
    if ip.ipv4_mapped:
        return [ip.ipv4_mapped]
    if ip.sixtofour:
        return [ip.sixtofour]
    if ip.teredo:
        return list(ip.teredo)  # server and (de-obfuscated) client
    value = int(ip)
    if value >> 32 == 0 or ip in _NAT64 or ip in _IPV4_TRANSLATED:  # ::a.b.c.d (IPv4-compatible)
        return [ipaddress.IPv4Address(value & 0xFFFFFFFF)]
    return []


def is_public_address(address: str | IPAddress) -> bool:
    """False for private, loopback, link-local (metadata), shared, reserved and multicast ranges,
    and for IPv6 addresses that embed such an IPv4 address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return False
        embedded = embedded_ipv4(ip)
        if embedded:
            return all(is_public_address(v4) for v4 in embedded)
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> SplitResult:
    """The parsed URL if it may be a destination; ``OutboundRefused`` saying why otherwise.

    Host names are only resolved (and checked) at connect time, by ``resolve``."""
    parts = urlsplit(url)
    allowed_schemes = ("https", "http") if private_targets_allowed() else ("https",)
    if parts.scheme not in allowed_schemes:
        raise OutboundRefused("The URL must use https.")
    if not parts.hostname:
        raise OutboundRefused("The URL needs a host name.")
    if parts.username or parts.password:
        raise OutboundRefused("The URL must not contain credentials.")
    try:
        parts.port  # noqa: B018 - raises ValueError for an invalid port
    except ValueError as exc:
        raise OutboundRefused("The URL has an invalid port.") from exc
    host = parts.hostname
    if not private_targets_allowed() and _is_ip_literal(host) and not is_public_address(host):
        raise OutboundRefused("The URL points to a private, loopback or link-local address.")
    return parts


def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host`` to connect to, in resolver order, every one having passed the check."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundRefused(f"Could not resolve {host}: {exc.strerror}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not private_targets_allowed():
        refused = [a for a in addresses if not is_public_address(a)]
        if refused:
            raise OutboundRefused(f"{host} resolves to a non-public address ({', '.join(refused)}).")
    return addresses


@contextlib.contextmanager
def open_url(
    method: str,
    url: str,
    *,
    timeout: float,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    max_redirects: int = 0,
) -> Iterator[BaseHTTPResponse]:
    """Send one request to a checked address of ``url`` and yield the unread response.

    The whole exchange, reading the body inside the ``with`` block included, is cut off after
    ``timeout`` seconds (socket timeouts alone bound each read, not a peer trickling bytes). Up to
    ``max_redirects`` redirects are followed, each target checked like the first; a redirect beyond
    that is yielded as is. Raises ``OutboundRefused`` for a refused URL or address, urllib3/OSError
    errors for network failures.
    """
    deadline = time.monotonic() + timeout
    for _ in range(max_redirects + 1):
        with _exchange(method, url, body, headers or {}, deadline) as response:
            location = response.headers.get("location")
            if response.status not in _REDIRECTS or not location or max_redirects == 0:
                yield response
                return
        max_redirects -= 1
        url = urljoin(url, location)
        if response.status == 303 or (response.status in (301, 302) and method == "POST"):
            method, body = "GET", None


@contextlib.contextmanager
def _exchange(
    method: str, url: str, body: bytes | None, headers: dict[str, str], deadline: float
) -> Iterator[BaseHTTPResponse]:
    parts = check_url(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(parts.hostname, port)
    last_error: Exception | None = None
    for address in addresses:
        conn = _connection(address, port, parts, deadline)
        watchdog = threading.Timer(max(deadline - time.monotonic(), 0.001), _cut_off, [conn])
        watchdog.start()
        try:
            try:
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                conn.request(
                    method, path, body=body, headers={**headers, "Host": parts.netloc}, preload_content=False
                )
            except urllib3.exceptions.NewConnectionError as exc:  # refused or unreachable: next address
                last_error = exc
                continue
            yield conn.getresponse()
            return
        finally:
            watchdog.cancel()
            conn.close()
    assert last_error is not None
    raise last_error


def _connection(address: str, port: int, parts: SplitResult, deadline: float) -> HTTPConnection:
    """A connection to exactly ``address``; Host, SNI and the certificate check keep the URL's name."""
    remaining = max(deadline - time.monotonic(), 0.001)
    if parts.scheme == "https":
        return HTTPSConnection(
            address, port, timeout=remaining, server_hostname=parts.hostname, cert_reqs="CERT_REQUIRED"
        )
    return HTTPConnection(address, port, timeout=remaining)


def _cut_off(conn: HTTPConnection) -> None:
    """Wake the thread blocked on this connection (plain socket shutdown, under TLS too)."""
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
