"""Building the one ffmpeg command that decodes a source once and encodes every HLS rendition, and
reading its ``-progress`` output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mediahub.media.ffmpeg_input import input_args
from mediahub.transcoding.ladder import Rendition

MASTER_NAME = "master.m3u8"
PLAYLIST_NAME = "index.m3u8"
DEFAULT_FPS = 25.0
# fMP4 renditions also carry an initialisation segment (``init*.mp4``).
SEGMENT_EXTENSIONS = {"mpegts": "ts", "fmp4": "m4s"}
INIT_GLOB = "init*.mp4"


@dataclass(frozen=True)
class HlsJob:
    source: Path
    demuxer: str  # the one inspection recorded (Media.probe["demuxer"])
    output_dir: Path
    renditions: list[Rendition]
    has_audio: bool
    fps: float | None
    preset: str
    segment_seconds: int
    segment_type: str = "mpegts"


def gop_frames(fps: float | None, segment_seconds: int) -> int:
    """Keyframe interval: exactly one segment, so every rendition cuts at the same instants."""
    return max(1, round((fps or DEFAULT_FPS) * segment_seconds))


def build_hls_command(ffmpeg: str, job: HlsJob) -> list[str]:
    """``split`` the decoded picture once per rendition, ``scale`` each, encode them all with the
    same fixed GOP (no scene-cut keyframes) and capped VBR, and mux VOD HLS with a master playlist."""
    video = [r for r in job.renditions if r.width is not None]
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-v", "error", "-nostats", "-progress", "pipe:1"]
    argv += input_args(job.source, job.demuxer)
    stream_map = []
    if video:
        labels = [f"[v{i}]" for i in range(len(video))]
        graph = [f"[0:v:0]split={len(video)}" + "".join(f"[s{i}]" for i in range(len(video)))]
        graph += [f"[s{i}]scale={r.width}:{r.height},setsar=1{labels[i]}" for i, r in enumerate(video)]
        argv += ["-filter_complex", ";".join(graph)]
        for label in labels:
            argv += ["-map", label]
    audio_outputs = len(video) if video else 1
    if job.has_audio:
        # Each variant carries its own muxed audio, so every variant plays on its own.
        argv += ["-map", "0:a:0"] * audio_outputs
    if video:
        gop = gop_frames(job.fps, job.segment_seconds)
        argv += ["-c:v", "libx264", "-preset", job.preset, "-profile:v", "high", "-pix_fmt", "yuv420p"]
        argv += ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"]
        for i, r in enumerate(video):
            # Capped VBR at the rung's bitrate, or (quality ladders) constant quality capped there.
            target = [f"-crf:v:{i}", str(r.crf)] if r.crf is not None else [f"-b:v:{i}", f"{r.video_kbps}k"]
            argv += [*target, f"-maxrate:v:{i}", f"{r.video_kbps}k"]
            argv += [f"-bufsize:v:{i}", f"{2 * r.video_kbps}k"]  # type: ignore[operator]
    if job.has_audio:
        argv += ["-c:a", "aac", "-ac", "2"]
        for i, r in enumerate(job.renditions[:audio_outputs]):
            argv += [f"-b:a:{i}", f"{r.audio_kbps}k"]
    for i, r in enumerate(job.renditions):
        parts = []
        if r.width is not None:
            parts.append(f"v:{i}")
        if job.has_audio:
            parts.append(f"a:{i}")
        stream_map.append(",".join([*parts, f"name:{r.name}"]))
    return argv + _hls_muxer_args(job.output_dir, job.segment_seconds, job.segment_type, stream_map)


def build_remux_command(
    ffmpeg: str,
    source: Path,
    demuxer: str,
    output_dir: Path,
    name: str,
    has_audio: bool,
    segment_seconds: int,
    segment_type: str,
) -> list[str]:
    """Copy the source's H.264 (and AAC) into one HLS rendition ``name`` without re-encoding: the
    source's own keyframes cut the segments."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-v", "error", "-nostats", "-progress", "pipe:1"]
    argv += [*input_args(source, demuxer), "-map", "0:v:0"]
    argv += ["-map", "0:a:0"] if has_audio else []
    argv += ["-c", "copy"]
    stream_map = [f"v:0,{'a:0,' if has_audio else ''}name:{name}"]
    return argv + _hls_muxer_args(output_dir, segment_seconds, segment_type, stream_map)


def _hls_muxer_args(output_dir: Path, segment_seconds: int, segment_type: str, stream_map: list[str]):
    extension = SEGMENT_EXTENSIONS[segment_type]
    argv = ["-f", "hls", "-hls_time", str(segment_seconds), "-hls_playlist_type", "vod"]
    argv += ["-hls_segment_type", segment_type]
    if segment_type == "fmp4":
        argv += ["-hls_fmp4_init_filename", "init.mp4"]
    # Segments appear under their final name only once complete, so they can be uploaded while
    # ffmpeg still encodes the rest.
    argv += ["-hls_flags", "temp_file"]
    argv += ["-hls_segment_filename", str(output_dir / "%v" / f"seg_%05d.{extension}")]
    argv += ["-master_pl_name", MASTER_NAME, "-var_stream_map", " ".join(stream_map)]
    argv.append(str(output_dir / "%v" / PLAYLIST_NAME))
    return argv


def build_poster_command(
    ffmpeg: str, source: Path, demuxer: str, output: Path, at_seconds: float, size: tuple[int, int]
) -> list[str]:
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-y", "-v", "error",
        "-ss", f"{at_seconds:.3f}", *input_args(source, demuxer),
        "-frames:v", "1", "-vf", f"scale={size[0]}:{size[1]},setsar=1", "-q:v", "3", str(output),
    ]  # fmt: skip


class ProgressTracker:
    """Turns ``-progress`` lines (``out_time_us=…``) into a percentage of ``duration``."""

    def __init__(self, duration: float | None, report):
        self.duration = duration
        self.report = report

    def __call__(self, line: str) -> None:
        key, _, value = line.strip().partition("=")
        if key == "progress" and value == "end":
            self.report(100.0)
        elif key in ("out_time_us", "out_time_ms") and self.duration and value.lstrip("-").isdigit():
            # Both keys carry microseconds (out_time_ms is misnamed in ffmpeg).
            seconds = max(0, int(value)) / 1_000_000
            self.report(min(100.0, 100.0 * seconds / self.duration))
