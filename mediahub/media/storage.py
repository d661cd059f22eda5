"""Object storage for media: keys under the tenant's prefix, streamed transfers, expiring URLs.

Everything goes through Django's default storage. On S3 (django-storages) large objects travel as
multipart transfers from and to disk through the storage's own boto3 client, and reads are presigned
URLs. The local-file default (``make run`` without S3) hands out opaque (encrypted), short-lived URLs
served by mediahub itself (``mediahub.media.local_files``), so playback and direct uploads work the same way.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage

from mediahub import crypto

MB = 1024**2
# S3 allows at most 10,000 parts of at least 5 MB each; direct uploads use parts of 16 MB or more.
DIRECT_UPLOAD_MIN_PART = 16 * MB
MULTIPART_MAX_PARTS = 10_000
# Direct uploads above this size get multipart part URLs instead of one PUT URL.
DIRECT_MULTIPART_THRESHOLD = 64 * MB
# Server-side transfers: each of the threads buffers one part, so memory stays near 4 × 8 MB
# whatever the file size (8 MB parts reach S3's 10,000-part limit at 80 GB).
TRANSFER_CONFIG = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB, max_concurrency=4)
LOCAL_URL_PURPOSE = "mediahub.media.local-file"
# Types of the objects mediahub writes itself. Python's ``mimetypes`` guesses wrong for some
# (``.ts`` is a Qt Linguist file there), and browsers honour ``nosniff``.
CONTENT_TYPES = {
    "m3u8": "application/vnd.apple.mpegurl",
    "ts": "video/mp2t",
    "m4s": "video/iso.segment",
    "mp4": "video/mp4",
    "vtt": "text/vtt",
    "jpg": "image/jpeg",
    "json": "application/json",
}


def content_type_for(name: str) -> str:
    """The Content-Type of an object mediahub wrote, by its extension ('' when not one of ours)."""
    return CONTENT_TYPES.get(name.rsplit(".", 1)[-1].lower(), "") if "." in name else ""


def tenant_prefix(tenant_id: Any) -> str:
    return f"tenants/{tenant_id}/"


def media_prefix(tenant_id: Any, media_id: Any) -> str:
    return f"{tenant_prefix(tenant_id)}media/{media_id}/"


def original_key(tenant_id: Any, media_id: Any, safe_name: str) -> str:
    return f"{media_prefix(tenant_id, media_id)}original/{safe_name}"


def upload_staging_key(tenant_id: Any, upload_id: Any, safe_name: str) -> str:
    """Where a single-PUT direct upload lands; completing it moves the object to the original's key,
    so its presigned URL can no longer reach a stored media."""
    return f"{tenant_prefix(tenant_id)}uploads/{upload_id}/{safe_name}"


def hls_prefix(tenant_id: Any, media_id: Any) -> str:
    return f"{media_prefix(tenant_id, media_id)}hls/"


def poster_key(tenant_id: Any, media_id: Any) -> str:
    return f"{media_prefix(tenant_id, media_id)}poster.jpg"


def derived_key(tenant_id: Any, media_id: Any, name: str) -> str:
    """Outputs made from the media (image transforms, video frames); deleted with the media."""
    return f"{media_prefix(tenant_id, media_id)}derived/{name}"


@dataclass(frozen=True)
class ObjectVersion:
    size: int
    etag: str


class ObjectChanged(Exception):
    """The object is no longer the version that was checked."""


@dataclass(frozen=True)
class PartUrl:
    part_number: int
    url: str


class ObjectStore:
    """The operations media needs from storage, over the default storage backend."""

    def __init__(self, storage):
        self.storage = storage

    def upload_file(self, path: Path, key: str, content_type: str = "") -> None:
        with open(path, "rb") as fh:
            self.storage.save(key, File(fh))

    def download_file(self, key: str, path: Path) -> None:
        with self.storage.open(key, "rb") as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 * MB)

    def read_bytes(self, key: str) -> bytes:
        with self.storage.open(key, "rb") as fh:
            return fh.read()

    def read_bytes_if_exists(self, key: str) -> bytes | None:
        """The object's bytes in one request, or None when there is no such object."""
        try:
            return Path(self.storage.path(key)).read_bytes()
        except FileNotFoundError:
            return None

    def put_bytes(self, key: str, data: bytes, content_type: str = "") -> None:
        self.storage.save(key, ContentFile(data))

    def exists(self, key: str) -> bool:
        return self.storage.exists(key)

    def size(self, key: str) -> int:
        return self.storage.size(key)

    def version(self, key: str) -> ObjectVersion:
        stat = Path(self.storage.path(key)).stat()
        return ObjectVersion(stat.st_size, f"{stat.st_size}-{stat.st_mtime_ns}")

    def download_version(self, key: str, path: Path, version: ObjectVersion) -> None:
        """Download exactly ``version`` of ``key``; ``ObjectChanged`` if it was replaced meanwhile
        (boto3's managed download takes no ``IfMatch``, so the version is checked once it is done)."""
        self.download_file(key, path)
        if self.version(key) != version:
            raise ObjectChanged(key)

    def move_version(self, src: str, dst: str, version: ObjectVersion) -> None:
        """Move exactly ``version`` of ``src`` to ``dst``; ``ObjectChanged`` if it was replaced."""
        if self.version(src) != version:
            raise ObjectChanged(src)
        target = Path(self.storage.path(dst))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.storage.path(src), target)

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(Path(self.storage.path(prefix)), ignore_errors=True)

    def delete(self, key: str) -> None:
        self.storage.delete(key)

    def url(
        self,
        key: str,
        *,
        base_url: str,
        ttl: int,
        download_name: str | None = None,
        content_type: str | None = None,
    ) -> str:
        """An expiring GET URL; ``download_name`` makes it an attachment, ``content_type`` (the
        detected type) is what it is served as, never a guess from the name."""
        claims = {"k": key, "m": "GET", "e": int(time.time()) + ttl, "d": download_name, "c": content_type}
        return _local_url(base_url, key, claims)

    def presign_put(self, key: str, *, base_url: str, ttl: int, content_type: str, size_bytes: int) -> str:
        claims = {"k": key, "m": "PUT", "e": int(time.time()) + ttl, "s": size_bytes}
        return _local_url(base_url, key, claims)

    def supports_multipart(self) -> bool:
        return False

    def configure_cors(self, origins: list[str]) -> bool:
        """Local links answer CORS themselves (``PLAYBACK_CORS_ORIGINS``); nothing to set."""
        return False


