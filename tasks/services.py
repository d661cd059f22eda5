"""Task services: create tasks and batches, cancel, retry and delete a task."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from mediahub.errors import Conflict, Invalid
from mediahub.events.outbox import emit
from tasks import registry, states
from tasks.dispatch import ring_on_commit
from tasks.models import Batch, Task
from tasks.serializers import event_data
from tasks.types import TaskType
from tasks.validation import schema_errors
from tenants.models import Tenant

Status = Task.Status


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
            media=cast(Any, media),  # a media domain's model: the engine only stores the link
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
        emit(tenant, "task.created", event_data(task))
        if not task.blocked:
            delay = (scheduled_at - now).total_seconds() if scheduled_at and delayed else None
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
        emit(tenant, "batch.created", event_data(batch))
    return batch, created


def cancel_task(*, task: Task, reason: str = "") -> Task:
    """Cancel a pending, scheduled or processing task (a worker running it stops within ~1 s);
    other states are a ``Conflict``."""
    with transaction.atomic():
        task = states.lock_existing(task)
        if task.status not in Task.OPEN:
            raise states.IllegalTransition(task, Status.CANCELLED)
        return states.cancel(task, reason or "Cancelled.")


def retry_task(*, task: Task) -> Task:
    """Run a failed or cancelled task again, from scratch, with a fresh retry budget."""
    with transaction.atomic():
        task = states.lock_existing(task)
        if task.status not in (Status.FAILED, Status.CANCELLED):
            raise states.IllegalTransition(task, Status.PENDING)
        dead = states.unfinished(task.depends_on).filter(status__in=[Status.FAILED, Status.CANCELLED])
        if dead.exists():
            raise Conflict(
                "A dependency did not complete; retry it first.",
                code="dependency_not_completed",
                details={"depends_on": [str(pk) for pk in dead.values_list("pk", flat=True)]},
            )
        states.transition(
            task,
            Status.PENDING,
            progress=0,
            error="",
            result=None,
            retry_count=0,
            completed_at=None,
            scheduled_at=None,
            blocked=states.unfinished(task.depends_on).exists(),
            rung_at=timezone.now(),
        )
        if not task.blocked:
            ring_on_commit(task.type)
        return task


def delete_task(*, task: Task) -> None:
    """Delete a task; an open one is cancelled first (a running worker stops), so dependents and
    the batch see it end. Stored inputs and outputs are kept."""
    with transaction.atomic():
        locked = states.lock_task(task.pk)
        if locked is None:
            return
        if locked.status in Task.OPEN:
            states.cancel(locked, "Deleted.")
        emit(locked.tenant, "task.deleted", event_data(locked))
        locked.delete()
