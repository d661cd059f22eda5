"""Opaque, expiring file URLs for the local-file storage default (no S3): downloads, HLS segments
and direct-upload PUTs go through here, the way presigned URLs go to S3.

What is served is typed by the detected content type carried in the token (never by the name),
with ``nosniff`` and ``Content-Security-Policy: sandbox``: a file that a browser would render can
neither run script nor reach mediahub's origin."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mediahub.api.errors import error_response
from mediahub.errors import RequestTimeout
from mediahub.media.models import DirectUpload
from mediahub.media.playback import with_playback_cors
from mediahub.media.storage import content_type_for, load_local_url_token

CHUNK_BYTES = 1024 * 1024
# One range per request, as players and download managers send (multipart/byteranges is not served).
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@csrf_exempt
@require_http_methods(["GET", "HEAD", "PUT", "OPTIONS"])
def local_file(request: HttpRequest, token: str, name: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return with_playback_cors(request, HttpResponse(status=204), preflight=True)
    # ``name`` only gives the URL the object's extension (players check it); the token decides.
    method = "PUT" if request.method == "PUT" else "GET"
    claims = load_local_url_token(token, method)
    if claims is None or not hasattr(default_storage, "path"):
        refused = error_response("forbidden", "The link is invalid or has expired.", 403)
        return with_playback_cors(request, _fenced(refused))
    path = Path(default_storage.path(claims["k"]))
    if method == "PUT":
        if not DirectUpload.objects.filter(
            key=claims["k"], completed_at__isnull=True, expires_at__gt=timezone.now()
        ).exists():  # single use: the upload was completed (or abandoned)
            refused = error_response("forbidden", "The link is invalid or has expired.", 403)
            return with_playback_cors(request, _fenced(refused))
        return with_playback_cors(request, _receive(request, path, claims["s"]))
    if not path.is_file():
        return with_playback_cors(request, _fenced(error_response("not_found", "Not found.", 404)))
    response = _serve(request, path, claims.get("d"), claims.get("c"))
    return with_playback_cors(request, _fenced(response))


def _serve(
    request: HttpRequest, path: Path, download_name: str | None, content_type: str | None
) -> HttpResponse:
    """The file, or the one byte range asked for (players seek in MP4s and fMP4 this way), typed
    by the detected type in the token, else as one of mediahub's own outputs by its extension
    (``mimetypes`` calls ``.ts`` a Qt Linguist file)."""
    size = path.stat().st_size
    requested = _RANGE.match(request.headers.get("Range", "").replace(" ", ""))
    if requested is None:
        response = FileResponse(
            open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
            as_attachment=bool(download_name),
            filename=download_name or "",
        )
    else:
        span = _byte_span(requested, size)
        if span is None:
            refused = error_response("range_not_satisfiable", "The range is outside the file.", 416)
            refused["Content-Range"] = f"bytes */{size}"
            return refused
        start, end = span
        response = StreamingHttpResponse(_read_span(path, start, end), status=206)  # type: ignore[assignment]
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
        if download_name:
            response["Content-Disposition"] = content_disposition_header(True, download_name)  # type: ignore[assignment]
    response["Content-Type"] = content_type or content_type_for(path.name) or "application/octet-stream"
    response["Accept-Ranges"] = "bytes"
    return response  # type: ignore[return-value]


def _byte_span(requested: re.Match, size: int) -> tuple[int, int] | None:
    first, last = requested.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        return (size - length, size - 1) if 0 < length <= size else ((0, size - 1) if length else None)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end and start < size else None


def _read_span(path: Path, start: int, end: int) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        fh.seek(start)
        left = end - start + 1
        while left > 0 and (chunk := fh.read(min(CHUNK_BYTES, left))):
            left -= len(chunk)
            yield chunk


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
        try:
            while chunk := request.read(CHUNK_BYTES):
                received += len(chunk)
                if received > max_bytes:
                    fh.close()
                    partial.unlink()
                    return error_response(
                        "file_too_large", f"The upload is limited to {max_bytes} bytes.", 413
                    )
                fh.write(chunk)
        except RequestTimeout as exc:
            fh.close()
            partial.unlink()
            return error_response(exc.code, exc.message, 408)
    os.replace(partial, path)
    return JsonResponse({"size_bytes": received}, status=200)
