"""Periodic jobs, run by one ``manage.py run_scheduler`` process (or several: each run of a job
takes a PostgreSQL advisory lock, so only one runs at a time cluster-wide)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)


@dataclass
class PeriodicJob:
    name: str
    every_seconds: float
    fn: Callable[[], object]
    next_run: float = 0.0


_jobs: dict[str, PeriodicJob] = {}


def register_periodic(name: str, every_seconds: float, fn: Callable[[], object]) -> None:
    """Run ``fn()`` every ``every_seconds`` in the scheduler process."""
    if name in _jobs:
        raise ValueError(f"periodic job {name!r} is already registered")
    _jobs[name] = PeriodicJob(name, every_seconds, fn)


def periodic_jobs() -> list[PeriodicJob]:
    return list(_jobs.values())


def run_job(job: PeriodicJob) -> bool:
    """Run ``job`` now unless another scheduler is running it; True if it ran."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [f"periodic:{job.name}"])
        if not cursor.fetchone()[0]:
            return False
    try:
        job.fn()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [f"periodic:{job.name}"])
    return True


def run_forever(stop: threading.Event) -> None:
    """Run each due job, sleeping until the next is due, until ``stop`` is set."""
    while not stop.is_set():
        now = time.monotonic()
        for job in _jobs.values():
            if job.next_run > now:
                continue
            job.next_run = now + job.every_seconds
            close_old_connections()
            try:
                run_job(job)
            except Exception:  # one failing job must not stop the others
                logger.exception("periodic job %s failed", job.name)
                connection.close()
        next_due = min((job.next_run for job in _jobs.values()), default=time.monotonic() + 1)
        stop.wait(max(0.05, next_due - time.monotonic()))
    connection.close()
