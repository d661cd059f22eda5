"""The periodic jobs of the task engine: the sweeper and the reaper."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tasks import registry, states
from tasks.dispatch import ring, ring_on_commit
from tasks.models import Task

logger = logging.getLogger(__name__)

Status = Task.Status

# Doorbells per sweep; each starts a claim loop that drains many tasks, so more would only pile up.
MAX_RINGS_PER_SWEEP = 500


def sweep() -> int:
    """Promote due ``scheduled`` tasks to ``pending`` and ring for runnable tasks whose doorbell
    is stale (lost in a broker outage or a crash between commit and send). Returns how many stale
    tasks were rung again."""
    now = timezone.now()
    with transaction.atomic():
        due = Task.objects.filter(status=Status.SCHEDULED, scheduled_at__lte=now)
        for task in due.select_for_update(skip_locked=True, of=("self",)).select_related("tenant"):
            states.transition(task, Status.PENDING, rung_at=now)
            if not task.blocked and task.type in registry.type_names():
                ring_on_commit(task.type)
    stale = list(
        Task.objects.filter(
            status=Status.PENDING,
            blocked=False,
            rung_at__lt=now - timedelta(seconds=settings.TASK_RERING_AFTER_SECONDS),
            type__in=registry.type_names(),
        )
        .order_by("-priority", "created_at")
        .values_list("pk", "type")[:MAX_RINGS_PER_SWEEP]
    )
    rung = 0
    for type_name, count in Counter(type_name for _, type_name in stale).items():
        rung += sum(ring(type_name) for _ in range(count))
    if stale:
        Task.objects.filter(pk__in=[pk for pk, _ in stale]).update(rung_at=now)
    return rung


# The attempt error of a task whose worker died; the reaper counts them to spot poison tasks.
WORKER_LOST = "worker lost"
# A task whose worker died this many times in a row is failed as poison: it probably kills workers.
POISON_AFTER_LOST_WORKERS = 3


def reap() -> int:
    """Requeue processing tasks whose worker stopped heartbeating (its lease ran out).

    The worker died, not the task: the task runs again at once, without using its retry budget,
    unless its worker died ``POISON_AFTER_LOST_WORKERS`` times in a row (then it fails as poison).
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.TASK_HEARTBEAT_TIMEOUT_SECONDS)
    reaped = 0
    with transaction.atomic():
        dead = Task.objects.filter(status=Status.PROCESSING, heartbeat_at__lt=cutoff)
        for task in dead.select_for_update(skip_locked=True, of=("self",)).select_related("tenant"):
            silent = (now - task.heartbeat_at).total_seconds()
            error = f"{WORKER_LOST}: no heartbeat for {silent:.0f} s"
            logger.warning("reaping task %s (%s): %s", task.pk, task.type, error)
            states.close_open_attempt(task, error)
            recent = task.attempts.order_by("-number").values_list("error", flat=True)
            lost = list(recent[:POISON_AFTER_LOST_WORKERS])
            if len(lost) == POISON_AFTER_LOST_WORKERS and all(e.startswith(WORKER_LOST) for e in lost):
                states.transition(
                    task,
                    Status.FAILED,
                    error=f"poison: its worker died {POISON_AFTER_LOST_WORKERS} times in a row while "
                    f"running it (last: {error}); not retried again.",
                )
            else:
                states.transition(task, Status.PENDING, rung_at=now)
                if task.type in registry.type_names():
                    ring_on_commit(task.type)
            reaped += 1
    return reaped
