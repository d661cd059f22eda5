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

from mediahub.media import ffmpeg_input, hls, probe, services, storage
from mediahub.media.models import Media
from mediahub.presets.selectors import PresetNotFound, ladder_for
from mediahub.transcoding import fast_start, ffmpeg
from mediahub.transcoding.ladder import Rendition, plan_renditions
from tasks.context import TaskContext
from tasks.errors import PermanentError, TaskCancelled, TransientError

logger = logging.getLogger(__name__)

# A rendition is complete once this marker sits beside its playlist (uploaded last).
RENDITION_INFO = "rendition.json"
UPLOAD_THREADS = 8
# Share of the task's progress taken by ffmpeg; uploads take the rest.
ENCODE_PROGRESS_SHARE = 95.0
# Share taken by a lowest rung encoded ahead of the rest of the ladder (fast start).
EARLY_PROGRESS_SHARE = 15.0
# How much of the source's start is read to judge its keyframe spacing.
KEYFRAME_READ_SECONDS = 120.0


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
    options = ctx.tenant.effective_settings
    job = LadderJob(ctx, store, media, source, info, options["hls_segment_type"], clock)
    clock.lap("fetch_and_probe")

    finished = {r.name: done for r in planned if (done := job.finished(r)) is not None}
    first_playable = None
    if options["fast_start"] and probe.video_stream(info) and len(finished) < len(planned):
        first_playable = _make_playable_early(job, planned, finished)
    missing = [r for r in planned if r.name not in finished]
    if missing:
        ctx.set_phase("running")
        after_early = first_playable is not None and first_playable["method"] == "fast_rung"
        progress_from = EARLY_PROGRESS_SHARE if after_early else 0.0
        finished.update(job.encode(missing, settings.TRANSCODE_PRESET, progress_from=progress_from))
    ctx.set_phase("post_processing")

    renditions = [finished[r.name] for r in planned]
    early = first_playable["early"] if first_playable else []
    hls_result = job.publish(renditions, complete=True, early=early)
    clock.lap("upload")
    poster_key = _poster(ctx, store, media, source, info, planned) if probe.video_stream(info) else ""
    clock.lap("poster")
    ctx.check_cancelled()  # a media deleted meanwhile must not be left with these outputs
    return {
        "hls": hls_result,
        "poster_key": poster_key,
        "encoded": [r.name for r in missing],
        "first_playable": first_playable and {k: v for k, v in first_playable.items() if k != "early"},
        "seconds": clock.laps,
    }


