"""What a plugin is (``Plugin``) and what its ``run`` gets (``PluginContext``).

A plugin declares its name, the media types it takes, a JSON schema for its per-tenant config (and
which config fields are secrets) and the events that start it automatically; ``run`` does the work
on a worker and returns a JSON-able result. Built-ins live in ``mediahub.plugins.builtins``; other
packages add plugins through the ``mediahub.plugins`` entry-point group (see ``registry``).
"""

from __future__ import annotations

import json
import mimetypes
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from mediahub.media import ffmpeg_input, probe, storage
from mediahub.transcoding.ffmpeg import ProgressTracker
from tasks.context import ProcessResult, TaskContext
from tasks.errors import PermanentError, TransientError

if TYPE_CHECKING:
    from mediahub.media.models import Media


class Plugin(ABC):
    """Subclass, fill in the class attributes and ``run``.

    - ``config_schema``: a JSON schema (draft 2020-12) of an object; ``default`` values fill in
      what a tenant leaves out.
    - ``secret_fields``: top-level config fields that are write-only and encrypted at rest.
    - ``run_on``: events (``media.created``, ``media.ready``) that start the plugin once a tenant
      enables it; a tenant may choose others.
    - ``needs_audio``: media without an audio stream are refused (400) when the probe says so.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    media_types: ClassVar[tuple[str, ...]]
    config_schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": False}
    secret_fields: ClassVar[tuple[str, ...]] = ()
    run_on: ClassVar[tuple[str, ...]] = ()
    needs_audio: ClassVar[bool] = False

    @abstractmethod
    def run(self, ctx: PluginContext, media: Media, config: dict[str, Any]) -> dict[str, Any]:
        """Do the work; the result goes on the task and on ``media.plugins[name]``.

        Raise ``tasks.errors.TransientError`` for a failure worth retrying; any other exception
        fails the task with its message.
        """

    def check_config(self, config: dict[str, Any]) -> dict[str, list[str]]:
        """Checks beyond the schema: ``{field: [messages]}`` of what is wrong (empty if nothing)."""
        return {}

    def result_status(self, result: dict[str, Any]) -> str:
        """The media's plugin status once the task completed (``completed`` unless the plugin still
        waits for something, e.g. a callback)."""
        return "completed"

    def on_completed(self, media: Media, result: dict[str, Any]) -> None:
        """Runs in the transaction that records the result (e.g. to request re-embedding)."""


class PluginContext:
    """The task's context narrowed to one plugin and one media: the source file, safe ffmpeg runs,
    progress, and uploads under the media's ``plugins/<name>/`` prefix."""

    def __init__(self, task: TaskContext, media: Media, plugin_name: str):
        self.task = task
        self.media = media
        self.plugin_name = plugin_name
        self.workdir = task.workdir
        self.store = storage.get_store()
        self.prefix = plugin_prefix(media.tenant_id, media.id, plugin_name)
        self._source: Path | None = None
        self._probe: dict[str, Any] | None = None

    # --- the task's own controls ---

    def set_phase(self, phase: str) -> None:
        self.task.set_phase(phase)

    def set_progress(self, percent: float) -> None:
        self.task.set_progress(percent)

    def check_cancelled(self) -> None:
        self.task.check_cancelled()

    # --- input ---

    @property
    def duration(self) -> float:
        return float(self.media.duration_seconds or (self.media.probe or {}).get("duration") or 0)

    def probe(self) -> dict[str, Any]:
        """The upload's probe; the original is probed now if it was not then."""
        if self._probe is None:
            self._probe = self.media.probe or {}
            if "streams" not in self._probe:
                try:
                    self._probe = probe.probe_file(self.source())
                except probe.ProbeError as exc:
                    raise PermanentError(f"The media could not be decoded: {exc}") from exc
        return self._probe

    def has_audio(self) -> bool:
        return probe.audio_stream(self.probe()) is not None

    def source(self) -> Path:
        """The original, downloaded once into the work folder."""
        if self._source is None:
            path = self.workdir / "source"
            try:
                self.store.download_file(self.media.original_key, path)
            except (BotoCoreError, ClientError, OSError) as exc:
                raise TransientError(f"Could not fetch the original from storage: {exc}") from exc
            self._source = path
        return self._source

    def ffmpeg(
        self,
        args: Sequence[str],
        *,
        on_line: Callable[[str], None] | None = None,
        progress: bool = False,
        loglevel: str = "error",
    ) -> ProcessResult:
        """Run ffmpeg on the original: ``args`` are everything after the input. With ``progress``
        the task's progress follows ffmpeg's position in the media. A non-zero exit raises."""
        tracker = ProgressTracker(self.duration or None, self.set_progress) if progress else None

        def handle(line: str) -> None:
            if tracker is not None:
                tracker(line)
            if on_line is not None:
                on_line(line)

        argv = [settings.FFMPEG_BINARY, "-hide_banner", "-nostdin", "-y", "-v", loglevel, "-nostats"]
        if progress:
            argv += ["-progress", "pipe:1"]
        try:
            source = ffmpeg_input.media_input_args(self.probe(), self.source())
        except ffmpeg_input.RefusedInput as exc:
            raise PermanentError(str(exc)) from exc
        argv += [*source, *args]
        result = self.task.run_process(argv, on_line=handle)
        if result.returncode < 0:
            raise TransientError(f"ffmpeg was killed by signal {-result.returncode}.")
        if result.returncode != 0:
            detail = " / ".join(result.stderr_tail.strip().splitlines()[-3:])
            raise PermanentError(f"ffmpeg could not process the media: {detail}")
        return result

    def audio_samples(self, sample_format: str, *, progress: bool = False) -> Path:
        """The first audio stream decoded to a raw mono PCM file at ``AUDIO_SAMPLE_RATE``;
        ``sample_format`` is ``s16le`` or ``f32le``."""
        path = self.workdir / f"audio.{sample_format}"
        codec = {"s16le": "pcm_s16le", "f32le": "pcm_f32le"}[sample_format]
        self.ffmpeg(
            ["-map", "0:a:0", "-ac", "1", "-ar", str(AUDIO_SAMPLE_RATE), "-f", sample_format, "-c:a", codec]
            + [str(path)],
            progress=progress,
        )
        return path

    # --- output ---

    def save_file(self, path: Path, name: str | None = None, content_type: str = "") -> str:
        """Upload ``path`` as ``plugins/<plugin>/<name>``; returns the file's name."""
        name = name or path.name
        content_type = (
            content_type
            or CONTENT_TYPES.get(Path(name).suffix)
            or (mimetypes.guess_type(name)[0] or "application/octet-stream")
        )
        try:
            self.store.upload_file(path, self.prefix + name, content_type)
        except (BotoCoreError, ClientError) as exc:
            raise TransientError(f"Could not store {name}: {exc}") from exc
        return name

    def save_text(self, name: str, text: str, content_type: str = "") -> str:
        path = self.workdir / name
        path.write_text(text, encoding="utf-8")
        return self.save_file(path, name, content_type)

    def save_json(self, name: str, data: Any) -> str:
        return self.save_text(name, json.dumps(data, separators=(",", ":")), "application/json")


# Speech models take 16 kHz; waveform peaks need no more.
AUDIO_SAMPLE_RATE = 16000
# What a plugin that needs audio answers for media without any (a result, not a failure).
NO_AUDIO = {"audio": False, "message": "The media has no audio."}
CONTENT_TYPES = {".vtt": "text/vtt", ".json": "application/json", ".jpg": "image/jpeg"}


def plugin_prefix(tenant_id: Any, media_id: Any, plugin_name: str) -> str:
    return f"{storage.media_prefix(tenant_id, media_id)}plugins/{plugin_name}/"


def media_has_audio(media: Media) -> bool | None:
    if not media.probe or "streams" not in media.probe:
        return None
    return probe.audio_stream(media.probe) is not None
