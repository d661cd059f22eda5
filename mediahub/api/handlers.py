"""JSON replacements for Django's HTML error pages (requests that never reach a DRF view)."""

import sys

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse

from mediahub.api.errors import (
    database_unavailable,
    error_response,
    http_status,
    internal_error_body,
    request_too_large,
)


def bad_request(request: HttpRequest, exception=None) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):  # a form body over DATA_UPLOAD_MAX_MEMORY_SIZE
        too_large = request_too_large()
        return error_response(too_large.code, too_large.message, http_status(too_large))
    return error_response("bad_request", "The request could not be understood.", 400)


def permission_denied(request: HttpRequest, exception=None) -> JsonResponse:
    return error_response("forbidden", "You do not have permission to do this.", 403)


def page_not_found(request: HttpRequest, exception=None) -> JsonResponse:
    return error_response("not_found", "Not found.", 404)


def server_error(request: HttpRequest) -> JsonResponse:
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):  # outside a DRF view
        unavailable = database_unavailable()
        response = error_response(unavailable.code, unavailable.message, 503, unavailable.details)
        response["Retry-After"] = f"{unavailable.retry_after:.0f}"
        return response
    return JsonResponse(internal_error_body(getattr(request, "request_id", None)), status=500)
