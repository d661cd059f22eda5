from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.settings import api_settings

from mediahub.api.serializers import BoundedJSONField, StrictFieldsMixin
from tasks import registry
from tasks.models import Batch, Task
from tasks.selectors import batch_summary


# The fields declare the schema; the data comes from ``task_representation``, built by hand: it is
# the data of every task event a worker emits, and DRF's field-by-field output cost more than the
# SQL of a claimed batch. ``tests/test_tasks_api.py`` keeps both in step.
class TaskAttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    error = serializers.CharField(read_only=True)


class TaskSerializer(serializers.Serializer):
    """The task's API representation (also the ``data`` of ``task.*`` events)."""

    id = serializers.UUIDField(read_only=True)
    type = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Task.Status.choices, read_only=True)
    phase = serializers.ChoiceField(choices=Task.Phase.choices, read_only=True, allow_null=True)
    progress = serializers.IntegerField(read_only=True)
    priority = serializers.IntegerField(read_only=True)
    payload = serializers.JSONField(read_only=True)
    result = serializers.JSONField(read_only=True, allow_null=True)
    error = serializers.CharField(read_only=True)
    retry_count = serializers.IntegerField(read_only=True)
    max_retries = serializers.IntegerField(read_only=True)
    timeout_seconds = serializers.IntegerField(read_only=True)
    media = serializers.UUIDField(source="media_id", read_only=True, allow_null=True)
    batch = serializers.UUIDField(source="batch_id", read_only=True, allow_null=True)
    depends_on = serializers.ListField(child=serializers.UUIDField(), read_only=True)
    metadata = serializers.JSONField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    scheduled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    completed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    attempts = TaskAttemptSerializer(many=True, read_only=True)

    def to_representation(self, instance: Task) -> dict[str, Any]:
        return task_representation(instance)


class TaskWithEtaSerializer(TaskSerializer):
    """``GET /tasks/{id}`` (and lists with ``?include=eta``): the task with its time estimates."""

    eta_seconds = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Processing: seconds left at the current rate."
    )
    queue_position = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Pending: 1 = next of its type to start."
    )
    estimated_start_seconds = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Pending: seconds until it starts, from recent throughput."
    )

    def to_representation(self, instance: Task) -> dict[str, Any]:
        return {
            **task_representation(instance),
            **{name: getattr(instance, name, None) for name in ETA_FIELDS},
        }


ETA_FIELDS = ("eta_seconds", "queue_position", "estimated_start_seconds")


def task_representation(task: Task) -> dict[str, Any]:
    """The task's API representation, as ``TaskSerializer`` declares it."""
    return {
        "id": str(task.id),
        "type": task.type,
        "name": task.name,
        "status": task.status,
        "phase": task.phase,
        "progress": task.progress,
        "priority": task.priority,
        "payload": task.payload,
        "result": task.result,
        "error": task.error,
        "retry_count": task.retry_count,
        "max_retries": task.max_retries,
        "timeout_seconds": task.timeout_seconds,
        "media": _uuid(task.media_id),
        "batch": _uuid(task.batch_id),
        "depends_on": [str(task_id) for task_id in task.depends_on],
        "metadata": task.metadata,
        "created_at": _datetime(task.created_at),
        "scheduled_at": _datetime(task.scheduled_at),
        "started_at": _datetime(task.started_at),
        "completed_at": _datetime(task.completed_at),
        "attempts": [
            {
                "number": attempt.number,
                "started_at": _datetime(attempt.started_at),
                "finished_at": _datetime(attempt.finished_at),
                "error": attempt.error,
            }
            for attempt in task.attempts.all()
        ],
    }


def _uuid(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def _datetime(value: datetime | None) -> str | None:
    """As DRF's ``DateTimeField`` writes it: in the current time zone, in the API's format; but a
    year below 1000 (a client's ``scheduled_at``) has four digits, which glibc's ``%Y`` leaves out."""
    if value is None:
        return None
    value = timezone.localtime(value)
    return value.strftime(api_settings.DATETIME_FORMAT.replace("%Y", f"{value.year:04d}"))


class TaskTypeField(serializers.CharField):
    """The name of a registered task type (the schema lists them)."""


class TaskTypeFieldExtension(OpenApiSerializerFieldExtension):
    target_class = TaskTypeField

    def map_serializer_field(self, auto_schema, direction):
        # A pattern, not an enum: the names change with the installed types, and drf-spectacular
        # would name an enum after the field ("type"), which other enums share.
        return {"type": "string", "pattern": f"^({'|'.join(map(re.escape, registry.type_names()))})$"}


class TaskCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    """A ``POST /tasks`` body; the payload itself is checked by ``services.create_task``."""

    type = TaskTypeField(max_length=64)
    payload = BoundedJSONField(object_only=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    priority = serializers.IntegerField(min_value=0, max_value=10, default=5)
    max_retries = serializers.IntegerField(min_value=0, max_value=20, required=False)
    timeout_seconds = serializers.IntegerField(
        min_value=1, max_value=settings.TASK_MAX_TIMEOUT_SECONDS, required=False
    )
    depends_on = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=100)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)
    metadata = BoundedJSONField(object_only=True, required=False)


class BatchSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())
    progress = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


def event_data(obj: Task | Batch) -> dict[str, Any]:
    """The ``data`` of ``task.*`` events (the task's API representation) and ``batch.*`` events
    (the summary of ``GET /batches/{id}``)."""
    if isinstance(obj, Batch):
        return BatchSerializer(batch_summary(batch=obj)).data
    return task_representation(obj)


class TaskStatsQuerySerializer(StrictFieldsMixin, serializers.Serializer):
    type = serializers.CharField(required=False, max_length=64)
    start_date = serializers.DateTimeField(required=False)
    end_date = serializers.DateTimeField(required=False)


class TaskStatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())
    by_type = serializers.DictField(child=serializers.IntegerField())
    average_duration_seconds = serializers.FloatField(allow_null=True)
    p95_duration_seconds = serializers.FloatField(allow_null=True)
    average_queue_seconds = serializers.FloatField(allow_null=True)
    success_rate = serializers.FloatField(allow_null=True)


class BatchCreatedSerializer(serializers.Serializer):
    batch = serializers.UUIDField()
    tasks = TaskSerializer(many=True)
