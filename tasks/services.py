"""Business rules of tasks: creation, the state machine, cancel/retry/delete, batches."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from mediahub.errors import Conflict, Invalid, NotFound
from mediahub.events.outbox import emit
from tasks import registry
from tasks.dispatch import ring_on_commit
from tasks.models import Batch, Task, TaskAttempt
from tasks.selectors import batch_summary
from tasks.serializers import BatchSerializer, TaskSerializer
from tasks.types import TaskType
from tasks.validation import schema_errors
from tenants.models import Tenant

Status = Task.Status

# Every legal move; anything else is a bug or a 409.
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    Status.PENDING: {Status.PROCESSING, Status.CANCELLED},
    Status.SCHEDULED: {Status.PENDING, Status.PROCESSING, Status.CANCELLED},
    # → scheduled: retry after backoff; → pending: released by a worker shutting down.
    Status.PROCESSING: {
        Status.COMPLETED,
        Status.FAILED,
        Status.CANCELLED,
        Status.SCHEDULED,
        Status.PENDING,
    },
    Status.FAILED: {Status.PENDING},
    Status.CANCELLED: {Status.PENDING},
    Status.COMPLETED: set(),
}

_EVENTS = {
    Status.PROCESSING: "task.started",
    Status.COMPLETED: "task.completed",
    Status.FAILED: "task.failed",
    Status.CANCELLED: "task.cancelled",
}
# Moves back to waiting that are retries (a release or a due schedule is not an event).
_RETRYING = {
    (Status.PROCESSING, Status.SCHEDULED),
    (Status.FAILED, Status.PENDING),
    (Status.CANCELLED, Status.PENDING),
}


class IllegalTransition(Conflict):
    def __init__(self, task: Task, to: str):
        super().__init__(
            f"The task is {task.status}; it cannot become {to}.",
            code="invalid_task_state",
            details={"status": task.status},
        )


def transition(task: Task, to: str, **changes: Any) -> Task:
    """Move ``task`` to status ``to``: the only way a status changes.

    The caller holds the row lock (``lock_task``) inside a transaction. Records timestamps, emits
    the matching ``task.*`` event and applies the consequences of a terminal state (type hooks,
    dependents, batch completion) in that same transaction.
    """
    fields, event = move(task, to, timezone.now(), changes)
    # Only what the move changes, so a concurrent edit (priority, progress) is not overwritten.
    task.save(update_fields=fields)
    if event:
        emit(task.tenant, event, task_data(task))
    if to in Task.TERMINAL:
        after_terminal(task)
    return task


def move(task: Task, to: str, now: datetime, changes: dict[str, Any]) -> tuple[set[str], str | None]:
    """Apply the move to ``task`` in memory (``transition`` without the writes); returns the fields
    it changed and the event to emit, if any. Raises ``IllegalTransition``."""
    if to not in ALLOWED_TRANSITIONS[task.status]:
        raise IllegalTransition(task, to)
    from_status = task.status
    task.status = to
    task.phase = Task.Phase.PRE_PROCESSING if to == Status.PROCESSING else None
    fields = {"status", "phase", *changes}
    if to == Status.PROCESSING:
        task.started_at = task.heartbeat_at = now
        task.completed_at = None
        fields |= {"started_at", "heartbeat_at", "completed_at"}
    elif to in Task.TERMINAL:
        task.completed_at = now
        fields.add("completed_at")
    for field, value in changes.items():
        setattr(task, field, value)
    return fields, "task.retrying" if (from_status, to) in _RETRYING else _EVENTS.get(to)


def task_data(task: Task) -> dict[str, Any]:
    """The task's API representation (event data)."""
    return TaskSerializer(task).data


def batch_data(batch: Batch) -> dict[str, Any]:
    """The batch summary of ``GET /batches/{id}`` (event data)."""
    return BatchSerializer(batch_summary(batch=batch)).data


def lock_task(task_id: uuid.UUID) -> Task | None:
    """The task row locked for update (with its tenant), or None if it is gone."""
    return Task.objects.select_for_update(of=("self",)).select_related("tenant").filter(pk=task_id).first()


def _lock_existing(task: Task) -> Task:
    locked = lock_task(task.pk)
    if locked is None:  # deleted meanwhile
        raise NotFound("No such task.")
    return locked


