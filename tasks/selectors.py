"""Read-side queries: task listing filters, stats, batch summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import django_filters
from django.db import connection
from django.db.models import Count, QuerySet

from mediahub.api.filtering import IsoDateTimeFilter
from tasks import registry
from tasks.models import Batch, Task
from tenants.models import Tenant


def tasks_for_api(*, queryset: QuerySet[Task]) -> QuerySet[Task]:
    """Tasks with what their representation needs, in as few queries as possible."""
    return queryset.prefetch_related("attempts")


class TaskFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Task.Status.choices)
    type = django_filters.CharFilter()
    media = django_filters.UUIDFilter(field_name="media_id")
    batch = django_filters.UUIDFilter(field_name="batch_id")
    start_date = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    end_date = IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = Task
        fields = ["status", "type", "media", "batch", "start_date", "end_date"]


# One pass over the tenant's (filtered) tasks: counts per (status, type) and, in the grand-total
# row of the grouping sets, the duration and queue-time aggregates.
_STATS_SQL = """
SELECT status, type, count(*),
       avg(extract(epoch FROM completed_at - started_at)) FILTER (WHERE status = 'completed'),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at))
           FILTER (WHERE status = 'completed'),
       avg(extract(epoch FROM started_at - greatest(created_at, scheduled_at)))
           FILTER (WHERE started_at IS NOT NULL)
FROM tasks_task
WHERE {where}
GROUP BY GROUPING SETS ((status, type), ())
"""


def task_stats(
    *,
    tenant: Tenant,
    type_name: str | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
) -> dict[str, Any]:
    """Counts by status and by type (every one present, zeros included), average and p95 run time
    of completed tasks, average wait from runnable to started, and completed / (completed+failed).
    """
    where = ["tenant_id = %s"]
    params: list[Any] = [tenant.pk]
    for clause, value in (("type = %s", type_name), ("created_at >= %s", start_date)):
        if value is not None:
            where.append(clause)
            params.append(value)
    if end_date is not None:
        where.append("created_at <= %s")
        params.append(end_date)
    with connection.cursor() as cursor:
        cursor.execute(_STATS_SQL.format(where=" AND ".join(where)), params)
        rows = cursor.fetchall()

    by_status = dict.fromkeys(Task.Status.values, 0)
    by_type = dict.fromkeys(registry.type_names(), 0)
    total, average, p95, queue = 0, None, None, None
    for status, type_, count, avg_duration, p95_duration, avg_queue in rows:
        if status is None:  # the grand-total row
            total, average, p95, queue = count, avg_duration, p95_duration, avg_queue
        else:
            by_status[status] += count
            by_type[type_] = by_type.get(type_, 0) + count
    finished = by_status["completed"] + by_status["failed"]
    return {
        "total": total,
        "by_status": by_status,
        "by_type": by_type,
        "average_duration_seconds": _seconds(average),
        "p95_duration_seconds": _seconds(p95),
        "average_queue_seconds": _seconds(queue),
        "success_rate": round(by_status["completed"] / finished, 4) if finished else None,
    }


def _seconds(value) -> float | None:
    return None if value is None else round(float(value), 3)


def batch_summary(*, batch: Batch) -> dict[str, Any]:
    """``{id, total, by_status, progress, created_at, finished_at}``; progress counts ended tasks
    as 100 % and running ones by their own progress."""
    by_status = dict.fromkeys(Task.Status.values, 0)
    progress_sum = 0
    rows = batch.tasks.values("status", "progress").annotate(n=Count("pk")).order_by()
    for row in rows:
        by_status[row["status"]] += row["n"]
        done = row["status"] in Task.TERMINAL
        progress_sum += (100 if done else row["progress"]) * row["n"]
    total = sum(by_status.values())
    return {
        "id": batch.pk,
        "total": total,
        "by_status": by_status,
        "progress": round(progress_sum / total) if total else 0,
        "created_at": batch.created_at,
        "finished_at": batch.finished_at,
    }
