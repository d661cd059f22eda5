"""Opaque, expiring file URLs for the local-file storage default (no S3): downloads, HLS segments
and direct-upload PUTs go through here, the way presigned URLs go to S3.

What is served is typed by the detected content type carried in the token (never by the name),
with ``nosniff`` and ``Content-Security-Policy: sandbox``: a file that a browser would render can
neither run script nor reach mediahub's origin."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mediahub.api.errors import error_response
from mediahub.media.storage import load_local_url_token

CHUNK_BYTES = 1024 * 1024


@csrf_exempt
@require_http_methods(["GET", "HEAD", "PUT"])
def local_file(request: HttpRequest, token: str, name: str) -> HttpResponse:
    # ``name`` only gives the URL the object's extension (players check it); the token decides.
    method = "PUT" if request.method == "PUT" else "GET"
    claims = load_local_url_token(token, method)
    if claims is None or not hasattr(default_storage, "path"):
        return _fenced(error_response("forbidden", "The link is invalid or has expired.", 403))
    path = Path(default_storage.path(claims["k"]))
    if method == "PUT":
        return _receive(request, path, claims["s"])
    if not path.is_file():
        return error_response("not_found", "Not found.", 404)
    download_name = claims.get("d")
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 - FileResponse closes it once streamed
        as_attachment=bool(download_name),
        filename=download_name or "",
        content_type=claims.get("c") or "application/octet-stream",
    )
    return _fenced(response)


def _fenced(response: HttpResponse) -> HttpResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


def _receive(request: HttpRequest, path: Path, max_bytes: int) -> HttpResponse:
    """Stream the request body to ``path`` (never more than the upload announced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    received = 0
    with open(partial, "wb") as fh:
        while chunk := request.read(CHUNK_BYTES):
            received += len(chunk)
            if received > max_bytes:
                fh.close()
                partial.unlink()
                return error_response("file_too_large", f"The upload is limited to {max_bytes} bytes.", 413)
            fh.write(chunk)
    os.replace(partial, path)
    return JsonResponse({"size_bytes": received}, status=200)
