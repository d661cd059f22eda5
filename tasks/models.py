import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.models import TenantOwned


class Batch(TenantOwned):
    """Tasks created together by ``POST /tasks/batch``; finished when its last task ends."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return f"batch {self.id}"


class Task(TenantOwned):
    class Status(models.TextChoices):
        PENDING = "pending"
        SCHEDULED = "scheduled"
        PROCESSING = "processing"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Phase(models.TextChoices):
        PRE_PROCESSING = "pre_processing"
        RUNNING = "running"
        POST_PROCESSING = "post_processing"

    TERMINAL = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)
    OPEN = (Status.PENDING, Status.SCHEDULED, Status.PROCESSING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    phase = models.CharField(max_length=16, choices=Phase.choices, null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    priority = models.PositiveSmallIntegerField(default=5)
    payload = models.JSONField(default=dict)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    retry_count = models.PositiveIntegerField(default=0)
    max_retries = models.PositiveIntegerField(default=3)
    timeout_seconds = models.PositiveIntegerField()
    media = models.ForeignKey(
        "media.Media", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    # Ids of tasks of the same tenant that must complete first (an array: read with every event).
    depends_on = ArrayField(models.UUIDField(), default=list, blank=True)
    # True while some dependency has not completed; the claim query skips blocked tasks.
    blocked = models.BooleanField(default=False)
    # Some task depends on this one: only then does its end need a look at dependents.
    has_dependents = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Last time a doorbell message was sent for this task; the sweeper re-rings stale ones.
    rung_at = models.DateTimeField(default=timezone.now)

    # The attempt that runs a claimed task: set by the engine's claim, not a column.
    attempt: "TaskAttempt"

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"]),
            models.Index(fields=["tenant", "status", "-created_at"]),
            models.Index(fields=["tenant", "type", "-created_at"]),
            # The claim query: best runnable task of a type.
            models.Index(
                fields=["type", "-priority", "created_at"],
                name="task_claim_idx",
                condition=Q(status__in=["pending", "scheduled"]),
            ),
            # The dependents of a task that ends: only blocked tasks can be waiting on it.
            GinIndex(fields=["depends_on"], name="task_waiting_deps_idx", condition=Q(blocked=True)),
            # Recent throughput of a type (queue ETA): finished tasks by time.
            models.Index(
                fields=["type", "completed_at"],
                name="task_finished_idx",
                condition=Q(completed_at__isnull=False),
            ),
            # Limits and the reaper look at running tasks only.
            models.Index(
                fields=["type", "tenant"], name="task_running_idx", condition=Q(status="processing")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id} ({self.status})"


class TaskAttempt(models.Model):
    """One run of a task by a worker; ``number`` counts from 1 per task."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["task", "number"], name="task_attempt_unique_number")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.task_id}"
