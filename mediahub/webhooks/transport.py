"""One webhook HTTP request: connect to a checked address, no redirects, bounded time and body."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import SplitResult

import urllib3

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


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """POST ``body`` to ``url``; every failure (refused target, network, timeout) becomes an Outcome."""
    started = time.monotonic()

    def outcome(status: int | None = None, response_body: str = "", error: str = "") -> Outcome:
        duration_ms = int((time.monotonic() - started) * 1000)
        if not error and duration_ms > timeout * 1000:
            error = f"Timed out: the answer took longer than {timeout:g} s."
        return Outcome(status, response_body, duration_ms, error)

    try:
        parts = check_url(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = resolve(parts.hostname, port)
    except TargetRefused as exc:
        return outcome(error=f"Refused: {exc}")

    error = f"Timed out after {timeout:g} s."
    for address in addresses:
        remaining = timeout - (time.monotonic() - started)
        if remaining <= 0:
            break
        try:
            return outcome(*_post_to(address, port, parts, body, headers, remaining))
        except urllib3.exceptions.NewConnectionError as exc:  # refused or unreachable: next address
            error = f"Could not connect: {exc}"
        except urllib3.exceptions.TimeoutError:
            return outcome(error=f"Timed out after {timeout:g} s.")
        except urllib3.exceptions.HTTPError as exc:
            return outcome(error=f"Request failed: {exc}")
    return outcome(error=error)


def _post_to(
    address: str, port: int, parts: SplitResult, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int, str]:
    """POST to exactly ``address``; Host, SNI and the certificate check keep the URL's host name."""
    options = {"port": port, "timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, server_hostname=parts.hostname, cert_reqs="CERT_REQUIRED", **options
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, **options)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with pool:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={**headers, "Host": parts.netloc},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            return response.status, response.read(RESPONSE_BODY_LIMIT).decode("utf-8", errors="replace")
        finally:
            response.release_conn()