class S3ObjectStore(ObjectStore):
    def __init__(self, storage):
        super().__init__(storage)
        # django-storages keeps one boto3 resource per thread; its client is thread-safe, so upload
        # threads share this one instead of each building a session of its own.
        self.client = storage.connection.meta.client
        self.bucket = storage.bucket_name

    def upload_file(self, path: Path, key: str, content_type: str = "") -> None:
        extra = {"ContentType": content_type} if content_type else None
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra, Config=TRANSFER_CONFIG)

    def download_file(self, key: str, path: Path) -> None:
        self.client.download_file(self.bucket, key, str(path), Config=TRANSFER_CONFIG)

    def version(self, key: str) -> ObjectVersion:
        head = self.client.head_object(Bucket=self.bucket, Key=key)
        return ObjectVersion(head["ContentLength"], head["ETag"])

    def move_version(self, src: str, dst: str, version: ObjectVersion) -> None:
        # Single-PUT direct uploads only (at most DIRECT_MULTIPART_THRESHOLD bytes): one CopyObject.
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=dst,
                CopySource={"Bucket": self.bucket, "Key": src},
                CopySourceIfMatch=version.etag,
            )
        except ClientError as exc:
            if _status(exc) == 412:
                raise ObjectChanged(src) from exc
            raise
        self.client.delete_object(Bucket=self.bucket, Key=src)

    def read_bytes_if_exists(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def put_bytes(self, key: str, data: bytes, content_type: str = "") -> None:
        extra = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)

    def delete_prefix(self, prefix: str) -> None:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})

    def url(
        self,
        key: str,
        *,
        base_url: str,
        ttl: int,
        download_name: str | None = None,
        content_type: str | None = None,
    ) -> str:
        params = {"Bucket": self.bucket, "Key": key}
        if download_name:
            params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
        if content_type:
            params["ResponseContentType"] = content_type
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl)

    def presign_put(self, key: str, *, base_url: str, ttl: int, content_type: str, size_bytes: int) -> str:
        # The signed length makes S3 refuse a body of any other size.
        params = {"Bucket": self.bucket, "Key": key, "ContentLength": size_bytes}
        if content_type:
            params["ContentType"] = content_type
        return self.client.generate_presigned_url("put_object", Params=params, ExpiresIn=ttl)

    def supports_multipart(self) -> bool:
        return True

    def configure_cors(self, origins: list[str]) -> bool:
        """Let pages on ``origins`` fetch presigned links (segments for hls.js, with ranges) and PUT
        direct-upload parts (reading each part's ETag). Returns True when the bucket's rules changed."""
        rule = {
            "AllowedOrigins": origins,
            "AllowedMethods": ["GET", "HEAD", "PUT"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["Content-Length", "Content-Range", "Accept-Ranges", "ETag"],
            "MaxAgeSeconds": 86400,
        }
        try:
            current = self.client.get_bucket_cors(Bucket=self.bucket).get("CORSRules", [])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchCORSConfiguration":
                raise
            current = []
        if current == [rule]:
            return False
        self.client.put_bucket_cors(Bucket=self.bucket, CORSConfiguration={"CORSRules": [rule]})
        return True

    def start_multipart(self, key: str, content_type: str) -> str:
        extra = {"ContentType": content_type} if content_type else {}
        return self.client.create_multipart_upload(Bucket=self.bucket, Key=key, **extra)["UploadId"]

    def part_urls(self, key: str, upload_id: str, part_count: int, ttl: int) -> list[PartUrl]:
        return [
            PartUrl(
                number,
                self.client.generate_presigned_url(
                    "upload_part",
                    Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": number},
                    ExpiresIn=ttl,
                ),
            )
            for number in range(1, part_count + 1)
        ]

    def complete_multipart(self, key: str, upload_id: str, parts: list[dict[str, Any]]) -> None:
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": p["part_number"], "ETag": p["etag"]} for p in parts]},
        )

    def abort_multipart(self, key: str, upload_id: str) -> None:
        self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)


