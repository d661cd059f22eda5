"""Where deliveries may go.

Webhook URLs are chosen by tenants, so without these rules a tenant could make our workers call
internal services or the cloud metadata endpoint. URLs are checked when an endpoint is saved (early
feedback) and, what actually protects us, every resolved address is checked again at send time,
right before connecting to exactly that address (a DNS answer that changed since is caught too).
``WEBHOOKS_ALLOW_PRIVATE_TARGETS`` lifts the rules for development and tests.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from django.conf import settings


class TargetRefused(Exception):
    """The URL or one of the addresses it resolves to is not an allowed destination."""


def private_targets_allowed() -> bool:
    return settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS


def is_public_address(address: str) -> bool:
    """False for private, loopback, link-local (metadata), shared, reserved and multicast ranges."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> SplitResult:
    """The parsed URL if it may be an endpoint; ``TargetRefused`` saying why otherwise."""
    parts = urlsplit(url)
    allowed_schemes = ("https", "http") if private_targets_allowed() else ("https",)
    if parts.scheme not in allowed_schemes:
        raise TargetRefused("The URL must use https.")
    if not parts.hostname:
        raise TargetRefused("The URL needs a host name.")
    if parts.username or parts.password:
        raise TargetRefused("The URL must not contain credentials.")
    try:
        parts.port  # noqa: B018 - raises ValueError for an invalid port
    except ValueError as exc:
        raise TargetRefused("The URL has an invalid port.") from exc
    host = parts.hostname
    if not private_targets_allowed() and _is_ip_literal(host) and not is_public_address(host):
        raise TargetRefused("The URL points to a private, loopback or link-local address.")
    return parts


def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host`` to connect to, in resolver order, every one having passed the check."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f"Could not resolve {host}: {exc.strerror}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not private_targets_allowed():
        refused = [a for a in addresses if not is_public_address(a)]
        if refused:
            raise TargetRefused(f"{host} resolves to a non-public address ({', '.join(refused)}).")
    return addresses


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
