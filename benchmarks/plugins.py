"""Real-time factor of each local built-in plugin on a 60 s 720p clip with speech.

    .venv/bin/python benchmarks/plugins.py [--runs 3] [--seconds 60]

The clip (testsrc2 1280×720 30 fps H.264 with espeak-ng speech looped under it, AAC) is ingested
into the test suite's services (PostgreSQL, SeaweedFS S3). Each run is a real ``PluginExecution``
task claimed and run by the task engine in this process (fetch from S3, ffmpeg/whisper, uploads of
the outputs), timed by the task's own ``started_at``/``completed_at``. Real-time factor = run time /
media duration (below 1 is faster than real time); the figures are medians. Transcription also
reports this process's peak resident memory (the whisper model runs in-process; ffmpeg children
are reported apart).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from media_harness import setup_django

PLUGINS = ("transcription", "storyboard", "loudness", "scenes", "waveform")
SPEECH = (
    "Welcome to the media hub benchmark. Every plugin runs on the worker, next to the files. "
    "The transcription plugin turns this speech into captions, and the search index learns what "
    "was said. Storyboards, loudness, scenes and waveforms come from ffmpeg."
)


def make_clip(folder: Path, seconds: int) -> Path:
    from django.conf import settings

    speech = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(speech), SPEECH], check=True)
    clip = folder / "talk.mp4"
    subprocess.run(
        [
            settings.FFMPEG_BINARY,
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=s=1280x720:r=30:d={seconds}",
        ]
        + ["-stream_loop", "-1", "-i", str(speech), "-t", str(seconds), "-map", "0:v", "-map", "1:a"]
        + ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip)],
        check=True,
    )
    return clip


def run_once(tenant, media, plugin: str) -> float:
    from mediahub.plugins import services
    from tasks import engine

    task = services.execute(tenant=tenant, name=plugin, media_id=media.id)
    claimed = engine.claim_next("PluginExecution")
    assert claimed is not None and claimed[0].pk == task.pk
    engine.run_attempt(*claimed)
    task.refresh_from_db()
    if task.status != "completed":
        raise RuntimeError(f"{plugin} {task.status}: {task.error}")
    return (task.completed_at - task.started_at).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    setup_django()

    from mediahub.media import services as media_services
    from mediahub.media.uploads import file_sha256
    from tenants.services import create_tenant

    tenant, _ = create_tenant(name=f"bench-plugins-{time.time_ns()}")
    with tempfile.TemporaryDirectory() as folder:
        clip = make_clip(Path(folder), args.seconds)
        media = media_services.ingest_file(
            tenant=tenant,
            path=clip,
            fields=media_services.MediaFields(clip.name, auto_transcode=False),
            sha256=file_sha256(clip),
            size_bytes=clip.stat().st_size,
        ).media
    duration = media.duration_seconds
    print(f"clip: {duration:.1f} s, 1280x720 30 fps H.264 + AAC speech, {media.size_bytes / 1e6:.1f} MB")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")

    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for plugin in PLUGINS:  # transcription first: the peak below is whisper's
        times = [run_once(tenant, media, plugin) for _ in range(args.runs)]
        median = statistics.median(times)
        print(
            f"{plugin:14s} median {median:6.2f} s  real-time factor {median / duration:.3f}"
            f"  (runs: {', '.join(f'{t:.2f}' for t in times)})"
        )
        if plugin == "transcription":
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{'':14s} worker peak RSS {peak_mb:.0f} MB (before the first run {baseline_mb:.0f} MB)")
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"largest ffmpeg child process: {children_mb:.0f} MB peak RSS")


if __name__ == "__main__":
    main()