def after_terminal(task: Task, finish_batch: bool = True) -> None:
    """Consequences of a terminal state: the type's hook, dependents, and (unless the caller does
    it once for many tasks) the batch."""
    task_type = registry.find_type(task.type)
    if task_type is not None:
        hook = {
            Status.COMPLETED: task_type.on_completed,
            Status.FAILED: task_type.on_failed,
            Status.CANCELLED: task_type.on_cancelled,
        }[task.status]
        hook(task)
    if task.has_dependents and task.status == Status.COMPLETED:
        _unblock_dependents(task)
    elif task.has_dependents:
        _cancel_dependents(task, f"Dependency {task.id} was {task.status}.")
    if task.batch_id and finish_batch:
        finish_batch_if_done(task.batch_id)


def _waiting_on(task: Task) -> QuerySet[Task]:
    # A task waiting on an unfinished dependency is blocked, which keeps this lookup small.
    return Task.objects.filter(blocked=True, depends_on__contains=[task.pk])


def _unfinished(task_ids: Iterable[uuid.UUID]) -> QuerySet[Task]:
    return Task.objects.filter(pk__in=task_ids).exclude(status=Status.COMPLETED)


def _unblock_dependents(task: Task) -> None:
    waiting = _waiting_on(task).filter(status__in=[Status.PENDING, Status.SCHEDULED])
    for dependent in waiting.select_for_update(of=("self",)).select_related("tenant"):
        if not _unfinished(dependent.depends_on).exists():
            dependent.blocked = False
            dependent.rung_at = timezone.now()
            dependent.save(update_fields=["blocked", "rung_at"])
            ring_on_commit(dependent.type)


def _cancel_dependents(task: Task, reason: str) -> None:
    open_dependents = _waiting_on(task).filter(status__in=Task.OPEN)
    for dependent in open_dependents.select_for_update(of=("self",)).select_related("tenant"):
        _cancel(dependent, reason)


def _cancel(task: Task, reason: str) -> Task:
    """Cancel a locked open task; a worker running it notices and stops."""
    close_open_attempt(task, reason)
    return transition(task, Status.CANCELLED, error=reason)


def close_open_attempt(task: Task, error: str) -> None:
    TaskAttempt.objects.filter(task=task, finished_at__isnull=True).update(
        finished_at=timezone.now(), error=error
    )


# --- creation ---


def create_task(
    *,
    tenant: Tenant,
    type_name: str,
    payload: dict[str, Any],
    name: str | None = None,
    priority: int = 5,
    max_retries: int | None = None,
    timeout_seconds: int | None = None,
    depends_on: Iterable[Task | uuid.UUID | str] = (),
    scheduled_at: datetime | None = None,
    metadata: dict[str, Any] | None = None,
    media: Model | None = None,
    batch: Batch | None = None,
) -> Task:
    """Validate and insert a task, emit ``task.created`` and ring its queue on commit.

    Call it inside the transaction of whatever caused the task. ``media`` defaults to what the
    type's ``media_for`` finds in the payload. Raises ``Invalid`` naming the bad field.
    """
    now = timezone.now()
    delayed = scheduled_at is not None and scheduled_at > now
    with transaction.atomic():
        task_type = _checked_type(type_name, payload)
        if media is None:
            media = task_type.media_for(tenant, payload)
        task_type.validate_payload(tenant, payload, media)
        dependencies = _locked_dependencies(tenant, depends_on)
        task = Task.objects.create(
            tenant=tenant,
            type=type_name,
            name=name or "",
            status=Status.SCHEDULED if delayed else Status.PENDING,
            priority=priority,
            payload=payload,
            max_retries=task_type.default_max_retries if max_retries is None else max_retries,
            timeout_seconds=timeout_seconds or task_type.default_timeout_seconds,
            media=media,
            batch=batch,
            depends_on=[d.pk for d in dependencies],
            blocked=any(d.status != Status.COMPLETED for d in dependencies),
            metadata=metadata or {},
            created_at=now,
            scheduled_at=scheduled_at,
            rung_at=now,
        )
        if dependencies:
            Task.objects.filter(pk__in=task.depends_on, has_dependents=False).update(has_dependents=True)
        emit(tenant, "task.created", task_data(task))
        if not task.blocked:
            delay = (scheduled_at - now).total_seconds() if delayed else None
            if delay is None or delay <= settings.TASK_BROKER_DELAY_MAX_SECONDS:
                ring_on_commit(type_name, delay)
    return task


def _checked_type(type_name: str, payload: dict[str, Any]) -> TaskType:
    """The registered type, once ``payload`` matches its JSON schema."""
    task_type = registry.find_type(type_name)
    if task_type is None:
        available = ", ".join(registry.type_names())
        raise Invalid({"type": [f"Unknown task type {type_name!r}; available: {available}."]})
    if not isinstance(payload, dict):
        raise Invalid({"payload": ["Must be a JSON object."]})
    errors = schema_errors(task_type.payload_schema, payload)
    if errors:
        raise Invalid({"payload": errors})
    return task_type


