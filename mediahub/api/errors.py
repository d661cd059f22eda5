"""The one error shape of API.md: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from mediahub import errors

logger = logging.getLogger(__name__)


# The one place application errors meet HTTP.
HTTP_STATUS: dict[type[errors.ApplicationError], int] = {
    errors.Invalid: status.HTTP_400_BAD_REQUEST,
    errors.Forbidden: status.HTTP_403_FORBIDDEN,
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.Gone: status.HTTP_410_GONE,
    errors.Conflict: status.HTTP_409_CONFLICT,
    errors.TooLarge: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    errors.Unsupported: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    errors.RequestTimeout: status.HTTP_408_REQUEST_TIMEOUT,
    errors.RateLimited: status.HTTP_429_TOO_MANY_REQUESTS,
    errors.Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def http_status(exc: errors.ApplicationError) -> int:
    return next((code for cls, code in HTTP_STATUS.items() if isinstance(exc, cls)), 400)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(code: str, message: str, status_code: int, details=None) -> JsonResponse:
    """For plain Django views and handlers outside DRF."""
    return JsonResponse(error_body(code, message, details), status=status_code)


def internal_error_body(request_id: str | None) -> dict[str, Any]:
    """The 500 body: no internals, but the request id that finds the logged traceback."""
    return error_body(
        "internal_error", "An unexpected error occurred; it has been logged.", {"request_id": request_id}
    )


def database_unavailable() -> errors.Unavailable:
    """The database is away (a restart, a failover): the client may retry, nothing is broken."""
    return errors.Unavailable(
        "The database is unavailable; retry shortly.", details={"down": ["database"]}, retry_after=5
    )


def request_too_large() -> errors.TooLarge:
    return errors.TooLarge("The request body is too large.", code="request_too_large")


_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "unauthenticated",
    exceptions.NotAuthenticated: "unauthenticated",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "invalid_input",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = request_too_large()
    elif isinstance(exc, SuspiciousOperation):  # too many fields or files: still the client's input
        message = str(exc) or "The request could not be parsed."
        exc = errors.ApplicationError(message, code="malformed_request")
    elif isinstance(exc, OperationalError | InterfaceError):
        exc = database_unavailable()
    elif isinstance(exc, DataError):
        # PostgreSQL refused a value that passed validation (a time zone offset past ±15:59, a number
        # past its column): the input's fault, but logged in full in case it was ours.
        logger.warning("database refused a value: %s", exc, exc_info=exc)
        exc = errors.ApplicationError("A value in the request is out of range.", code="invalid_input")
    if isinstance(exc, errors.ApplicationError):
        set_rollback()
        headers = {"Retry-After": f"{exc.retry_after:.0f}"} if exc.retry_after else None
        return Response(error_body(exc.code, exc.message, exc.details), http_status(exc), headers=headers)

    response = drf_exception_handler(exc, context)
    if response is None:
        request_id = getattr(context.get("request"), "request_id", None)
        logger.exception(
            "unhandled error in %s (request %s)", context["view"].__class__.__name__, request_id, exc_info=exc
        )
        return Response(internal_error_body(request_id), status=status.HTTP_500_INTERNAL_SERVER_ERROR)

    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        fields = ", ".join(details)
        body = error_body("invalid_input", f"Invalid input: {fields}.", details)
    else:
        code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)  # type: ignore[attr-defined]
        details = {"retry_after_seconds": exc.wait} if isinstance(exc, exceptions.Throttled) else None  # type: ignore[assignment, attr-defined]
        body = error_body(code, message, details)
    response.data = body
    return response
