"""The transcoding job: fetch and probe the original, encode the missing renditions with one ffmpeg,
upload them and a poster. Reruns keep what an earlier attempt already finished."""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.conf import settings

from mediahub.media import ffmpeg_input, hls, probe, storage
from mediahub.media.models import Media
from mediahub.presets.selectors import PresetNotFound, ladder_for
from mediahub.transcoding import ffmpeg
from mediahub.transcoding.ladder import Rendition, plan_renditions
from tasks.context import TaskContext
from tasks.errors import PermanentError, TaskCancelled, TransientError

logger = logging.getLogger(__name__)

# A rendition is complete once this marker sits beside its playlist (uploaded last).
RENDITION_INFO = "rendition.json"
UPLOAD_THREADS = 8
# Share of the task's progress taken by ffmpeg; uploads take the rest.
ENCODE_PROGRESS_SHARE = 95.0


def transcode(ctx: TaskContext, media: Media) -> dict[str, Any]:
    """Run the whole job for ``media``; returns the task result: ``{"hls", "poster_key", "encoded",
    "seconds"}`` (``encoded``: the renditions this run had to make; ``seconds``: time per step)."""
    store = storage.get_store()
    try:
        return _transcode(ctx, media, store)
    except TaskCancelled:
        # Deleting a media cancels its task and removes its objects; an upload that was in flight
        # may have landed afterwards, so sweep the prefix again now that everything has stopped.
        if not Media.objects.filter(pk=media.pk).exists():
            store.delete_prefix(storage.media_prefix(media.tenant_id, media.id))
        raise


def _transcode(ctx: TaskContext, media: Media, store: storage.ObjectStore) -> dict[str, Any]:
    clock = PhaseClock()
    ctx.set_phase("pre_processing")
    source = ctx.workdir / "source"
    store.download_file(media.original_key, source)
    info, planned = _probe_and_plan(ctx, source, media)
    clock.lap("fetch_and_probe")

    prefix = storage.hls_prefix(media.tenant_id, media.id)
    finished = _finished_renditions(store, prefix, planned)
    missing = [r for r in planned if r.name not in finished]
    if missing:
        finished.update(_encode_and_upload(ctx, store, source, info, missing, prefix, clock))
    else:
        ctx.set_phase("post_processing")

    renditions = [finished[r.name] for r in planned]
    master_key = f"{prefix}{ffmpeg.MASTER_NAME}"
    master = hls.build_master(renditions, lambda name: f"{name}/{ffmpeg.PLAYLIST_NAME}")
    _put_text(store, ctx.workdir / ffmpeg.MASTER_NAME, master_key, master)
    clock.lap("upload")
    poster_key = _poster(ctx, store, media, source, info, planned) if probe.video_stream(info) else ""
    clock.lap("poster")
    ctx.check_cancelled()  # a media deleted meanwhile must not be left with these outputs
    return {
        "hls": {"master_key": master_key, "renditions": renditions},
        "poster_key": poster_key,
        "encoded": [r.name for r in missing],
        "seconds": clock.laps,
    }


def _probe_and_plan(ctx: TaskContext, source: Path, media: Media) -> tuple[dict[str, Any], list[Rendition]]:
    try:
        info = probe.probe_file(source, ffmpeg_input.media_demuxer(media.probe))
    except (probe.ProbeError, ffmpeg_input.RefusedInput) as exc:
        raise PermanentError(f"The media could not be decoded: {exc}") from exc
    video, audio = probe.video_stream(info), probe.audio_stream(info)
    if video is None and audio is None:
        raise PermanentError("The media has neither a video nor an audio stream.")
    display = probe.display_size(video) if video else None
    limit = ctx.tenant.effective_settings["limits"]["max_video_dimension"]
    if display and max(display) > limit:
        raise PermanentError(f"The video is {display[0]}x{display[1]}; the limit is {limit} pixels.")
    try:
        ladder = ctx.payload.get("ladder") or ladder_for(tenant=ctx.tenant)
    except PresetNotFound as exc:
        raise PermanentError(f"The tenant's hls_ladder setting names no ladder preset: {exc}") from exc
    return info, plan_renditions(ladder, display, has_audio=audio is not None)


def _encode_and_upload(
    ctx: TaskContext, store, source: Path, info, missing: list[Rendition], prefix: str, clock
) -> dict[str, dict[str, Any]]:
    output = ctx.workdir / "hls"
    with SegmentUploader(store, output, prefix, [r.name for r in missing]) as uploader:
        _encode(ctx, source, output, missing, info, uploader)
        clock.lap("encode")
        ctx.set_phase("post_processing")
        uploader.finish()
    uploaded = {}
    for variant in hls.parse_master((output / ffmpeg.MASTER_NAME).read_text()):
        name = variant["uri"].split("/", 1)[0]
        rendition = next(r for r in missing if r.name == name)
        uploaded[name] = _upload_rendition(store, prefix, output / name, rendition, variant)
    return uploaded


class PhaseClock:
    """Wall time of each step, for the task result (where a slow transcode spends its time)."""

    def __init__(self):
        self.laps: dict[str, float] = {}
        self._since = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = round(now - self._since, 3)
        self._since = now


