"""The built-in presets every tenant sees. Defined here; ``migrate`` writes them to the database
(same ids everywhere), so they list, page and resolve like a tenant's own."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from tenants.defaults import DEFAULT_HLS_LADDER

# Stable ids: uuid5 of the name in this namespace.
NAMESPACE = uuid.UUID("6d3b1d9e-6c1f-4d3e-9a53-2f0f5c1e7a10")

H264_720P = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
SCALE_720P = "scale=w=-2:h='min(720,ih)'"

SYSTEM_PRESETS: list[dict[str, Any]] = [
    {
        "name": "mp4-720p",
        "description": "MP4 at up to 720p: H.264 (CRF 23) and AAC 128k, faststart for progressive playback.",
        "kind": "command",
        "command": [
            "-i", "${INPUT_FILE}", "-map", "0:v:0", "-map", "0:a:0?", "-vf", SCALE_720P, *H264_720P,
            "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-movflags", "+faststart", "${OUTPUT_FILE}",
        ],
        "output_extension": "mp4",
    },
    {
        "name": "webm-720p",
        "description": "WebM at up to 720p: VP9 (constant quality 33) and Opus 96k.",
        "kind": "command",
        "command": [
            "-i", "${INPUT_FILE}", "-map", "0:v:0", "-map", "0:a:0?", "-vf", SCALE_720P,
            "-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "33", "-deadline", "good", "-cpu-used", "5",
            "-row-mt", "1", "-pix_fmt", "yuv420p", "-c:a", "libopus", "-b:a", "96k", "-ac", "2",
            "${OUTPUT_FILE}",
        ],
        "output_extension": "webm",
    },
    {
        "name": "audio-mp3",
        "description": "The first audio stream as MP3 (LAME VBR quality 2, about 190 kbit/s).",
        "kind": "command",
        "command": [
            "-i", "${INPUT_FILE}", "-map", "0:a:0", "-c:a", "libmp3lame", "-q:a", "2", "${OUTPUT_FILE}",
        ],
        "output_extension": "mp3",
    },
    {
        "name": "audio-aac",
        "description": "The first audio stream as AAC 160k in an M4A file.",
        "kind": "command",
        "command": [
            "-i", "${INPUT_FILE}", "-map", "0:a:0", "-c:a", "aac", "-b:a", "160k",
            "-movflags", "+faststart", "${OUTPUT_FILE}",
        ],
        "output_extension": "m4a",
    },
    {
        "name": "gif-preview",
        "description": "The first 10 s as an animated GIF, 480 px wide at 10 fps, with its own palette.",
        "kind": "command",
        "command": [
            "-t", "10", "-i", "${INPUT_FILE}", "-filter_complex",
            "[0:v:0]fps=10,scale=w='min(480,iw)':h=-2:flags=lanczos,split[a][b];[a]palettegen[p];[b][p]paletteuse",
            "-loop", "0", "${OUTPUT_FILE}",
        ],
        "output_extension": "gif",
    },
    {
        "name": "thumbnail-jpg",
        "description": "A representative frame of the first seconds as a JPEG, up to 1280 px wide.",
        "kind": "command",
        "command": [
            "-i", "${INPUT_FILE}", "-map", "0:v:0", "-vf", "thumbnail,scale=w='min(1280,iw)':h=-2",
            "-frames:v", "1", "-q:v", "3", "${OUTPUT_FILE}",
        ],
        "output_extension": "jpg",
    },
    {
        "name": "clip",
        "description": "A clip of `duration` seconds from `start` (seconds, default 0), re-encoded to MP4 "
        "(H.264 CRF 20, AAC) so it starts exactly there.",
        "kind": "command",
        "command": [
            "-ss", "${start}", "-i", "${INPUT_FILE}", "-t", "${duration}", "-map", "0:v:0?", "-map", "0:a:0?",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "${OUTPUT_FILE}",
        ],
        "params": {"start": "0", "duration": None},
        "output_extension": "mp4",
    },
    {
        "name": "ladder-default",
        "description": "The default HLS ladder: 1080p 5000k, 720p 2800k, 480p 1400k, 360p 800k (capped VBR).",
        "kind": "ladder",
        "ladder": DEFAULT_HLS_LADDER,
    },
    {
        "name": "ladder-quality",
        "description": "Quality mode: constant quality (CRF) per rung, capped at the rung's bitrate "
        "(-maxrate, -bufsize twice that). Simple scenes take fewer bits; complex ones are capped.",
        "kind": "ladder",
        "ladder": [
            {"name": "1080p", "height": 1080, "video_bitrate": 6000, "crf": 21, "audio_bitrate": 128},
            {"name": "720p", "height": 720, "video_bitrate": 3500, "crf": 22, "audio_bitrate": 128},
            {"name": "480p", "height": 480, "video_bitrate": 1800, "crf": 23, "audio_bitrate": 128},
            {"name": "360p", "height": 360, "video_bitrate": 1000, "crf": 24, "audio_bitrate": 128},
        ],
    },
]  # fmt: skip


def system_preset_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, name)


def sync_system_presets(sender=None, using: str = "default", **kwargs) -> None:
    """Create or update the system presets' rows (a ``post_migrate`` receiver)."""
    from mediahub.presets.models import Preset

    with transaction.atomic(using=using):
        for definition in SYSTEM_PRESETS:
            fields = {
                "description": definition["description"],
                "kind": definition["kind"],
                "command": definition.get("command"),
                "params": definition.get("params", {}),
                "ladder": definition.get("ladder"),
                "ops": definition.get("ops", ""),
                "output_extension": definition.get("output_extension", ""),
            }
            Preset.objects.using(using).update_or_create(
                id=system_preset_id(definition["name"]),
                defaults={"tenant": None, "name": definition["name"], **fields},
            )