def _status(exc: ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def get_store() -> ObjectStore:
    if isinstance(default_storage, FileSystemStorage):
        return ObjectStore(default_storage)
    return S3ObjectStore(default_storage)


def part_size_for(size_bytes: int) -> int:
    """The smallest part size (a whole number of MB, at least 16 MB) within S3's part limit."""
    return max(DIRECT_UPLOAD_MIN_PART, math.ceil(size_bytes / MULTIPART_MAX_PARTS / MB) * MB)


def _local_url(base_url: str, key: str, claims: dict[str, Any]) -> str:
    # The object's own name ends the path: players such as ffmpeg accept HLS segments only by
    # their extension. The token is sealed: it shows neither the tenant nor the storage key.
    name = quote(key.rsplit("/", 1)[-1])
    return f"{base_url}/api/v1/files/{crypto.seal(claims, purpose=LOCAL_URL_PURPOSE)}/{name}"


def load_local_url_token(token: str, method: str) -> dict[str, Any] | None:
    """The claims of a local-file URL token if it is genuine, unexpired and for ``method``."""
    claims = crypto.unseal(token, purpose=LOCAL_URL_PURPOSE)
    if not isinstance(claims, dict) or claims.get("m") != method or claims.get("e", 0) < time.time():
        return None
    return claims
