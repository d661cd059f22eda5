"""Defaults for a tenant's settings; a tenant's stored settings override them key by key."""

from typing import Any

GB = 1024**3
MB = 1024**2

DEFAULT_HLS_LADDER: list[dict[str, Any]] = [
    {"name": "1080p", "height": 1080, "video_bitrate": 5000, "audio_bitrate": 128},
    {"name": "720p", "height": 720, "video_bitrate": 2800, "audio_bitrate": 128},
    {"name": "480p", "height": 480, "video_bitrate": 1400, "audio_bitrate": 128},
    {"name": "360p", "height": 360, "video_bitrate": 800, "audio_bitrate": 128},
]

# HLS segment formats: MPEG-TS (HLS 3, plays everywhere) or fMP4/CMAF (HLS 7).
HLS_SEGMENT_TYPES = ("mpegts", "fmp4")

DEFAULT_TENANT_SETTINGS: dict[str, Any] = {
    "auto_transcode": True,
    # Every new media, and every change of its title, description or metadata, is embedded for search.
    "auto_embed": True,
    # Remove EXIF/GPS/XMP from stored image originals on upload (orientation applied first).
    "strip_metadata": True,
    "hls_ladder": DEFAULT_HLS_LADDER,
    # Publish a first rendition (a copy of standard H.264 input, else the lowest rung) before the
    # whole ladder is encoded.
    "fast_start": True,
    "hls_segment_type": "mpegts",
    "limits": {
        "max_upload_bytes": {"video": 10 * GB, "audio": 1 * GB, "image": 50 * MB, "document": 200 * MB},
        # Longest side of a video the tenant may upload, in pixels (4K UHD).
        "max_video_dimension": 3840,
        # Images: pixel count (decompression bombs) and longest side, well above 8K.
        "max_image_pixels": 100_000_000,
        "max_image_dimension": 30_000,
        # Longest side of an image transform's output.
        "max_transform_dimension": 4096,
    },
}


# Operator-set ceilings (``Tenant.quotas`` overrides them per tenant, in the admin or with
# ``manage.py set_quota``). A tenant's own ``limits`` preferences may only lower them.
DEFAULT_QUOTAS: dict[str, Any] = DEFAULT_TENANT_SETTINGS["limits"]


def within_quota(limits: dict[str, Any], quota: dict[str, Any]) -> dict[str, Any]:
    """``limits`` with every number capped by the matching number of ``quota``."""
    capped = dict(limits)
    for key, ceiling in quota.items():
        value = capped.get(key, ceiling)
        if isinstance(ceiling, dict) and isinstance(value, dict):
            capped[key] = within_quota(value, ceiling)
        elif isinstance(ceiling, int | float) and isinstance(value, int | float):
            capped[key] = min(value, ceiling)
        else:
            capped[key] = ceiling
    return capped


def above_quota(limits: dict[str, Any], quota: dict[str, Any], path: str = "") -> dict[str, int | float]:
    """``{"max_upload_bytes.video": ceiling, ...}`` for each number of ``limits`` above ``quota``."""
    found: dict[str, int | float] = {}
    for key, value in limits.items():
        ceiling = quota.get(key)
        if isinstance(value, dict) and isinstance(ceiling, dict):
            found.update(above_quota(value, ceiling, f"{path}{key}."))
        elif isinstance(value, int | float) and isinstance(ceiling, int | float) and value > ceiling:
            found[f"{path}{key}"] = ceiling
    return found


def merge_settings(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``overrides`` into a copy of ``base`` (dicts merge, everything else replaces)."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_settings(merged[key], value)
        else:
            merged[key] = value
    return merged
