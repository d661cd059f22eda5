"""Fixtures and helpers for task-engine tests: real brokers (both kinds) and in-process workers."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator

import dramatiq
from django.conf import settings
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

import tests.tasktypes  # noqa: F401 - registers the test-only task types
from tasks import registry


def wait_for(condition: Callable[[], object], timeout: float = 20, interval: float = 0.05):
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s: {condition}")


def _bind_actors(broker: dramatiq.Broker) -> None:
    dramatiq.set_broker(broker)
    for actor in registry.actors():
        actor.broker = broker
        broker.declare_actor(actor)


@contextlib.contextmanager
def bound_broker(kind: str) -> Iterator[dramatiq.Broker]:
    """A real broker of ``kind`` ("rabbitmq" or "redis") with the project's middleware, bound to
    the task actors for the duration (the ``task_broker`` fixture runs a test on each)."""
    original = dramatiq.get_broker()
    if kind == "rabbitmq":
        broker = RabbitmqBroker(url=os.environ["RABBITMQ_URL"], middleware=list(original.middleware))
    else:
        broker = RedisBroker(
            url=os.environ["REDIS_URL"],
            namespace=f"{settings.REDIS_KEY_PREFIX}-dramatiq-test",
            middleware=list(original.middleware),
        )
    _bind_actors(broker)
    if kind == "redis":  # a RabbitMQ session has its own fresh vhost
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
