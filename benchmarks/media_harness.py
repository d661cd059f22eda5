"""Shared by the media benchmarks: the real API (gunicorn) and transcode worker as separate
processes on the test suite's services (fresh PostgreSQL, RabbitMQ vhost, SeaweedFS S3), and a
streaming multipart upload client that never holds the file in memory."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tests.services  # noqa: E402 - starts/points at the real services, like the tests

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediahub.settings")


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def child_env() -> dict[str, str]:
    from django.conf import settings

    return {**os.environ, "DATABASE_URL": settings.DATABASE_URL, "LOG_LEVEL": "WARNING"}


def start_api() -> tuple[subprocess.Popen, str]:
    """One gunicorn worker process (threads), so "the API process" is a single process to watch."""
    port = tests.services.free_port()
    argv = [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4", "--timeout", "900"]
    argv += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", "mediahub.wsgi"]
    proc = subprocess.Popen(argv, cwd=ROOT, env=child_env(), start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except requests.RequestException:  # not listening yet, or too busy to answer in time
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError("the API did not start")


def start_transcode_worker() -> subprocess.Popen:
    return start_worker("video_transcoding")


def start_worker(queue: str) -> subprocess.Popen:
    """One worker process with one thread on ``queue`` (CPU-bound queues run like this)."""
    argv = [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1"]
    argv += ["--queues", queue]
    return subprocess.Popen(argv, cwd=ROOT, env=child_env(), start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def upload(base: str, key: str, path: Path, **fields: str) -> dict:
    """POST /api/v1/media as a streamed multipart body with a Content-Length."""
    boundary = uuid.uuid4().hex
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=900)
    conn.putrequest("POST", "/api/v1/media")
    conn.putheader("Authorization", f"Bearer {key}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + path.stat().st_size + len(tail)))
    conn.endheaders()
    conn.send(head)
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    if response.status not in (200, 201):
        raise RuntimeError(f"upload failed: {response.status} {body}")
    return body
