"""Audio peaks for waveform players: the audiowaveform JSON format (peaks.js, and wavesurfer.js
through its ``data``), min/max pairs at a chosen number of points per second."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mediahub.media.models import Media
from mediahub.plugins.base import AUDIO_SAMPLE_RATE, NO_AUDIO, Plugin, PluginContext

# Samples read per step: memory stays flat however long the media is.
CHUNK_PIXELS = 4096


class Waveform(Plugin):
    name = "waveform"
    description = "Audio peaks as JSON (audiowaveform format: min/max pairs per point, 8-bit)."
    media_types = ("audio", "video")
    needs_audio = True
    run_on = ("media.created",)
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "points_per_second": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20},
        },
    }

    def run(self, ctx: PluginContext, media: Media, config: dict[str, Any]) -> dict[str, Any]:
        if not ctx.has_audio():
            return NO_AUDIO
        raw = ctx.audio_samples("s16le", progress=True)
        samples_per_point = max(1, AUDIO_SAMPLE_RATE // config["points_per_second"])
        samples = np.memmap(raw, dtype="<i2", mode="r") if raw.stat().st_size else np.zeros(0, "<i2")
        length = math.ceil(len(samples) / samples_per_point)
        data = np.zeros((length, 2), dtype=np.int8)
        step = CHUNK_PIXELS * samples_per_point
        for start in range(0, len(samples), step):
            ctx.check_cancelled()
            chunk = np.asarray(samples[start : start + step], dtype=np.int32)
            padded = np.pad(chunk, (0, -len(chunk) % samples_per_point)).reshape(-1, samples_per_point)
            first = start // samples_per_point
            # 16-bit to 8-bit: the top byte, rounded towards the louder side.
            data[first : first + len(padded), 0] = np.floor(padded.min(axis=1) / 256)
            data[first : first + len(padded), 1] = np.ceil(padded.max(axis=1) / 256).clip(-128, 127)
        peaks = {
            "version": 2,
            "channels": 1,
            "sample_rate": AUDIO_SAMPLE_RATE,
            "samples_per_pixel": samples_per_point,
            "bits": 8,
            "length": length,
            "data": data.reshape(-1).tolist(),
        }
        ctx.save_json("waveform.json", peaks)
        return {
            "audio": True,
            "points_per_second": AUDIO_SAMPLE_RATE / samples_per_point,
            "length": length,
            "files": ["waveform.json"],
        }