def _locked_dependencies(tenant: Tenant, depends_on: Iterable[Task | uuid.UUID | str]) -> list[Task]:
    """The tenant's tasks named in ``depends_on``, row-locked: a dependency ending right now either
    commits first (and is seen as ended here) or waits and then sees the new dependent."""
    try:
        ids = {d.pk if isinstance(d, Task) else uuid.UUID(str(d)) for d in depends_on}
    except ValueError:
        raise Invalid({"depends_on": ["Must be a list of task ids."]}) from None
    if not ids:
        return []
    found = list(Task.objects.for_tenant(tenant).filter(pk__in=ids).order_by("pk").select_for_update())
    problems = [f"Unknown task {i}." for i in sorted(map(str, ids - {t.pk for t in found}))]
    problems += [
        f"Task {t.pk} is {t.status}; it can never complete."
        for t in found
        if t.status in (Status.FAILED, Status.CANCELLED)
    ]
    if problems:
        raise Invalid({"depends_on": problems})
    return found


def create_batch(*, tenant: Tenant, specs: Sequence[Mapping[str, Any]]) -> tuple[Batch, list[Task]]:
    """Create every task of ``specs`` (validated ``POST /tasks`` bodies: ``type``, ``payload`` and
    other ``create_task`` keywords) in one batch, all or nothing; errors are reported per index."""
    with transaction.atomic():
        batch = Batch.objects.create(tenant=tenant)
        created, errors = [], {}
        for index, spec in enumerate(specs):
            spec = dict(spec)
            try:
                with transaction.atomic():
                    created.append(
                        create_task(
                            tenant=tenant,
                            type_name=spec.pop("type"),
                            payload=spec.pop("payload"),
                            batch=batch,
                            **spec,
                        )
                    )
            except Invalid as exc:
                errors[str(index)] = exc.details
        if errors:
            transaction.set_rollback(True)
            raise Invalid({"tasks": errors})
        emit(tenant, "batch.created", batch_data(batch))
    return batch, created


def finish_batch_if_done(batch_id: uuid.UUID) -> None:
    # The row lock serialises the last tasks of a batch ending at the same time, so exactly one
    # of them sees "nothing open" and finishes the batch.
    batch = Batch.objects.select_for_update().select_related("tenant").get(pk=batch_id)
    if batch.finished_at is None and not batch.tasks.filter(status__in=Task.OPEN).exists():
        batch.finished_at = timezone.now()
        batch.save(update_fields=["finished_at"])
        emit(batch.tenant, "batch.finished", batch_data(batch))


# --- operations on one task ---


def cancel_task(*, task: Task, reason: str = "") -> Task:
    """Cancel a pending, scheduled or processing task (a worker running it stops within ~1 s);
    other states are a ``Conflict``."""
    with transaction.atomic():
        task = _lock_existing(task)
        if task.status not in Task.OPEN:
            raise IllegalTransition(task, Status.CANCELLED)
        return _cancel(task, reason or "Cancelled.")


def retry_task(*, task: Task) -> Task:
    """Run a failed or cancelled task again, from scratch, with a fresh retry budget."""
    with transaction.atomic():
        task = _lock_existing(task)
        if task.status not in (Status.FAILED, Status.CANCELLED):
            raise IllegalTransition(task, Status.PENDING)
        dead = _unfinished(task.depends_on).filter(status__in=[Status.FAILED, Status.CANCELLED])
        if dead.exists():
            raise Conflict(
                "A dependency did not complete; retry it first.",
                code="dependency_not_completed",
                details={"depends_on": [str(pk) for pk in dead.values_list("pk", flat=True)]},
            )
        transition(
            task,
            Status.PENDING,
            progress=0,
            error="",
            result=None,
            retry_count=0,
            completed_at=None,
            scheduled_at=None,
            blocked=_unfinished(task.depends_on).exists(),
            rung_at=timezone.now(),
        )
        if not task.blocked:
            ring_on_commit(task.type)
        return task


def delete_task(*, task: Task) -> None:
    """Delete a task; an open one is cancelled first (a running worker stops), so dependents and
    the batch see it end. Stored inputs and outputs are kept."""
    with transaction.atomic():
        task = lock_task(task.pk)
        if task is None:
            return
        if task.status in Task.OPEN:
            _cancel(task, "Deleted.")
        emit(task.tenant, "task.deleted", task_data(task))
        task.delete()


# --- outcomes of an attempt (called by the engine and the reaper) ---


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
