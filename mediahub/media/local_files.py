"""Signed, expiring file URLs for the local-file storage default (no S3): downloads, HLS segments
and direct-upload PUTs go through here, the way presigned URLs go to S3."""

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
        return error_response("forbidden", "The link is invalid or has expired.", 403)
    path = Path(default_storage.path(claims["k"]))
    if method == "PUT":
        return _receive(request, path, claims["s"])
    if not path.is_file():
        return error_response("not_found", "Not found.", 404)
    download_name = claims.get("d")
    return FileResponse(open(path, "rb"), as_attachment=bool(download_name), filename=download_name or "")


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
