"""One webhook HTTP request: to a checked address (``mediahub.outbound``), no redirects, bounded time
and body."""

from __future__ import annotations

import time
from dataclasses import dataclass
from http.client import HTTPException

import urllib3

from mediahub.outbound import OutboundRefused, open_url

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
        with open_url("POST", url, body=body, headers=headers, timeout=timeout) as response:
            answer = response.read(response_limit).decode("utf-8", errors="replace")
            return outcome(response.status, answer)
    except OutboundRefused as exc:
        return outcome(error=f"Refused: {exc}")
    except urllib3.exceptions.NewConnectionError as exc:  # no address accepted the connection
        return outcome(error=f"Could not connect: {exc}")
    except (urllib3.exceptions.HTTPError, HTTPException, OSError) as exc:
        return outcome(error=f"Request failed: {exc}")
