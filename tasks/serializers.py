from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from mediahub.api.serializers import StrictFieldsMixin
from tasks.models import Task, TaskAttempt


class TaskAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = TaskAttempt
        fields = ["number", "started_at", "finished_at", "error"]


class TaskSerializer(serializers.ModelSerializer):
    """The task's API representation (also the ``data`` of ``task.*`` events)."""

    media = serializers.UUIDField(source="media_id", allow_null=True, read_only=True)
    batch = serializers.UUIDField(source="batch_id", allow_null=True, read_only=True)
    depends_on = serializers.SerializerMethodField()
    attempts = TaskAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "type",
            "name",
            "status",
            "phase",
            "progress",
            "priority",
            "payload",
            "result",
            "error",
            "retry_count",
            "max_retries",
            "timeout_seconds",
            "media",
            "batch",
            "depends_on",
            "metadata",
            "created_at",
            "scheduled_at",
            "started_at",
            "completed_at",
            "attempts",
        ]
        read_only_fields = fields

    def get_depends_on(self, task: Task) -> list[str]:
        return [str(dependency.pk) for dependency in task.depends_on.all()]


class TaskCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    """A ``POST /tasks`` body; the payload itself is checked by ``services.create_task``."""

    type = serializers.CharField(max_length=64)
    payload = serializers.JSONField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    priority = serializers.IntegerField(min_value=0, max_value=10, default=5)
    max_retries = serializers.IntegerField(min_value=0, max_value=20, required=False)
    timeout_seconds = serializers.IntegerField(
        min_value=1, max_value=settings.TASK_MAX_TIMEOUT_SECONDS, required=False
    )
    depends_on = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=100)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)
    metadata = serializers.DictField(required=False)


class BatchSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())
    progress = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


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
