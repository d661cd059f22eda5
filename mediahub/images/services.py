"""Image transforms of a media: plan (parse, expand presets, check limits, name the cached output),
then serve from the ``derived/`` cache or render once in a bounded slot and store the result."""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pyvips
from django.conf import settings
from django.utils import timezone

from mediahub import errors
from mediahub.images import frames, gate, signing, urlsigning
from mediahub.images import ops as image_ops
from mediahub.images.memory import output_cache
from mediahub.images.ops import Op, OpError
from mediahub.images.pipeline import CONTENT_TYPES, EXTENSIONS, Job, Output, TransformFailed, render
from mediahub.media import storage
from mediahub.media.models import Media
from mediahub.presets.models import Preset
from mediahub.presets.selectors import PresetNotFound, find_preset

logger = logging.getLogger(__name__)

# Part of every cache key: bump it when the pipeline's output for the same ops changes.
PIPELINE_VERSION = "1"
# Source formats kept when the chain names no format; anything else becomes JPEG.
KEPT_FORMATS = {"image/jpeg": "jpeg", "image/png": "png", "image/webp": "webp", "image/avif": "avif"}
RETRY_AFTER_SECONDS = 2
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600


def invalid_op(op: str | None, message: str, code: str = "invalid_transform") -> errors.Invalid:
    """A bad transform request: 400 naming the op in ``details``."""
    return errors.Invalid({"op": op}, message, code=code)


def busy(message: str, code: str) -> errors.Unavailable:
    """No render slot (or the render ran out of time): 503 with Retry-After."""
    details = {"retry_after_seconds": RETRY_AFTER_SECONDS}
    return errors.Unavailable(message, code=code, retry_after=RETRY_AFTER_SECONDS, details=details)


@dataclass(frozen=True)
class Transform:
    media: Media
    ops: list[Op]
    format: str
    quality: int | None
    digest: str
    vary_accept: bool
    marks: dict[str, Media]

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'

    @property
    def key(self) -> str:
        return storage.derived_key(
            self.media.tenant_id, self.media.id, f"{self.digest}.{EXTENSIONS[self.format]}"
        )


@dataclass(frozen=True)
class Rendered:
    data: bytes
    content_type: str
    cached: bool


def plan(*, media: Media, ops_text: str, accept: str = "") -> Transform:
    """Validate the chain for ``media`` and name its output; nothing is decoded yet."""
    tenant = media.tenant
    limits = tenant.effective_settings["limits"]
    max_ops = settings.IMAGE_TRANSFORM_MAX_OPS
    if media.type not in (Media.Type.IMAGE, Media.Type.VIDEO):
        raise errors.Unsupported(f"A {media.type} cannot be transformed; images and videos can.")
    try:
        ops = image_ops.parse(ops_text, max_ops=max_ops)
        ops = image_ops.expand_presets(ops, lambda name: _preset_ops(tenant, name), max_ops=max_ops)
        image_ops.validate_chain(ops, is_video=media.type == Media.Type.VIDEO)
    except OpError as exc:
        raise invalid_op(exc.op, str(exc)) from exc
    cap = limits["max_transform_dimension"]
    for size in image_ops.requested_sizes(ops):
        if size > cap:
            raise errors.Invalid(
                {"max_output_dimension": cap},
                f"{size} px is above this tenant's output limit of {cap} px per side.",
                code="output_too_large",
            )
    _check_pixels(media, limits["max_image_pixels"])
    marks = {op.args[0]: _mark(media, op.args[0], limits) for op in ops if op.name == "watermark"}

    chosen = image_ops.last(ops, "format")
    fmt = chosen.args[0] if chosen else _default_format(media)
    vary_accept = fmt == "auto"
    if vary_accept:
        fmt = negotiate(accept)
    quality_op = image_ops.last(ops, "quality")
    quality = quality_op.args[0] if quality_op else None
    shaping = [op for op in ops if op.name not in ("format", "quality")]
    material = [
        PIPELINE_VERSION,
        str(media.id),
        media.sha256,
        image_ops.canonical(shaping),
        fmt,
        quality,
        sorted(mark.sha256 for mark in marks.values()),
    ]
    digest = hashlib.sha256(json.dumps(material).encode()).hexdigest()[:40]
    return Transform(media, ops, fmt, quality, digest, vary_accept, marks)


def negotiate(accept: str) -> str:
    """``format/auto``: AVIF, then WebP, then JPEG, as the client's ``Accept`` allows."""
    accepted = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    for fmt in ("avif", "webp"):
        if f"image/{fmt}" in accepted:
            return fmt
    return "jpeg"


def _default_format(media: Media) -> str:
    if media.type == Media.Type.VIDEO:
        return "jpeg"
    return KEPT_FORMATS.get(media.content_type, "jpeg")


def _check_pixels(media: Media, max_pixels: int) -> None:
    if media.width and media.height and media.width * media.height > max_pixels:
        raise errors.TooLarge(
            f"The source has {media.width}x{media.height} pixels; the limit is {max_pixels}.",
            code="image_too_large",
            details={"max_image_pixels": max_pixels},
        )


def _mark(media: Media, mark_id: str, limits: dict) -> Media:
    mark = Media.objects.for_tenant(media.tenant).filter(id=mark_id, type=Media.Type.IMAGE).first()
    if mark is None:
        raise invalid_op("watermark", f"The watermark {mark_id} is not an image of yours.")
    _check_pixels(mark, limits["max_image_pixels"])
    return mark


