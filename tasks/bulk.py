"""``services.transition`` for many tasks at once: the engine's batch claims and outcomes.

Same rules and events as one ``transition`` per task, with one UPDATE and one outbox write per
batch instead of a few queries per task.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils import timezone

from mediahub.events.outbox import emit_many
from tasks import services
from tasks.models import Task


def transition_many(
    tasks: Sequence[Task],
    to: str,
    *,
    per_task: Mapping[uuid.UUID, dict[str, Any]] | None = None,
    **changes: Any,
) -> None:
    """Move every locked task of ``tasks`` to ``to`` with ``changes`` (plus each task's own
    ``per_task[task.pk]``), emitting their events, inside the caller's transaction."""
    if not tasks:
        return
    now = timezone.now()
    fields: set[str] = set()
    events = []
    for task in tasks:
        moved, event = services.move(task, to, now, {**changes, **(per_task or {}).get(task.pk, {})})
        fields |= moved
        if event:
            events.append((task.tenant, event, services.task_data(task)))
    if per_task:
        Task.objects.bulk_update(tasks, sorted(fields))
    else:  # the same values for every task: one plain UPDATE
        Task.objects.filter(pk__in=[t.pk for t in tasks]).update(**{f: getattr(tasks[0], f) for f in fields})
    emit_many(events)
    if to in Task.TERMINAL:
        for task in tasks:
            services.after_terminal(task, finish_batch=False)
        for batch_id in {task.batch_id for task in tasks if task.batch_id}:
            services.finish_batch_if_done(batch_id)
