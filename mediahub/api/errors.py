"""The one error shape of API.md: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import DataError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """Raise from a service or view for any non-validation error with its own code and status."""

    def __init__(
        self, code: str, message: str, status_code: int = 400, details: dict[str, Any] | None = None
    ):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.details = details or {}


class Conflict(ApiError):
    def __init__(self, message: str, code: str = "conflict", details: dict[str, Any] | None = None):
        super().__init__(code, message, status.HTTP_409_CONFLICT, details)


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


def request_too_large() -> ApiError:
    return ApiError(
        "request_too_large", "The request body is too large.", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    )


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
        exc = ApiError("malformed_request", str(exc) or "The request could not be parsed.", 400)
    elif isinstance(exc, DataError):
        # PostgreSQL refused a value that passed validation (a time zone offset past ±15:59, a number
        # past its column): the input's fault, but logged in full in case it was ours.
        logger.warning("database refused a value: %s", exc, exc_info=exc)
        exc = ApiError("invalid_input", "A value in the request is out of range.", 400)

    response = drf_exception_handler(exc, context)
    if response is None:
        request_id = getattr(context.get("request"), "request_id", None)
        logger.exception(
            "unhandled error in %s (request %s)", context["view"].__class__.__name__, request_id, exc_info=exc
        )
        return Response(internal_error_body(request_id), status=status.HTTP_500_INTERNAL_SERVER_ERROR)

    if isinstance(exc, ApiError):
        body = error_body(exc.error_code, str(exc.detail), exc.details)
    elif isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        fields = ", ".join(details)
        body = error_body("invalid_input", f"Invalid input: {fields}.", details)
    else:
        code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        details = {"retry_after_seconds": exc.wait} if isinstance(exc, exceptions.Throttled) else None
        body = error_body(code, message, details)
    response.data = body
    return response
