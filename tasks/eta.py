"""When will a task be done, or start: ``eta_seconds`` (processing), ``queue_position`` and
``estimated_start_seconds`` (pending). Each costs at most one indexed query per task (the recent
throughput is one more per type and call)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from tasks.engine import type_limits
from tasks.models import Task

Status = Task.Status

# Progress is meaningless for the first seconds of a run and the first percents (fetching, probing).
ETA_MIN_ELAPSED_SECONDS = 2.0
ETA_MIN_PROGRESS = 3
THROUGHPUT_WINDOW = timedelta(minutes=15)

# Runnable tasks of the type ordered before the given one, by tenant, with each tenant's running
# count: the claim order (priority, then age) over the claim index (task_claim_idx).
_AHEAD_SQL = """
WITH ahead AS (
    SELECT tenant_id, count(*) AS n FROM tasks_task
    WHERE type = %(type)s AND blocked = false
      AND (status = 'pending' OR (status = 'scheduled' AND scheduled_at <= %(now)s))
      AND (priority > %(priority)s OR (priority = %(priority)s AND created_at < %(created_at)s))
    GROUP BY tenant_id
), running AS (
    SELECT tenant_id, count(*) AS n FROM tasks_task
    WHERE type = %(type)s AND status = 'processing' GROUP BY tenant_id
)
SELECT ahead.tenant_id, ahead.n, coalesce(running.n, 0) FROM ahead LEFT JOIN running USING (tenant_id)
"""
_THROUGHPUT_SQL = """
SELECT count(*), min(completed_at) FROM tasks_task
WHERE type = %s AND completed_at >= %s AND status IN ('completed', 'failed')
"""


def annotate(tasks: list[Task], now: datetime | None = None) -> list[Task]:
    """Sets ``eta_seconds``, ``queue_position`` and ``estimated_start_seconds`` on each task (None
    where it does not apply or is not known yet)."""
    now = now or timezone.now()
    throughput: dict[str, float | None] = {}
    for task in tasks:
        task.eta_seconds = eta_seconds(task, now)
        task.queue_position = task.estimated_start_seconds = None
        if task.status == Status.SCHEDULED and task.scheduled_at and task.scheduled_at > now:
            task.estimated_start_seconds = round((task.scheduled_at - now).total_seconds())
        elif task.status in (Status.PENDING, Status.SCHEDULED) and not task.blocked:
            task.queue_position = queue_position(task, now)
            if task.type not in throughput:
                throughput[task.type] = completions_per_second(task.type, now)
            rate = throughput[task.type]
            if rate:
                task.estimated_start_seconds = round((task.queue_position - 1) / rate)
    return tasks


def eta_seconds(task: Task, now: datetime) -> int | None:
    """Seconds left at the average progress rate since the run started (smooth over ffmpeg's
    jitter); None until the run is a few seconds and percents in."""
    if task.status != Status.PROCESSING or task.started_at is None:
        return None
    elapsed = (now - task.started_at).total_seconds()
    if elapsed < ETA_MIN_ELAPSED_SECONDS or not ETA_MIN_PROGRESS <= task.progress < 100:
        return None
    return round(elapsed * (100 - task.progress) / task.progress)


def queue_position(task: Task, now: datetime) -> int:
    """1 = the next task of its type to be claimed. Counts the runnable tasks ordered before it:
    all of its own tenant's, and of each other tenant only as many as that tenant's cap lets it
    start now (a capped tenant's backlog does not hold this one back)."""
    _, max_per_tenant = type_limits(task.type)
    params = {"type": task.type, "now": now, "priority": task.priority, "created_at": task.created_at}
    with connection.cursor() as cursor:
        cursor.execute(_AHEAD_SQL, params)
        rows = cursor.fetchall()
    ahead = 0
    for tenant_id, waiting, running in rows:
        if tenant_id == task.tenant_id or max_per_tenant is None:
            ahead += waiting
        else:
            ahead += min(waiting, max(0, max_per_tenant - running))
    return ahead + 1


def completions_per_second(type_name: str, now: datetime) -> float | None:
    """Tasks of the type finished per second over the last minutes; None without any."""
    with connection.cursor() as cursor:
        cursor.execute(_THROUGHPUT_SQL, [type_name, now - THROUGHPUT_WINDOW])
        count, earliest = cursor.fetchone()
    if not count:
        return None
    window = max(60.0, (now - earliest).total_seconds())
    return count / window
