"""Peak memory of the API process while a 1 GB file is uploaded through ``POST /api/v1/media``.

    .venv/bin/python benchmarks/upload_memory.py [--megabytes 1024]

The API runs as one gunicorn worker process on the test suite's services (SeaweedFS S3,
PostgreSQL); the client streams a 1 GB MPEG-TS video (a short high-bitrate clip repeated, stream
copy) with a Content-Length and never holds it in memory. A sampler reads the worker's RSS every
20 ms from before the upload (idle, after a warm-up request) until the response (the file streamed
to a temporary file while hashed, probed, then sent to S3 in multipart).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil
from media_harness import setup_django, start_api, stop, upload

MB = 1024 * 1024


def make_big_video(folder: Path, megabytes: int) -> Path:
    from django.conf import settings

    clip = folder / "clip.ts"
    subprocess.run(
        [settings.FFMPEG_BINARY, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=10"]
        + ["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "40M", "-f", "mpegts", str(clip)],
        check=True,
    )
    big = folder / "big.ts"
    subprocess.run(
        [settings.FFMPEG_BINARY, "-v", "error", "-stream_loop", "-1", "-i", str(clip), "-c", "copy"]
        + ["-fs", str(megabytes * MB), "-f", "mpegts", str(big)],
        check=True,
    )
    return big


class RssSampler(threading.Thread):
    def __init__(self, process: psutil.Process):
        super().__init__(daemon=True)
        self.process, self.peak, self.running = process, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1024)
    args = parser.parse_args()

    setup_django()
    from tenants.services import create_tenant

    _, issued = create_tenant(name="Upload benchmark")
    api, base = start_api()
    try:
        with tempfile.TemporaryDirectory() as folder:
            big = make_big_video(Path(folder), args.megabytes)
            (worker,) = psutil.Process(api.pid).children()  # gunicorn's single worker process
            # Warm-up: the first request loads the URL conf, DRF, storage client and DB connection.
            warm = Path(folder) / "warm.ts"
            with big.open("rb") as src:
                warm.write_bytes(src.read(2 * MB))
            upload(base, issued.key, warm, auto_transcode="false")
            idle = worker.memory_info().rss
            sampler = RssSampler(worker)
            sampler.start()
            started = time.perf_counter()
            media = upload(base, issued.key, big, auto_transcode="false")
            elapsed = time.perf_counter() - started
            sampler.running = False
            sampler.join()
    finally:
        stop(api)
    print(f"uploaded {media['size_bytes'] / MB:.0f} MB ({media['type']}) in {elapsed:.1f} s")
    print(
        f"API worker RSS: idle {idle / MB:.1f} MB, peak {sampler.peak / MB:.1f} MB, "
        f"peak above idle {(sampler.peak - idle) / MB:.1f} MB (goal < 100 MB)"
    )


if __name__ == "__main__":
    main()
