"""What happens when an attempt fails: a retry after exponential backoff, or failure."""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from tasks.dispatch import ring_on_commit
from tasks.models import Task
from tasks.states import transition

Status = Task.Status


def retry_delay_seconds(retry_count: int) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, capped."""
    ceiling = min(
        settings.TASK_RETRY_BACKOFF_MAX_SECONDS,
        settings.TASK_RETRY_BACKOFF_BASE_SECONDS * 2**retry_count,
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def fail_or_retry(task: Task, error: str, *, permanent: bool) -> Task:
    """A locked, processing task's attempt failed: schedule a retry with backoff, or fail it."""
    if permanent or task.retry_count >= task.max_retries:
        return transition(task, Status.FAILED, error=error)
    delay = retry_delay_seconds(task.retry_count)
    now = timezone.now()
    transition(
        task,
        Status.SCHEDULED,
        error=error,
        retry_count=task.retry_count + 1,
        scheduled_at=now + timedelta(seconds=delay),
        rung_at=now,
    )
    if delay <= settings.TASK_BROKER_DELAY_MAX_SECONDS:
        ring_on_commit(task.type, delay)
    return task
