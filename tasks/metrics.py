"""Task gauges for ``/metrics``, read from the database at scrape time (two small queries served
by the partial indexes on open tasks)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from tasks import registry
from tasks.models import Task

logger = logging.getLogger(__name__)


class TaskCollector:
    def collect(self) -> Iterator[Metric]:
        try:
            counts = {
                (type_, status): n
                for type_, status, n in Task.objects.filter(status__in=Task.OPEN)
                .values_list("type", "status")
                .annotate(n=Count("pk"))
                .order_by()
            }
            oldest = dict(
                Task.objects.filter(status=Task.Status.PENDING, blocked=False)
                .values_list("type")
                .annotate(oldest=Min("created_at"))
                .order_by()
            )
        except DatabaseError:
            logger.warning("task gauges unavailable: database error", exc_info=True)
            return
        open_tasks = GaugeMetricFamily(
            "mediahub_tasks_open", "Tasks waiting or running, by type and status.", labels=["type", "status"]
        )
        waiting = GaugeMetricFamily(
            "mediahub_tasks_oldest_pending_age_seconds",
            "Age of the oldest runnable pending task, by type (0 when none).",
            labels=["type"],
        )
        now = timezone.now()
        for type_name in sorted({*registry.type_names(), *(t for t, _ in counts)}):
            for status in Task.OPEN:
                open_tasks.add_metric([type_name, status], counts.get((type_name, status), 0))
            since = oldest.get(type_name)
            waiting.add_metric([type_name], (now - since).total_seconds() if since else 0)
        yield open_tasks
        yield waiting
