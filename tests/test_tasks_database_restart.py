"""The database restart drill: PostgreSQL stops and starts again under a running API and worker.

The test runs its own PostgreSQL (the session's is shared by every test), a gunicorn, a worker
command and the scheduler on it, and keeps creating tasks and uploading media throughout.
"""

import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pgserver
import pytest
import requests
from django.conf import settings
from PIL import Image

from tests.services import free_port
from tests.waiting import wait_for

MANAGE = [sys.executable, str(settings.BASE_DIR / "manage.py")]


class Database:
    """A PostgreSQL of the test's own, stopped and started at will."""

    def __init__(self, folder: Path):
        self.server = pgserver.get_server(folder / "pgdata", cleanup_mode=None)
        self.url = self.server.get_uri()

    def stop(self) -> None:
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user)

    def start(self) -> None:
        with pgserver.PostgresServer._lock:
            self.server.ensure_postgres_running()


def png(i: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (i % 256, (i // 256) % 256, 7)).save(out, "PNG")
    return out.getvalue()


class Client(threading.Thread):
    """Creates a task and uploads an image in a loop, keeping every answer."""

    def __init__(self, base: str, key: str):
        super().__init__(daemon=True)
        self.base, self.session = base, requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"
        self.answers: list[tuple[str, int, str | None]] = []  # (what, status, id)
        self.stop = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            self.call("task", "tasks", json={"type": "TestEcho", "payload": {"value": i}})
            self.call("media", "media", files={"file": (f"{i}.png", png(i), "image/png")})
            time.sleep(0.05)

    def call(self, what: str, path: str, **body) -> None:
        try:
            response = self.session.post(f"{self.base}/api/v1/{path}", timeout=30, **body)
        except requests.RequestException as exc:
            self.answers.append((what, 0, repr(exc)))
            return
        answer = response.json()
        self.answers.append((what, response.status_code, answer.get("id") or str(answer)))

    def count(self, status: int) -> int:
        return sum(1 for _, s, _ in self.answers if s == status)


@pytest.mark.slow
def test_api_answers_503_while_the_database_restarts_and_nothing_is_lost():
    folder = Path(tempfile.mkdtemp(prefix="mh-dbr-"))  # short: the socket lives here
    database = Database(folder)
    env = {
        **os.environ,
        "DATABASE_URL": database.url,
        "MEDIAHUB_DATA": str(folder),
        "TASK_TYPE_MODULES": "tests.tasktypes",
        "PORT": str(free_port()),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_ACCESS_LOG": "false",
        "API_RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "WARNING",
    }
    base = f"http://127.0.0.1:{env['PORT']}"
    processes: list[subprocess.Popen] = []
    log = open(folder / "processes.log", "wb")  # noqa: SIM115 - closed below
    try:
        subprocess.run(
            [*MANAGE, "migrate", "--noinput"], env=env, check=True, capture_output=True, timeout=300
        )
        created = subprocess.run(
            [*MANAGE, "create_tenant", "Drill"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        key = next(word for word in created.stdout.split() if word.startswith("mh_live_"))
        for argv in (
            [sys.executable, "-m", "gunicorn", "--config", "python:mediahub.gunicorn_conf", "mediahub.wsgi"],
            [sys.executable, "-m", "dramatiq", "--processes", "1", "--threads", "4", "--queues", "test_echo",
             "--", "django_dramatiq.setup"],
            [*MANAGE, "run_scheduler"],
        ):  # fmt: skip
            processes.append(
                subprocess.Popen(
                    argv,
                    env=env,
                    cwd=settings.BASE_DIR,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        wait_for(lambda: _healthy(base), timeout=120, interval=0.3, what="gunicorn")

        client = Client(base, key)
        client.start()
        wait_for(lambda: client.count(201) >= 6, timeout=60, what="answers before the restart")
        database.stop()
        wait_for(
            lambda: client.count(503) >= 4,
            timeout=60,
            what=f"503s while the database is away; the last answers: {client.answers[-4:]}",
        )
        database.start()
        before = client.count(201)
        wait_for(lambda: client.count(201) >= before + 6, timeout=120, what="answers after the restart")
        client.stop.set()
        client.join(60)

        statuses = {status for _, status, _ in client.answers}
        assert statuses <= {201, 503}, [a for a in client.answers if a[1] not in (201, 503)]
        assert all("dependency_unavailable" in body for _, status, body in client.answers if status == 503)
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {key}"
        tasks = [i for what, status, i in client.answers if what == "task" and status == 201]
        media = [i for what, status, i in client.answers if what == "media" and status == 201]
        assert tasks and media

        def all_tasks_completed() -> bool:
            return all(
                api.get(f"{base}/api/v1/tasks/{i}", timeout=30).json()["status"] == "completed" for i in tasks
            )

        # Every task accepted before, during or after the outage runs (the workers reconnected).
        wait_for(all_tasks_completed, timeout=120, interval=1, what="every accepted task to complete")
        for i in media:
            assert api.get(f"{base}/api/v1/media/{i}", timeout=30).status_code == 200
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()
        if (database.server.pgdata / "postmaster.pid").exists():
            database.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False
