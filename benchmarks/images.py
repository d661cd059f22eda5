"""Image transforms through the API (gunicorn, SeaweedFS S3, PostgreSQL) against libvips run bare.

    .venv/bin/python benchmarks/images.py [--runs 30] [--hits 300] [--clients 20] [--urls 200]

1. Uncached: a 12-megapixel JPEG (4000x3000) to an 800 px-wide WebP, one request at a time, each
   URL new (the quality differs by one step, so each is a cache miss), against the same pyvips call
   (``thumbnail`` + ``webpsave`` with the pipeline's options) on the local file, alternating
   bare / API. p50/p95 of each and the ratio of the medians.
2. Cache hit: the same URL again and again, p50/p95, beside ``GET /api/v1/tenant`` (the floor of
   any authenticated request on this machine at that moment).
3. Throughput: ``--clients`` concurrent clients over ``--urls`` distinct URLs (resize widths), each
   client honouring ``503`` + ``Retry-After`` by waiting and retrying, like a CDN; renders per second.

The API runs as in production (``gunicorn --config python:mediahub.gunicorn_conf``, 2 workers x 4
threads, the rate limit off so that 429s do not stand in for work).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from media_harness import ROOT, child_env, setup_django, stop, upload

OPS = "-/resize/800x/-/format/webp/-/quality/{quality}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return f"p50 {statistics.median(values) * 1000:.1f} ms, p95 {percentile(values, 0.95) * 1000:.1f} ms"


def make_photo(path: Path) -> Path:
    """A 4000x3000 JPEG with photo-like content (smooth gradients, texture, edges), ~Q90."""
    import pyvips

    x = pyvips.Image.xyz(4000, 3000)
    gradient = (x[0] / 4000 * 255).bandjoin([x[1] / 3000 * 255, (x[0] + x[1]) / 7000 * 255])
    texture = pyvips.Image.gaussnoise(4000, 3000, sigma=12)
    rings = pyvips.Image.sines(4000, 3000, hfreq=37, vfreq=23) * 40
    image = (gradient + texture + rings).cast("uchar").copy(interpretation="srgb")
    image.jpegsave(str(path), Q=90)
    return path


def start_api() -> tuple[subprocess.Popen, str]:
    from tests.services import free_port
    from tests.waiting import wait_for

    port = free_port()
    env = {
        **child_env(),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        "GUNICORN_ACCESS_LOG": "false",
        "API_RATE_LIMIT_PER_MINUTE": "0",
    }
    argv = [sys.executable, "-m", "gunicorn", "--config", "python:mediahub.gunicorn_conf", "mediahub.wsgi"]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_for(answers, timeout=120, what="the API")
    return proc, base


def bare_seconds(path: Path, quality: int) -> float:
    import pyvips

    from mediahub.images.pipeline import UNBOUNDED, encode_args

    saver, options = encode_args("webp", quality)
    started = time.perf_counter()
    image = pyvips.Image.thumbnail(str(path), 800, height=UNBOUNDED, size="down")
    getattr(image, saver)(**options)
    return time.perf_counter() - started


def get(session: requests.Session, url: str) -> tuple[float, requests.Response]:
    for attempt in range(3):
        started = time.perf_counter()
        try:
            response = session.get(url, timeout=120)
        except requests.ConnectionError:  # a kept-alive connection the server closed meanwhile
            if attempt == 2:
                raise
            continue
        return time.perf_counter() - started, response
    raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--hits", type=int, default=300)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--urls", type=int, default=200)
    args = parser.parse_args()

    setup_django()
    import pyvips

    from tenants.services import create_tenant

    pyvips.cache_set_max(0)  # as in the API: no operation cache between calls
    _, issued = create_tenant(name="Images benchmark")
    api, base = start_api()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {issued.key}"
    try:
        with tempfile.TemporaryDirectory() as folder:
            photo = make_photo(Path(folder) / "photo.jpg")
            media = upload(base, issued.key, photo)
            print(f"source: 4000x3000 JPEG, {photo.stat().st_size / 1e6:.1f} MB; load {os.getloadavg()}")
            transform = f"{base}/api/v1/media/{media['id']}/transform/"
            get(session, transform + OPS.format(quality=99))  # warm-up: both workers' imports
            get(session, transform + OPS.format(quality=98))
            bare_seconds(photo, 97)

            bare, through_api = [], []
            for run in range(args.runs):
                quality = 60 + run % 37
                bare.append(bare_seconds(photo, quality))
                seconds, response = get(session, transform + OPS.format(quality=quality))
                assert response.status_code == 200, response.text
                assert response.headers["X-Transform-Cache"] == "miss"
                through_api.append(seconds)
            ratio = statistics.median(through_api) / statistics.median(bare)
            print(f"uncached 12 MP JPEG -> 800 px WebP, {args.runs} runs:")
            print(f"  bare pyvips: {summary(bare)}")
            print(f"  API:         {summary(through_api)}")
            p95_ratio = percentile(through_api, 0.95) / percentile(bare, 0.95)
            print(f"  ratio of medians {ratio:.2f} (p95 ratio {p95_ratio:.2f})")

            hit_url = transform + OPS.format(quality=60)
            hits = []
            for _ in range(args.hits):
                seconds, response = get(session, hit_url)
                assert response.headers["X-Transform-Cache"] == "hit"
                hits.append(seconds)
            print(f"cache hit, {args.hits} requests: {summary(hits)}")
            floor = [get(session, f"{base}/api/v1/tenant")[0] for _ in range(args.hits)]
            print(f"  (the API's floor in the same run, GET /api/v1/tenant: {summary(floor)})")

            throughput(transform, issued.key, args.clients, args.urls)
    finally:
        stop(api)


def throughput(transform: str, key: str, clients: int, urls: int) -> None:
    local = threading.local()
    busy = []

    def fetch(width: int) -> float:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["Authorization"] = f"Bearer {key}"
        started = time.perf_counter()
        while True:
            _, response = get(local.session, f"{transform}-/resize/{width}x/-/format/webp")
            if response.status_code != 503:
                assert response.status_code == 200, response.text
                return time.perf_counter() - started
            busy.append(1)
            time.sleep(float(response.headers.get("Retry-After", "1")))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        latencies = list(pool.map(fetch, range(400, 400 + urls)))
    elapsed = time.perf_counter() - started
    print(
        f"throughput, {clients} clients on {urls} distinct URLs: {urls / elapsed:.1f} renders/s "
        f"({elapsed:.1f} s; {len(busy)} answers were 503 + Retry-After and retried; "
        f"time to a 200 {summary(latencies)}); load {os.getloadavg()}"
    )


if __name__ == "__main__":
    main()
