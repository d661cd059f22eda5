"""A bounded pool of render slots per API process, with a bounded waiting line.

Renders run in the request's own thread, but at most ``IMAGE_TRANSFORM_CONCURRENCY`` at once and
with at most ``IMAGE_TRANSFORM_QUEUE`` requests waiting; anything beyond is refused at once
(``Saturated`` → 503 + Retry-After). So however many new transform URLs arrive, most request
threads stay free for everything else (``/healthz``, cache hits, the rest of the API).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from django.conf import settings


class Saturated(Exception):
    pass


class Gate:
    def __init__(self, workers: int, queue: int):
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._queue = queue
        self._waiting = 0

    def saturated(self) -> bool:
        """No free slot and a full waiting line: a new render would be refused (a racy peek)."""
        return self._slots._value == 0 and self._waiting >= self._queue

    @contextmanager
    def slot(self, wait_seconds: float) -> Iterator[None]:
        if not self._slots.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self._queue:
                    raise Saturated
                self._waiting += 1
            try:
                acquired = self._slots.acquire(timeout=wait_seconds)
            finally:
                with self._lock:
                    self._waiting -= 1
            if not acquired:
                raise Saturated
        try:
            yield
        finally:
            self._slots.release()


@cache
def _gate(workers: int, queue: int) -> Gate:
    return Gate(workers, queue)


def render_gate() -> Gate:
    return _gate(max(1, settings.IMAGE_TRANSFORM_CONCURRENCY), max(0, settings.IMAGE_TRANSFORM_QUEUE))


@contextmanager
def render_slot() -> Iterator[None]:
    with render_gate().slot(settings.IMAGE_TRANSFORM_QUEUE_WAIT_SECONDS):
        yield
