"""Fixtures and helpers for task-engine tests: real brokers (both kinds) and in-process workers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import dramatiq
from django.conf import settings
from django.db import connection
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

import tests.tasktypes  # noqa: F401 - registers the test-only task types
from tasks import actors, registry
from tests.waiting import wait_for  # noqa: F401 - callers import it from here


def _bind_actors(broker: dramatiq.Broker) -> None:
    bound = [actors.get_actor(name) for name in registry.type_names()]
    dramatiq.set_broker(broker)
    for actor in bound:
        actor.broker = broker
        broker.declare_actor(actor)


@contextlib.contextmanager
def bound_broker(kind: str, url: str | None = None) -> Iterator[dramatiq.Broker]:
    """A real broker of ``kind`` ("rabbitmq" or "redis") with the project's middleware, bound to
    the task actors for the duration (the ``task_broker`` fixture runs a test on each)."""
    original = dramatiq.get_broker()
    if kind == "rabbitmq":
        broker = RabbitmqBroker(url=url or broker_url(kind), middleware=list(original.middleware))
    else:
        broker = RedisBroker(
            url=url or broker_url(kind),
            namespace=f"{settings.REDIS_KEY_PREFIX}-dramatiq",  # as a worker subprocess has it
            middleware=list(original.middleware),
        )
    _bind_actors(broker)
    if kind == "redis" and url is None:  # a RabbitMQ session has its own fresh vhost
        broker.flush_all()
    try:
        yield broker
    finally:
        broker.close()
        _bind_actors(original)


@contextlib.contextmanager
def running_worker(broker: dramatiq.Broker, threads: int = 4, queues=None) -> Iterator[dramatiq.Worker]:
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100, queues=queues)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(timeout=10_000)


@contextlib.contextmanager
def queue_worker(queues: set[str], threads: int = 1) -> Iterator[dramatiq.Worker]:
    """A real worker on the session broker's ``queues``, after dropping what its queues hold.

    The test thread's RabbitMQ connection is renewed first: it sits idle between tests and pika
    answers heartbeats only when called, so RabbitMQ may have closed it during a long test."""
    broker = dramatiq.get_broker()
    if isinstance(broker, RabbitmqBroker):
        del broker.connection
    broker.flush_all()
    with running_worker(broker, threads=threads, queues=queues) as worker:
        yield worker


def broker_kind(broker: dramatiq.Broker) -> str:
    return "rabbitmq" if isinstance(broker, RabbitmqBroker) else "redis"


def broker_url(kind: str) -> str:
    return os.environ["RABBITMQ_URL"] if kind == "rabbitmq" else os.environ["REDIS_URL"]


@contextlib.contextmanager
def worker_subprocess(kind: str, queue: str, log_path, **env: str) -> Iterator[subprocess.Popen]:
    """A real ``dramatiq`` worker command (1 process, 2 threads) on the test database and broker."""
    url = urlsplit(settings.DATABASE_URL)
    database_url = urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))
    environment = {
        **os.environ,
        "BROKER_URL": broker_url(kind),
        "DATABASE_URL": database_url,
        "TASK_TYPE_MODULES": "tests.tasktypes",
        **env,
    }
    argv = [sys.executable, "-m", "dramatiq", "--processes", "1", "--threads", "2"]
    argv += ["--queues", queue, "--", "django_dramatiq.setup"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=settings.BASE_DIR,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the main process forwards it to its workers
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