def _finished_renditions(store, prefix: str, planned: list[Rendition]) -> dict[str, dict[str, Any]]:
    """Renditions an earlier attempt completed with the same plan."""
    finished = {}
    for rendition in planned:
        key = f"{prefix}{rendition.name}/{RENDITION_INFO}"
        if store.exists(key):
            stored = json.loads(store.read_bytes(key))
            if stored.get("plan") == rendition.as_dict():
                finished[rendition.name] = stored["rendition"]
    return finished


class SegmentUploader:
    """Uploads segments while ffmpeg is still encoding, so little is left to upload when it exits.

    ffmpeg writes each segment to a ``.tmp`` file and renames it once complete (``-hls_flags
    temp_file``), so every ``.ts`` file seen is whole. ``finish`` uploads the rest and waits for all.
    """

    def __init__(self, store, output: Path, prefix: str, names: list[str]):
        self.store, self.output, self.prefix, self.names = store, output, prefix, names
        self.pool = ThreadPoolExecutor(UPLOAD_THREADS)
        self.submitted: set[Path] = set()
        self.futures = []

    def __enter__(self) -> SegmentUploader:
        return self

    def __exit__(self, *exc_info) -> None:
        # On cancel or failure nothing more is uploaded; without markers the partial output
        # counts for nothing.
        self.pool.shutdown(wait=True, cancel_futures=True)

    def scan(self) -> None:
        for name in self.names:
            self._submit(sorted((self.output / name).glob("*.ts")))

    def finish(self) -> None:
        """ffmpeg has exited: upload what is left and wait for every upload."""
        self.scan()
        for future in self.futures:
            future.result()  # re-raises a failed upload

    def _submit(self, segments) -> None:
        for path in segments:
            if path not in self.submitted:
                self.submitted.add(path)
                key = f"{self.prefix}{path.parent.name}/{path.name}"
                self.futures.append(self.pool.submit(self.store.upload_file, path, key, "video/mp2t"))


def _encode(ctx: TaskContext, source: Path, output: Path, renditions, info, uploader) -> None:
    ctx.set_phase("running")
    video = probe.video_stream(info)
    job = ffmpeg.HlsJob(
        source=source,
        demuxer=info["demuxer"],
        output_dir=output,
        renditions=renditions,
        has_audio=probe.audio_stream(info) is not None,
        fps=video.get("frame_rate") if video else None,
        preset=settings.TRANSCODE_PRESET,
        segment_seconds=settings.HLS_SEGMENT_SECONDS,
    )
    tracker = ffmpeg.ProgressTracker(
        info.get("duration"), lambda percent: ctx.set_progress(percent * ENCODE_PROGRESS_SHARE / 100)
    )

    def on_line(line: str) -> None:
        tracker(line)
        if line.startswith("progress="):  # once per progress report, about twice a second
            uploader.scan()

    result = ctx.run_process(ffmpeg.build_hls_command(settings.FFMPEG_BINARY, job), on_line=on_line)
    if result.returncode < 0:
        raise TransientError(f"ffmpeg was killed by signal {-result.returncode}.")
    if result.returncode != 0:
        detail = ffmpeg_input.scrub_paths(result.stderr_tail).strip().splitlines()[-3:]
        raise PermanentError("ffmpeg could not transcode the media: " + " / ".join(detail))


def _upload_rendition(
    store, prefix: str, folder: Path, rendition: Rendition, variant: dict
) -> dict[str, Any]:
    """The playlist after its segments, then the completion marker: a rendition whose marker
    exists is whole."""
    key_prefix = f"{prefix}{rendition.name}/"
    playlist_key = key_prefix + ffmpeg.PLAYLIST_NAME
    store.upload_file(folder / ffmpeg.PLAYLIST_NAME, playlist_key, "application/vnd.apple.mpegurl")
    described = {
        "name": rendition.name,
        "width": rendition.width,
        "height": rendition.height,
        "bandwidth": variant["bandwidth"],
        "codecs": variant["codecs"],
        "playlist_key": playlist_key,
    }
    marker = {"plan": rendition.as_dict(), "rendition": described}
    _put_text(store, folder / RENDITION_INFO, key_prefix + RENDITION_INFO, json.dumps(marker))
    return described


def _poster(ctx, store, media: Media, source: Path, info, planned: list[Rendition]) -> str:
    key = storage.poster_key(media.tenant_id, media.id)
    if store.exists(key):
        return key
    largest = planned[0]
    duration = info.get("duration") or 0
    output = ctx.workdir / "poster.jpg"
    argv = ffmpeg.build_poster_command(
        settings.FFMPEG_BINARY,
        source,
        info["demuxer"],
        output,
        min(1.0, duration / 2),
        (largest.width, largest.height),
    )
    result = ctx.run_process(argv)
    if result.returncode != 0 or not output.exists():
        # A missing poster should not fail a playable stream.
        logger.warning("no poster for media %s: %s", media.id, result.stderr_tail[-500:])
        return ""
    store.upload_file(output, key, "image/jpeg")
    return key


def _put_text(store, path: Path, key: str, text: str) -> None:
    path.write_text(text)
    store.upload_file(
        path, key, "application/json" if key.endswith(".json") else "application/vnd.apple.mpegurl"
    )
