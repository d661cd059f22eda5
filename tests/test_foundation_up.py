"""``make run`` smoke test: ``manage.py up`` on embedded defaults in a fresh folder, then a clean stop."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

import psutil
from django.conf import settings

from tests.services import free_port
from tests.waiting import wait_for

# Everything that would point the instance at the test session's servers: it must use its own.
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "BROKER_URL",
    "RABBITMQ_URL",
    "REDIS_KEY_PREFIX",
    "SECRET_KEY",
)


def get(url: str, key: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def ready(base: str) -> bool:
    try:
        return get(f"{base}/readyz")[0] == 200
    except OSError:
        return False


def process_tree(root: int, data_dir: Path) -> list[psutil.Process]:
    """``up`` with its descendants, plus the embedded PostgreSQL (pg_ctl detaches it)."""
    parent = psutil.Process(root)
    tree = [parent, *parent.children(recursive=True)]
    postmaster = psutil.Process(int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0]))
    return tree + [postmaster, *postmaster.children(recursive=True)]


def processes_using(data_dir: Path) -> list[dict]:
    """Processes whose command line names the folder (postgres -D, redis-server's socket, ...)."""
    return [
        p.info
        for p in psutil.process_iter(["pid", "name", "cmdline"])
        if str(data_dir) in " ".join(p.info["cmdline"] or [])
    ]


class Instance:
    """``manage.py up`` as a subprocess; ``stop()`` signals it and returns the exit status."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.base = f"http://127.0.0.1:{free_port()}"
        self.env = {
            k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES and not k.startswith("S3_")
        }
        self.env.update(
            MEDIAHUB_DATA=str(data_dir),
            PORT=self.base.rsplit(":", 1)[1],
            # small, the machine is shared: still every kind of process
            WEB_CONCURRENCY="2",
            TASK_WORKER_PROCESSES="1",
            TASK_CPU_WORKER_PROCESSES="1",
            GUNICORN_ACCESS_LOG="false",
        )
        self.process = subprocess.Popen(
            [*MANAGE, "up"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.output: list[str] = []
        self.reader = threading.Thread(target=lambda: self.output.extend(self.process.stdout), daemon=True)
        self.reader.start()

    def wait_ready(self) -> str:
        """Waits for /readyz and returns the demo key of the banner."""
        wait_for(
            lambda: ready(self.base) or self.process.poll() is not None, 180, interval=0.3, what="/readyz"
        )
        assert self.process.poll() is None, self.log()
        return wait_for(
            lambda: re.search(r"API key\s+(mh_live_\S+)", self.log()), 10, interval=0.3, what="the banner"
        )[1]

    def log(self) -> str:
        return "".join(self.output)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        try:
            return self.process.wait(90)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
            self.reader.join(5)


MANAGE = [sys.executable, str(settings.BASE_DIR / "manage.py")]


def worker_groups_of(instance: Instance) -> dict[int, list[int]]:
    """Each Dramatiq main process under ``up`` with its worker processes."""
    return {
        child.pid: [p.pid for p in child.children()]
        for child in psutil.Process(instance.process.pid).children()
        if "dramatiq" in " ".join(child.cmdline())
    }


def restart_a_killed_worker_group(instance: Instance, key: str) -> list[psutil.Process]:
    """Kills one worker process while a client keeps calling the API; returns the new tree."""
    failures, calls, stop = [], [], threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                status = get(f"{instance.base}/api/v1/tenant", key)[0]
            except OSError as exc:
                status = repr(exc)
            calls.append(status)
            if status != 200:
                failures.append(status)

    before = worker_groups_of(instance)
    main_pid, workers = next((main, workers) for main, workers in before.items() if workers)
    thread = threading.Thread(target=client)
    thread.start()
    try:
        wait_for(lambda: len(calls) >= 3, 30, what="the client's first calls")
        os.kill(workers[0], signal.SIGKILL)
        wait_for(lambda: "restarted (pid" in instance.log(), 60, interval=0.3, what="the restart")
        wait_for(
            lambda: (
                len(worker_groups_of(instance)) == len(before) and all(worker_groups_of(instance).values())
            ),
            60,
            interval=0.3,
            what="the restarted group's worker processes",
        )
        calls_after_restart = len(calls)
        wait_for(lambda: len(calls) >= calls_after_restart + 3, 30, what="calls after the restart")
    finally:
        stop.set()
        thread.join(10)
    assert failures == [], failures
    assert main_pid not in worker_groups_of(instance)
    assert "exited unexpectedly with status 1; restarting it in 0.5 s" in instance.log()
    assert instance.process.poll() is None
    return process_tree(instance.process.pid, instance.data_dir)


def test_up_serves_the_api_stops_cleanly_and_restarts_on_its_data():
    data_dir = Path(tempfile.mkdtemp(prefix="mh-up-"))  # short: unix socket paths are limited
    first = Instance(data_dir)
    try:
        demo_key = first.wait_ready()
        status, body = get(f"{first.base}/api/v1/tenant", demo_key)
        assert (status, body["slug"]) == (200, "demo")

        # another shell, same MEDIAHUB_DATA: reaches the running instance's database
        created = subprocess.run(
            [*MANAGE, "create_tenant", "Smoke Test Inc"],
            env=first.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert created.returncode == 0, created.stderr
        key = re.search(r"mh_live_\S+", created.stdout)[0]
        status, body = get(f"{first.base}/api/v1/tenant", key)
        assert (status, body["name"]) == (200, "Smoke Test Inc")

        # /metrics sums the gunicorn workers (two here): every answer above is counted once
        for _ in range(10):
            assert get(f"{first.base}/api/v1/tenant", key)[0] == 200
        with urllib.request.urlopen(f"{first.base}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        counted = re.search(
            r'mediahub_http_requests_total\{method="GET",route="api/v1/tenant",status="200"\} (\S+)', metrics
        )
        assert float(counted[1]) == 12, metrics

        tree = process_tree(first.process.pid, data_dir)
        names = {p.name() for p in tree}
        assert {"postgres", "redis-server"} <= names, names
        assert any("gunicorn" in " ".join(p.cmdline()) for p in tree)
        assert any("dramatiq" in " ".join(p.cmdline()) for p in tree)
        assert any("run_scheduler" in " ".join(p.cmdline()) for p in tree)

        # kill -9 one worker process: its group is restarted, the API answers all along
        tree = restart_a_killed_worker_group(first, key)
    finally:
        assert first.stop() == 0, first.log()
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, [(p.pid, p.name()) for p in alive]
    assert not processes_using(data_dir)

    second = Instance(data_dir)
    try:
        new_demo_key = second.wait_ready()
        assert get(f"{second.base}/api/v1/tenant", key)[1]["name"] == "Smoke Test Inc"  # data kept
        assert get(f"{second.base}/api/v1/tenant", demo_key)[0] == 401  # the old demo key was revoked
        assert get(f"{second.base}/api/v1/tenant", new_demo_key)[0] == 200
    finally:
        assert second.stop(signal.SIGINT) == 0, second.log()  # Ctrl-C
    wait_for(
        lambda: not processes_using(data_dir), 10, interval=0.3, what="the second instance's processes to end"
    )
    shutil.rmtree(data_dir, ignore_errors=True)
