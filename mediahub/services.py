"""Embedded defaults for the backing services.

When an environment variable names a real service (``DATABASE_URL``, ``BROKER_URL``/``REDIS_URL``,
``S3_BUCKET``) it wins; otherwise these functions provide a working local equivalent under the data
folder, so ``make run`` needs nothing but Python.
"""

from __future__ import annotations

import logging
import secrets
import shutil
from functools import cache
from pathlib import Path


def embedded_secret_key(data_dir: Path) -> str:
    """A per-installation secret kept in the data folder (production sets SECRET_KEY)."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def embedded_database_url(data_dir: Path) -> str:
    """Start (or attach to) the embedded PostgreSQL 16 with pgvector and return its URL.

    pgserver shares one server between processes using the same folder, so a second
    ``manage.py`` in another shell reaches the database of a running ``mediahub up``.
    """
    import pgserver

    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it narrates every pg_ctl call
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop")
    return server.get_uri()


def embedded_redis_socket(data_dir: Path) -> Path:
    return data_dir / "redis.sock"


def embedded_redis_url(data_dir: Path) -> str:
    """URL of the embedded Redis; the server itself is started by ``manage.py up``."""
    return f"unix://{embedded_redis_socket(data_dir)}?db=0"


@cache
def find_ffmpeg() -> str:
    """The system ffmpeg when installed, else the binary shipped by imageio-ffmpeg."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@cache
def find_ffprobe() -> str:
    """The system ffprobe, or "" when absent (probing then falls back to PyAV)."""
    return shutil.which("ffprobe") or ""
