"""Streaming multipart uploads: to a temporary file, hashed on the way, stopped at the size limit."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from mediahub.media.inspection import SNIFF_BYTES, MediaTooLarge, sniff

# Room for the multipart boundaries and the small form fields around the file.
FORM_OVERHEAD_BYTES = 1024 * 1024
MAX_FILENAME_LENGTH = 200


class HashingUploadHandler(FileUploadHandler):
    """Streams each uploaded file to a temporary file, computing its sha256 as it goes.

    It answers 413 as soon as the upload passes the tenant's limit for the type its first bytes
    show (the largest limit when they show nothing known), so an oversized file is never read to the
    end; a request whose declared length already exceeds every limit is refused before reading.
    ``upload_limits`` is called lazily because the tenant is known only after authentication.
    """

    def __init__(self, upload_limits: Callable[[], dict[str, int]]):
        super().__init__()
        self._upload_limits = upload_limits

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        largest = max(self._upload_limits().values())
        if content_length and content_length > largest + FORM_OVERHEAD_BYTES:
            raise _too_large(largest)
        return None

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.file = TemporaryUploadedFile(
            self.file_name,  # type: ignore[arg-type]
            self.content_type,
            0,
            self.charset,
            self.content_type_extra,
        )
        self.digest = hashlib.sha256()
        self.received = 0
        self.limit: int | None = None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self.limit is None:
            self.limit = limit_for(sniff(raw_data[:SNIFF_BYTES]), self._upload_limits())
        self.received += len(raw_data)
        if self.received > self.limit:
            self.file.close()  # deletes the temporary file
            raise _too_large(self.limit)
        self.digest.update(raw_data)
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> TemporaryUploadedFile:
        self.file.seek(0)
        self.file.size = file_size
        self.file.sha256 = self.digest.hexdigest()  # type: ignore[attr-defined]
        return self.file


def limit_for(kind: str | None, limits: dict[str, int]) -> int:
    """The size limit of a sniffed kind; audio/video containers get the larger of both limits."""
    if kind == "av":
        return max(limits["video"], limits["audio"])
    return limits.get(kind, max(limits.values()))  # type: ignore[arg-type]


def _too_large(limit: int) -> MediaTooLarge:
    return MediaTooLarge(
        "file_too_large", f"The file exceeds the upload limit of {limit} bytes.", {"limit_bytes": limit}
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


_UNSAFE = re.compile(r"[^\w.\- ()+,@=]+")


def safe_filename(name: str) -> str:
    """A name safe to show and to use as the last part of a storage key: no directories, no
    control characters, no leading dots, at most 200 characters with the extension kept."""
    name = unicodedata.normalize("NFKC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    name = _UNSAFE.sub("_", name).strip(" .")
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:16] if dot else ""
        name = (stem if dot else name)[: MAX_FILENAME_LENGTH - len(ext) - 1] + (f".{ext}" if ext else "")
    return name or "file"
