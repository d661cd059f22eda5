"""The task state machine: the only way a status changes, and what a terminal state sets off
(the type's hook, dependents unblocked or cancelled, the batch finished), in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from mediahub.errors import Conflict, NotFound
from mediahub.events.outbox import emit
from tasks import registry
from tasks.dispatch import ring_on_commit
from tasks.models import Batch, Task, TaskAttempt
from tasks.serializers import event_data

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

_EVENTS: dict[str, str] = {
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
        emit(task.tenant, event, event_data(task))
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


def lock_task(task_id: uuid.UUID) -> Task | None:
    """The task row locked for update (with its tenant), or None if it is gone."""
    return Task.objects.select_for_update(of=("self",)).select_related("tenant").filter(pk=task_id).first()


def lock_existing(task: Task) -> Task:
    """The task row locked for update; ``NotFound`` if it was deleted meanwhile."""
    locked = lock_task(task.pk)
    if locked is None:  # deleted meanwhile
        raise NotFound("No such task.")
    return locked


def after_terminal(task: Task, finish_batch: bool = True) -> None:
    """Consequences of a terminal state: the type's hook, dependents, and (unless the caller does
    it once for many tasks) the batch."""
    task_type = registry.find_type(task.type)
    if task_type is not None:
        hooks: dict[str, Callable[[Task], None]] = {
            Status.COMPLETED: task_type.on_completed,
            Status.FAILED: task_type.on_failed,
            Status.CANCELLED: task_type.on_cancelled,
        }
        hooks[task.status](task)
    if task.has_dependents and task.status == Status.COMPLETED:
        _unblock_dependents(task)
    elif task.has_dependents:
        _cancel_dependents(task, f"Dependency {task.id} was {task.status}.")
    if task.batch_id and finish_batch:
        finish_batch_if_done(task.batch_id)


def _waiting_on(task: Task) -> QuerySet[Task]:
    # A task waiting on an unfinished dependency is blocked, which keeps this lookup small.
    return Task.objects.filter(blocked=True, depends_on__contains=[task.pk])


def unfinished(task_ids: Iterable[uuid.UUID]) -> QuerySet[Task]:
    return Task.objects.filter(pk__in=task_ids).exclude(status=Status.COMPLETED)


def _unblock_dependents(task: Task) -> None:
    waiting = _waiting_on(task).filter(status__in=[Status.PENDING, Status.SCHEDULED])
    for dependent in waiting.select_for_update(of=("self",)).select_related("tenant"):
        if not unfinished(dependent.depends_on).exists():
            dependent.blocked = False
            dependent.rung_at = timezone.now()
            dependent.save(update_fields=["blocked", "rung_at"])
            ring_on_commit(dependent.type)


def _cancel_dependents(task: Task, reason: str) -> None:
    open_dependents = _waiting_on(task).filter(status__in=Task.OPEN)
    for dependent in open_dependents.select_for_update(of=("self",)).select_related("tenant"):
        cancel(dependent, reason)


def cancel(task: Task, reason: str) -> Task:
    """Cancel a locked open task; a worker running it notices and stops."""
    close_open_attempt(task, reason)
    return transition(task, Status.CANCELLED, error=reason)


def close_open_attempt(task: Task, error: str) -> None:
    TaskAttempt.objects.filter(task=task, finished_at__isnull=True).update(
        finished_at=timezone.now(), error=error
    )


def finish_batch_if_done(batch_id: uuid.UUID) -> None:
    # The row lock serialises the last tasks of a batch ending at the same time, so exactly one
    # of them sees "nothing open" and finishes the batch.
    batch = Batch.objects.select_for_update().select_related("tenant").get(pk=batch_id)
    if batch.finished_at is None and not batch.tasks.filter(status__in=Task.OPEN).exists():
        batch.finished_at = timezone.now()
        batch.save(update_fields=["finished_at"])
        emit(batch.tenant, "batch.finished", event_data(batch))
