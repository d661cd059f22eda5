"""Re-encoding one rendition of a ready media (``POST /media/{id}/renditions/{name}/rerun``).

The rung is encoded again with the plan its completion marker recorded (same size, bitrate, GOP and
segment type), so the master playlist, which this never rewrites, stays true and players keep
working. Its segments are replaced in place, then its playlist and marker; segments the new
playlist no longer names are removed. Other renditions are not touched.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from mediahub.errors import Conflict, NotFound
from mediahub.media import ffmpeg_input, probe, storage
from mediahub.media.models import Media
from mediahub.media.tasktypes import MediaTaskType, named_media
from mediahub.transcoding import ffmpeg
from mediahub.transcoding.ladder import Rendition
from mediahub.transcoding.pipeline import RENDITION_INFO, LadderJob, PhaseClock
from tasks.context import TaskContext
from tasks.errors import PermanentError
from tasks.models import Task
from tasks.registry import register
from tasks.services import create_task
from tenants.models import Tenant

RERUN_TASK = "RenditionRerun"


def start_rerun(*, media: Media, name: str) -> Task:
    """The task re-encoding ``name``; ``NotFound`` for a rendition the media does not have,
    ``Conflict`` while it is not ready."""
    if media.status != Media.Status.READY or not media.hls:
        raise Conflict(f"The media is {media.status}; only a ready media's renditions can be re-run.")
    if name not in [r["name"] for r in media.hls["renditions"]]:
        raise NotFound(f"The media has no rendition {name!r}.")
    payload = {"media_id": str(media.id), "rendition": name}
    return create_task(tenant=media.tenant, type_name=RERUN_TASK, payload=payload, media=media)


def rerun_rendition(ctx: TaskContext, media: Media, name: str) -> dict[str, Any]:
    store = storage.get_store()
    clock = PhaseClock()
    ctx.set_phase("pre_processing")
    prefix = storage.hls_prefix(media.tenant_id, media.id)
    marker = store.read_bytes_if_exists(f"{prefix}{name}/{RENDITION_INFO}")
    if marker is None:
        raise PermanentError(f"The rendition {name} has no completion marker; transcode the media again.")
    stored = json.loads(marker)
    rendition = Rendition(**stored["plan"])
    old_playlist = store.read_bytes_if_exists(f"{prefix}{name}/{ffmpeg.PLAYLIST_NAME}") or b""

    source = ctx.workdir / "source"
    store.download_file(media.original_key, source)
    try:
        info = probe.probe_file(source, ffmpeg_input.media_demuxer(media.probe))
    except (probe.ProbeError, ffmpeg_input.RefusedInput) as exc:
        raise PermanentError(f"The media could not be decoded: {exc}") from exc
    job = LadderJob(ctx, store, media, source, info, stored.get("segment_type", "mpegts"), clock)
    clock.lap("fetch_and_probe")

    ctx.set_phase("running")
    encoded = job.encode([rendition], settings.TRANSCODE_PRESET)[name]
    ctx.set_phase("post_processing")
    new_playlist = store.read_bytes(f"{prefix}{name}/{ffmpeg.PLAYLIST_NAME}")
    stale = _segments(old_playlist) - _segments(new_playlist)
    for segment in sorted(stale):
        store.delete(f"{prefix}{name}/{segment}")
    clock.lap("cleanup")
    ctx.check_cancelled()
    return {"rendition": encoded, "removed_segments": len(stale), "seconds": clock.laps}


def _segments(playlist: bytes) -> set[str]:
    """Segment (and fMP4 init) file names a media playlist names; only plain names count."""
    names = set()
    for line in playlist.decode("utf-8", errors="replace").splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-MAP:") and 'URI="' in line:
            line = line.split('URI="', 1)[1].split('"', 1)[0]
        elif line.startswith("#") or not line:
            continue
        if "/" not in line and ".." not in line:
            names.add(line)
    return names


@register
class RenditionRerun(MediaTaskType):
    name = RERUN_TASK
    queue = "video_transcoding"
    payload_schema = {
        "type": "object",
        "required": ["media_id", "rendition"],
        "additionalProperties": False,
        "properties": {
            "media_id": {"type": "string"},
            "rendition": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"},
        },
    }
    default_timeout_seconds = 3 * 3600
    default_max_retries = 3
    max_per_tenant = 4

    def validate_payload(self, tenant: Tenant, payload: dict[str, Any], media: Media | None) -> None:
        if media is None:
            raise NotFound("No such media.")

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        media = named_media(ctx.tenant, ctx.payload["media_id"])
        if media is None:
            raise PermanentError("The media no longer exists.")
        return rerun_rendition(ctx, media, ctx.payload["rendition"])