def _make_playable_early(job: LadderJob, planned: list[Rendition], finished: dict) -> dict[str, Any] | None:
    """Copy the source (standard H.264/AAC) or encode the lowest rung alone at a fast preset, then
    publish it as a first, incomplete HLS. ``finished`` gains the rung when one was encoded.

    A copied ``source`` rendition stays servable for players that loaded the early master, but is
    left out of the final master: its keyframes are not aligned with the ladder's."""
    job.ctx.set_phase("running")
    started = time.monotonic()
    keyframes = probe.keyframe_times(job.source, job.info["demuxer"], within_seconds=KEYFRAME_READ_SECONDS)
    refusal = fast_start.remux_refusal(
        job.info, keyframes, KEYFRAME_READ_SECONDS, settings.HLS_SEGMENT_SECONDS
    )
    if refusal is None:
        rendition = job.source_rendition()
        early = [job.finished(rendition) or job.remux(rendition)]
        published, method = early, "remux"
    elif len(planned) > 1:
        lowest = planned[-1]
        if lowest.name not in finished:
            finished.update(job.encode([lowest], fast_start.FAST_PRESET, progress_to=EARLY_PROGRESS_SHARE))
        early, published, method = [], [finished[lowest.name]], "fast_rung"
    else:
        return None  # the one rendition there is will be the first playable
    services.mark_playable(media=job.media, hls=job.publish(published, complete=False, early=[]))
    job.clock.lap("first_playable")
    return {
        "method": method,
        "rendition": published[0]["name"],
        "reason": refusal,
        "seconds": round(time.monotonic() - started, 3),
        "early": early,
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


class LadderJob:
    """One transcode's renditions: encoding or copying them into ``ctx.workdir``, uploading them
    under the media's HLS prefix, and publishing master playlists."""

    def __init__(self, ctx: TaskContext, store, media: Media, source: Path, info, segment_type: str, clock):
        self.ctx, self.store, self.media, self.source, self.info = ctx, store, media, source, info
        self.segment_type, self.clock = segment_type, clock
        self.prefix = storage.hls_prefix(media.tenant_id, media.id)
        self._runs = 0

    def finished(self, rendition: Rendition) -> dict[str, Any] | None:
        """The rendition as an earlier attempt completed it with the same plan, else None."""
        key = f"{self.prefix}{rendition.name}/{RENDITION_INFO}"
        if not self.store.exists(key):
            return None
        stored = json.loads(self.store.read_bytes(key))
        same_plan = stored.get("plan") == rendition.as_dict()
        if same_plan and stored.get("segment_type", "mpegts") == self.segment_type:
            return stored["rendition"]
        return None

    def source_rendition(self) -> Rendition:
        width, height = probe.display_size(probe.video_stream(self.info))  # type: ignore[arg-type]
        return Rendition(fast_start.SOURCE_RENDITION, width, height, None, None)

    def encode(
        self, renditions: list[Rendition], preset: str, progress_from: float = 0.0,
        progress_to: float = ENCODE_PROGRESS_SHARE,
    ) -> dict[str, dict[str, Any]]:  # fmt: skip
        """Encode ``renditions`` with one ffmpeg (one decode) and upload them."""
        output = self._output_dir()
        video = probe.video_stream(self.info)
        job = ffmpeg.HlsJob(
            source=self.source,
            demuxer=self.info["demuxer"],
            output_dir=output,
            renditions=renditions,
            has_audio=probe.audio_stream(self.info) is not None,
            fps=video.get("frame_rate") if video else None,
            preset=preset,
            segment_seconds=settings.HLS_SEGMENT_SECONDS,
            segment_type=self.segment_type,
        )
        span = progress_to - progress_from
        tracker = ffmpeg.ProgressTracker(
            self.info.get("duration"),
            lambda percent: self.ctx.set_progress(progress_from + percent * span / 100),
        )
        argv = ffmpeg.build_hls_command(settings.FFMPEG_BINARY, job)
        return self._run_and_upload(argv, output, renditions, tracker, "encode")

    def remux(self, rendition: Rendition) -> dict[str, Any]:
        """Copy the source's streams into ``rendition`` and upload it."""
        output = self._output_dir()
        argv = ffmpeg.build_remux_command(
            settings.FFMPEG_BINARY, self.source, self.info["demuxer"], output, rendition.name,
            probe.audio_stream(self.info) is not None, settings.HLS_SEGMENT_SECONDS, self.segment_type,
        )  # fmt: skip
        uploaded = self._run_and_upload(argv, output, [rendition], None, "remux")
        return uploaded[rendition.name]

    def publish(self, renditions: list[dict[str, Any]], *, complete: bool, early: list[dict[str, Any]]):
        """Write the master playlist of ``renditions``; returns the media's ``hls`` value."""
        master_key = f"{self.prefix}{ffmpeg.MASTER_NAME}"
        master = hls.build_master(
            renditions, lambda name: f"{name}/{ffmpeg.PLAYLIST_NAME}", segment_type=self.segment_type
        )
        _put_text(self.store, self.ctx.workdir / ffmpeg.MASTER_NAME, master_key, master)
        published = {"master_key": master_key, "renditions": renditions, "complete": complete}
        published["segment_type"] = self.segment_type
        if early:
            published["early"] = early
        return published

    def _output_dir(self) -> Path:
        self._runs += 1
        return self.ctx.workdir / f"hls-{self._runs}"

    def _run_and_upload(self, argv, output: Path, renditions: list[Rendition], tracker, what: str):
        names = [r.name for r in renditions]
        with SegmentUploader(self.store, output, self.prefix, names, self.segment_type) as uploader:

            def on_line(line: str) -> None:
                if tracker is not None:
                    tracker(line)
                if line.startswith("progress="):  # once per progress report, about twice a second
                    uploader.scan()

            _run_ffmpeg(self.ctx, argv, on_line, what)
            self.clock.lap(what)
            uploader.finish()
        uploaded = {}
        for variant in hls.parse_master((output / ffmpeg.MASTER_NAME).read_text()):
            name = variant["uri"].split("/", 1)[0]
            rendition = next(r for r in renditions if r.name == name)
            if not variant["codecs"] and what == "remux":
                variant["codecs"] = fast_start.source_codecs(self.info)
            uploaded[name] = _upload_rendition(
                self.store, self.prefix, output / name, rendition, variant, self.segment_type
            )
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


class SegmentUploader:
    """Uploads segments while ffmpeg is still encoding, so little is left to upload when it exits.

    ffmpeg writes each segment to a ``.tmp`` file and renames it once complete (``-hls_flags
    temp_file``), so every segment file seen is whole. ``finish`` uploads the rest (with fMP4's
    initialisation segments) and waits for all.
    """

    def __init__(self, store, output: Path, prefix: str, names: list[str], segment_type: str):
        self.store, self.output, self.prefix, self.names = store, output, prefix, names
        self.pattern = f"*.{ffmpeg.SEGMENT_EXTENSIONS[segment_type]}"
        self.pool = ThreadPoolExecutor(UPLOAD_THREADS)
        self.submitted: set[Path] = set()
        self.futures = []  # type: ignore[var-annotated]

    def __enter__(self) -> SegmentUploader:
        return self

    def __exit__(self, *exc_info) -> None:
        # On cancel or failure nothing more is uploaded; without markers the partial output
        # counts for nothing.
        self.pool.shutdown(wait=True, cancel_futures=True)

    def scan(self) -> None:
        for name in self.names:
            self._submit(sorted((self.output / name).glob(self.pattern)))

    def finish(self) -> None:
        """ffmpeg has exited: upload what is left and wait for every upload."""
        self.scan()
        for name in self.names:
            self._submit(sorted((self.output / name).glob(ffmpeg.INIT_GLOB)))
        for future in self.futures:
            future.result()  # re-raises a failed upload

    def _submit(self, segments) -> None:
        for path in segments:
            if path not in self.submitted:
                self.submitted.add(path)
                key = f"{self.prefix}{path.parent.name}/{path.name}"
                content_type = storage.content_type_for(path.name)
                self.futures.append(self.pool.submit(self.store.upload_file, path, key, content_type))


def _run_ffmpeg(ctx: TaskContext, argv: list[str], on_line, what: str) -> None:
    result = ctx.run_process(argv, on_line=on_line)
    if result.returncode < 0:
        raise TransientError(f"ffmpeg was killed by signal {-result.returncode}.")
    if result.returncode != 0:
        detail = ffmpeg_input.scrub_paths(result.stderr_tail).strip().splitlines()[-3:]
        raise PermanentError(f"ffmpeg could not {what} the media: " + " / ".join(detail))


def _upload_rendition(
    store, prefix: str, folder: Path, rendition: Rendition, variant: dict, segment_type: str
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
    marker = {"plan": rendition.as_dict(), "segment_type": segment_type, "rendition": described}
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
        (largest.width, largest.height),  # type: ignore[arg-type]
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