def _preset_ops(tenant, name: str) -> str:
    try:
        return find_preset(tenant=tenant, name_or_id=name, kind=Preset.Kind.IMAGE).ops
    except PresetNotFound as exc:
        raise OpError("preset", str(exc)) from exc


def render_transform(transform: Transform) -> Rendered:
    """The output from the cache, else rendered now (in a bounded slot) and stored."""
    memory = output_cache()
    data = memory.get(transform.key)
    if data is None:
        if gate.render_gate().saturated():
            # Shed load before the storage round trip: under a flood, answering the refused cheaply
            # is what keeps threads free (hits still come from this process's memory).
            raise busy("Too many transforms are running; try again shortly.", "transforms_busy")
        data = storage.get_store().read_bytes_if_exists(transform.key)
        if data is not None:
            memory.put(transform.key, data)
    if data is not None:
        return Rendered(data, CONTENT_TYPES[transform.format], cached=True)
    try:
        with gate.render_slot():
            output = _render(transform)
    except gate.Saturated as exc:
        raise busy("Too many transforms are running; try again shortly.", "transforms_busy") from exc
    storage.get_store().put_bytes(transform.key, output.data, output.content_type)
    output_cache().put(transform.key, output.data)
    return Rendered(output.data, output.content_type, cached=False)


def _render(transform: Transform) -> Output:
    media = transform.media
    timeout = settings.IMAGE_TRANSFORM_TIMEOUT_SECONDS
    started = time.monotonic()
    if media.type == Media.Type.VIDEO:
        open_source = _frame_source(media, transform.ops[0].args[0], timeout)
    else:
        open_source = _stored_source(media.original_key)
    job = Job(
        ops=transform.ops,
        format=transform.format,
        quality=transform.quality,
        max_side=media.tenant.effective_settings["limits"]["max_transform_dimension"],
        timeout=max(0.1, timeout - (time.monotonic() - started)),
        open_mark=lambda mark_id: _stored_source(transform.marks[mark_id].original_key),
    )
    try:
        return render(open_source, job)
    except TransformFailed as exc:
        if exc.code == "transform_timeout":
            raise busy(str(exc), exc.code) from exc
        if exc.code == "undecodable_image":
            raise errors.Unsupported(str(exc), code=exc.code) from exc
        raise errors.Invalid(exc.details, str(exc), code=exc.code) from exc


def _stored_source(key: str) -> Callable[[], pyvips.Source]:
    """The stored object as a libvips source, read in one request. (Streaming it through a custom
    source measured slower: libvips pulls 4 KB at a time through a Python callback.)"""

    def open_source() -> pyvips.Source:
        data = storage.get_store().read_bytes_if_exists(key)
        if data is None:
            raise errors.NotFound("The media's original is missing from storage.")
        return pyvips.Source.new_from_memory(data)

    return open_source


def _frame_source(media: Media, seconds: float, timeout: float) -> Callable[[], pyvips.Source]:
    """The frame at ``seconds`` as PNG, cached under ``derived/`` so other sizes reuse it."""
    store = storage.get_store()
    key = storage.derived_key(media.tenant_id, media.id, f"frame-{round(seconds * 1000)}ms.png")
    data = store.read_bytes_if_exists(key)
    if data is None:
        with tempfile.TemporaryDirectory(dir=settings.FILE_UPLOAD_TEMP_DIR) as folder:
            source = Path(folder) / "source"
            store.download_file(media.original_key, source)
            try:
                data = frames.extract_frame(source, seconds, media.probe, timeout)
            except frames.FrameFailed as exc:
                raise invalid_op("frame", str(exc)) from exc
        store.put_bytes(key, data, "image/png")
    return lambda: pyvips.Source.new_from_memory(data)


# --- signed URLs ---


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime | None


def signed_url(*, media: Media, ops_text: str, expires_in: int | None, base_url: str) -> SignedUrl:
    plan(media=media, ops_text=ops_text)  # refuse now what the URL would refuse later
    key = signing.current_key(media.tenant)
    expires_at = timezone.now() + timedelta(seconds=expires_in) if expires_in else None
    expires = int(expires_at.timestamp()) if expires_at else 0
    path = urlsigning.sign_path(key.id, signing.key_secret(key), media.id, ops_text, expires)
    return SignedUrl(f"{base_url}{path}", expires_at)


@dataclass(frozen=True)
class SignedTransform:
    transform: Transform
    expires: int


def resolve_signed(*, key_id: str, sig: str, token: str, accept: str) -> SignedTransform:
    """The transform a signed URL names, or 403 (tampered, expired, unknown key) / 404 (no such
    media of the key's tenant)."""
    key = signing.find_key(key_id) if urlsigning.well_formed(key_id) else None
    if key is None:
        raise errors.Forbidden("The link is invalid or has expired.")
    try:
        request = urlsigning.verify(signing.key_secret(key), key.id, sig, token)
    except urlsigning.BadSignature as exc:
        raise errors.Forbidden("The link is invalid or has expired.") from exc
    except urlsigning.Expired as exc:
        raise errors.Forbidden("The link has expired.", code="link_expired") from exc
    media = Media.objects.for_tenant(key.tenant).filter(id=request.media_id).select_related("tenant").first()
    if media is None:
        raise errors.NotFound()
    return SignedTransform(plan(media=media, ops_text=request.ops, accept=accept), request.expires)
