"""Application errors: what services, selectors and task types raise when a request cannot be met.

They know nothing of HTTP or of the worker. ``mediahub.api.errors.exception_handler`` turns them
into API.md's error shape and a status (one table, ``HTTP_STATUS`` there); the task engine turns
them into failures (``Unavailable`` and ``RateLimited`` are retried, the others fail at once).
Low level on purpose: ``tenants``, ``tasks`` and every media domain may import it.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """``code`` is the stable machine word of API.md's ``error.code``; ``message`` is for humans;
    ``details`` is structured (e.g. ``{"field": ["problem"]}`` for invalid input);
    ``retry_after`` (seconds) says when trying again may succeed. A subclass names its default
    code in its bases: ``class Gone(ApplicationError, code="gone")``."""

    default_code = "error"
    default_message = "The request could not be completed."

    def __init_subclass__(cls, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.default_code = code

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ):
        self.code = code or self.default_code
        self.message = message or self.default_message
        self.details = details or {}
        self.retry_after = retry_after
        super().__init__(self.message)


class Invalid(ApplicationError, code="invalid_input"):
    """Bad input. ``details`` maps each bad field (dotted for nested ones) to its problems."""

    def __init__(self, details: dict[str, Any], message: str | None = None, *, code: str | None = None):
        super().__init__(message or f"Invalid input: {', '.join(details)}.", code=code, details=details)


class Forbidden(ApplicationError, code="forbidden"):
    """A credential that does not grant this (a tampered or expired signed link)."""


class NotFound(ApplicationError, code="not_found"):
    default_message = "Not found."


class Gone(ApplicationError, code="gone"):
    """It existed once and cannot be had any more (e.g. an event past its retention)."""


class Conflict(ApplicationError, code="conflict"):
    """The object's current state does not allow the operation (e.g. cancelling a completed task)."""


class TooLarge(ApplicationError, code="too_large"):
    """Past a size limit (of a file, an image's pixels, a request body)."""


class Unsupported(ApplicationError, code="unsupported_media_type"):
    """Content of a kind this deployment cannot handle."""


class RequestTimeout(ApplicationError, code="request_timeout"):
    """The client sent its request too slowly (``mediahub.gunicorn_worker``)."""


class RateLimited(ApplicationError, code="rate_limited"):
    """Too many requests or tasks for now: worth retrying later."""


class Unavailable(ApplicationError, code="dependency_unavailable"):
    """A dependency (storage, broker, database) is briefly away: worth retrying later."""
