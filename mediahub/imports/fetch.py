"""Streaming a URL to a file through the outbound-address guard: https only in production, every
address (redirects included) checked at connect time, a size cap by the type the first bytes show,
and one deadline for the whole download."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

import urllib3

from mediahub import outbound
from mediahub.media.inspection import SNIFF_BYTES, sniff
from mediahub.media.uploads import limit_for
from tasks.context import TaskContext
from tasks.errors import PermanentError, TransientError

CHUNK_BYTES = 1024 * 1024
USER_AGENT = "mediahub-import/1"


@dataclass(frozen=True)
class Fetched:
    sha256: str
    size_bytes: int
    content_type: str


def fetch(
    ctx: TaskContext, url: str, path: Path, limits: dict[str, int], *, timeout: float, redirects: int
) -> Fetched:
    """Download ``url`` to ``path``. Every failure is a ``PermanentError`` (or ``TransientError``
    for what may pass: a 5xx, a dropped connection) with a message fit for the media's ``error``."""
    started = time.monotonic()
    try:
        with outbound.open_url(
            "GET", url, timeout=timeout, max_redirects=redirects, headers={"User-Agent": USER_AGENT}
        ) as response:
            _check_status(response.status)
            length = _content_length(response.headers.get("content-length"))
            if length is not None and length > max(limits.values()):
                raise PermanentError(
                    f"The file is {length} bytes; the limit is {max(limits.values())} bytes."
                )
            return _stream(ctx, response, path, limits, length, started, timeout)
    except outbound.OutboundRefused as exc:
        raise PermanentError(f"The URL was refused: {exc}") from exc
    except (urllib3.exceptions.HTTPError, HTTPException, OSError) as exc:
        if time.monotonic() - started >= timeout:
            raise PermanentError(f"The download took longer than {timeout:g} s.") from exc
        raise TransientError(f"The download failed: {exc}") from exc


def _check_status(status: int) -> None:
    if status in (301, 302, 303, 307, 308):
        raise PermanentError("The URL redirects too many times.")
    if status == 429 or status >= 500:
        raise TransientError(f"The server answered {status}.")
    if status != 200:
        raise PermanentError(f"The server answered {status}.")


def _content_length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _stream(
    ctx: TaskContext,
    response,
    path: Path,
    limits: dict[str, int],
    length: int | None,
    started: float,
    timeout: float,
) -> Fetched:
    digest, size, limit = hashlib.sha256(), 0, None
    with open(path, "wb") as out:
        # read1 returns what has arrived (up to a chunk), so a trickling server meets the deadline.
        while chunk := response.read1(CHUNK_BYTES):
            if limit is None:
                limit = limit_for(sniff(chunk[:SNIFF_BYTES]), limits)
            size += len(chunk)
            if size > limit:
                raise PermanentError(f"The file is larger than the limit of {limit} bytes.")
            # The guard's watchdog shuts the socket at the deadline, but Linux still hands over bytes
            # that keep trickling in after a shutdown: check the clock as well.
            if time.monotonic() - started > timeout:
                raise PermanentError(f"The download took longer than {timeout:g} s.")
            digest.update(chunk)
            out.write(chunk)
            if length:
                ctx.set_progress(min(99.0, 100.0 * size / length))
            else:
                ctx.check_cancelled()
    if size == 0:
        raise PermanentError("The URL answered with an empty body.")
    return Fetched(digest.hexdigest(), size, response.headers.get("content-type", ""))
