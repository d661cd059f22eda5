"""Periodic jobs, run by one ``manage.py run_scheduler`` process (or several: each run of a job
takes a PostgreSQL advisory lock, so only one runs at a time cluster-wide).

The jobs are named in ``settings.PERIODIC_JOBS`` (by dotted path), so this module imports no app."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass
class PeriodicJob:
    name: str
    every_seconds: float
    fn: Callable[[], object]
    next_run: float = 0.0


@cache
def periodic_jobs() -> list[PeriodicJob]:
    """The jobs of ``settings.PERIODIC_JOBS`` (``{name: (every_seconds, "dotted.path")}``)."""
    return [
        PeriodicJob(name, every_seconds, import_string(path))
        for name, (every_seconds, path) in settings.PERIODIC_JOBS.items()
    ]


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
    jobs = periodic_jobs()
    while not stop.is_set():
        now = time.monotonic()
        for job in jobs:
            if job.next_run > now:
                continue
            job.next_run = now + job.every_seconds
            close_old_connections()
            try:
                run_job(job)
            except Exception:  # one failing job must not stop the others
                logger.exception("periodic job %s failed", job.name)
                connection.close()
        next_due = min((job.next_run for job in jobs), default=time.monotonic() + 1)
        stop.wait(max(0.05, next_due - time.monotonic()))
    connection.close()
