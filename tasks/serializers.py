from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from mediahub.api.serializers import BoundedJSONField, StrictFieldsMixin
from tasks import registry
from tasks.models import Batch, Task
from tasks.selectors import batch_summary


# Plain serializers with explicit fields: they run for every task event a worker emits, and
# ModelSerializer's per-instance model introspection was a tenth of a worker's CPU per task.
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
    return TaskSerializer(obj).data


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
