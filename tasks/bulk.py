"""``states.transition`` for many tasks at once: the engine's batch claims and outcomes.

Same rules and events as one ``transition`` per task, with one UPDATE and one outbox write per
batch instead of a few queries per task.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

from django.db import connection
from django.db.models import Field
from django.utils import timezone

from mediahub.events.outbox import emit_many
from tasks import states
from tasks.models import Task
from tasks.serializers import task_representation


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
    names = []
    for task in tasks:
        moved, event = states.move(task, to, now, {**changes, **(per_task or {}).get(task.pk, {})})
        fields |= moved
        names.append(event)
    varying = {field for changes in (per_task or {}).values() for field in changes}
    # What every task gets alike is one plain UPDATE; what differs (a result), one more.
    same = fields - varying
    Task.objects.filter(pk__in=[t.pk for t in tasks]).update(**{f: getattr(tasks[0], f) for f in same})
    if varying:
        _update_each(tasks, sorted(varying))
    data = [task_representation(task) for task in tasks]
    emit_many([(t.tenant, name, d) for t, name, d in zip(tasks, names, data, strict=True) if name])
    if to in Task.TERMINAL:
        for task in tasks:
            states.after_terminal(task, finish_batch=False)
        for batch_id in {task.batch_id for task in tasks if task.batch_id}:
            states.finish_batch_if_done(batch_id)


def _update_each(tasks: Sequence[Task], fields: list[str]) -> None:
    """Write each task's own values of ``fields`` in one ``UPDATE … FROM (VALUES …)`` (Django's
    ``bulk_update`` builds a CASE per field and row, which costs more than the query)."""
    columns = [cast(Field, Task._meta.get_field(name)) for name in fields]
    rows = ", ".join(
        "(%s::uuid, " + ", ".join(f"%s::{c.db_type(connection)}" for c in columns) + ")" for _ in tasks
    )
    params = [
        value
        for task in tasks
        for value in (task.pk, *(c.get_db_prep_save(getattr(task, c.attname), connection) for c in columns))
    ]
    assignments = ", ".join(f"{c.column} = v.{c.column}" for c in columns)
    names = ", ".join(c.column for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Task._meta.db_table} AS t SET {assignments} FROM (VALUES {rows}) AS v(id, {names}) "
            "WHERE t.id = v.id",
            params,
        )
