"""The worker side: claim the best runnable task of a type, run it, record the outcome.

Each worker process also runs one watcher thread that polls the database for its running tasks:
a task cancelled, deleted or taken over (status or ``started_at`` changed) is stopped, and the
others get their heartbeat.
"""

from __future__ import annotations

import logging
import operator
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from dramatiq.middleware import raise_thread_exception

from tasks import registry, services
from tasks.context import TaskContext
from tasks.dispatch import ring, ring_on_commit
from tasks.errors import PermanentError, TaskCancelled, TaskError, TaskTimeout, WorkerShuttingDown
from tasks.models import Task, TaskAttempt

logger = logging.getLogger(__name__)

Status = Task.Status

# A run that ignores ``check_cancelled`` this long after a stop gets the exception raised into its
# thread (as Dramatiq's own time limit does).
STOP_GRACE_SECONDS = 2.0

shutting_down = threading.Event()


@dataclass
class _Running:
    ctx: TaskContext
    thread_id: int
    started_at: datetime
    in_run: bool = False
    interrupted: bool = False


_running: dict[uuid.UUID, _Running] = {}
_running_lock = threading.Lock()
_watcher: threading.Thread | None = None


def process_queue(type_name: str) -> None:
    """What a doorbell does: run runnable tasks of the type back to back until none is left,
    the worker stops, or the claim loop's time is up (then ring again for the rest)."""
    if shutting_down.is_set():
        # A stopping worker must not swallow the doorbell (e.g. the one a released task rang).
        ring(type_name)
        return
    _ensure_watcher()
    loop_ends = time.monotonic() + settings.TASK_CLAIM_LOOP_SECONDS
    while not shutting_down.is_set():
        claimed = claim_next(type_name)
        if claimed is None:
            return
        run_attempt(*claimed)
        if time.monotonic() >= loop_ends:
            ring(type_name)
            return


def type_limits(type_name: str) -> tuple[int | None, int | None]:
    """(cluster-wide max running, max running per tenant) for the type; None is unlimited."""
    task_type = registry.get_type(type_name)
    override = settings.TASK_TYPE_LIMITS.get(type_name, {})
    return (
        override.get("max_concurrency", task_type.max_concurrency),
        override.get("max_per_tenant", task_type.max_per_tenant),
    )


def claim_next(type_name: str) -> tuple[Task, TaskAttempt] | None:
    """Atomically take the best runnable task of the type (priority, then age) within its limits,
    mark it processing and open an attempt; None if there is nothing to do."""
    with transaction.atomic():
        now = timezone.now()
        candidates = Task.objects.filter(
            Q(status=Status.PENDING) | Q(scheduled_at__lte=now),
            type=type_name,
            status__in=[Status.PENDING, Status.SCHEDULED],
            blocked=False,
        )
        max_running, max_per_tenant = type_limits(type_name)
        if max_running is not None or max_per_tenant is not None:
            # Counting running tasks is only correct if claims of this type take turns; the lock
            # lasts one short transaction.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"tasks.claim:{type_name}"])
            running = dict(
                Task.objects.filter(type=type_name, status=Status.PROCESSING)
                .values_list("tenant_id")
                .annotate(n=Count("pk"))
            )
            if max_running is not None and sum(running.values()) >= max_running:
                return None
            if max_per_tenant is not None:
                full = [tenant for tenant, n in running.items() if n >= max_per_tenant]
                candidates = candidates.exclude(tenant_id__in=full)
        task = (
            candidates.order_by("-priority", "created_at")
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("tenant")
            .first()
        )
        if task is None:
            return None
        previous = TaskAttempt.objects.filter(task=task).values("task").annotate(n=Max("number"))
        attempt = TaskAttempt.objects.create(
            task=task, number=Coalesce(Subquery(previous.values("n")), 0) + 1, started_at=now
        )
        services.transition(task, Status.PROCESSING, progress=0)
        return task, attempt


def run_attempt(task: Task, attempt: TaskAttempt) -> None:
    """Run one claimed attempt in a fresh work folder (always removed) and record its outcome."""
    workdir = Path(tempfile.mkdtemp(prefix=f"mediahub-task-{task.pk}-", dir=settings.TASK_WORKDIR_ROOT))
    running = _Running(TaskContext(task, workdir), threading.get_ident(), task.started_at)
    with _running_lock:
        _running[task.pk] = running
    try:
        try:
            running.in_run = True
            result = registry.get_type(task.type).run(running.ctx)
        finally:
            running.in_run = False
    except Exception as exc:
        _record_failure(task, attempt, running.started_at, exc)
    except BaseException:
        # A Dramatiq interrupt (its time limit or shutdown): hand the task back, then let it unwind.
        _record_failure(task, attempt, running.started_at, WorkerShuttingDown())
        raise
    else:
        try:
            _record_success(task, attempt, running.started_at, result)
        except (TypeError, ValueError) as exc:  # a result that is not JSON: a bug of the type
            _record_failure(task, attempt, running.started_at, PermanentError(f"Unstorable result: {exc}"))
    finally:
        with _running_lock:
            _running.pop(task.pk, None)
        shutil.rmtree(workdir, ignore_errors=True)


def _owned(task: Task, started_at: datetime) -> Task | None:
    """The locked task if this attempt still owns it (not cancelled, deleted or reaped)."""
    current = services.lock_task(task.pk)
    if current is None or current.status != Status.PROCESSING or current.started_at != started_at:
        return None
    return current


def _close_attempt(attempt: TaskAttempt, error: str = "") -> None:
    TaskAttempt.objects.filter(pk=attempt.pk, finished_at__isnull=True).update(
        finished_at=timezone.now(), error=error
    )


def _record_success(task: Task, attempt: TaskAttempt, started_at: datetime, result: Any) -> None:
    with transaction.atomic():
        _close_attempt(attempt)
        current = _owned(task, started_at)
        if current is not None:
            services.transition(current, Status.COMPLETED, result=result, progress=100)


def _record_failure(task: Task, attempt: TaskAttempt, started_at: datetime, exc: Exception) -> None:
    error = str(exc) if isinstance(exc, TaskError) else f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, TaskCancelled | WorkerShuttingDown):
        logger.warning(
            "task %s (%s) failed: %s", task.pk, task.type, error, exc_info=not isinstance(exc, TaskError)
        )
    with transaction.atomic():
        _close_attempt(attempt, error)
        current = _owned(task, started_at)
        if current is None:
            return
        if isinstance(exc, WorkerShuttingDown):
            services.transition(current, Status.PENDING, rung_at=timezone.now())
            ring_on_commit(current.type)
        elif isinstance(exc, TaskCancelled):
            services.transition(current, Status.CANCELLED, error=error)
        else:
            services.fail_or_retry(current, error, permanent=isinstance(exc, PermanentError))


# --- the watcher thread and shutdown ---


def begin_shutdown() -> None:
    """The worker is stopping: claim nothing more and hand running tasks back."""
    shutting_down.set()
    with _running_lock:
        for running in _running.values():
            running.ctx.request_stop(WorkerShuttingDown)


def _ensure_watcher() -> None:
    global _watcher
    with _running_lock:
        if _watcher is None or not _watcher.is_alive():
            _watcher = threading.Thread(target=_watch, name="task-watcher", daemon=True)
            _watcher.start()


def _watch() -> None:
    next_heartbeat = 0.0
    while True:
        time.sleep(settings.TASK_WATCH_INTERVAL_SECONDS)
        with _running_lock:
            running = dict(_running)
        if not running:
            connection.close()  # an idle worker holds no database connection
            continue
        try:
            next_heartbeat = _check(running, next_heartbeat)
        except Exception:  # the database may be briefly away; keep watching
            logger.exception("task watcher check failed")
            connection.close()


def _check(running: dict[uuid.UUID, _Running], next_heartbeat: float) -> float:
    owned = dict(
        Task.objects.filter(pk__in=running, status=Status.PROCESSING).values_list("pk", "started_at")
    )
    now = time.monotonic()
    for pk, entry in running.items():
        if shutting_down.is_set():
            entry.ctx.request_stop(WorkerShuttingDown)
        elif owned.get(pk) != entry.started_at:
            entry.ctx.request_stop(TaskCancelled)
        elif now > entry.ctx.deadline:
            entry.ctx.request_stop(TaskTimeout)
        stopped_at = entry.ctx.stop_requested_at
        if entry.in_run and not entry.interrupted and stopped_at and now - stopped_at > STOP_GRACE_SECONDS:
            entry.interrupted = True
            raise_thread_exception(entry.thread_id, entry.ctx.stop_reason)
    if now >= next_heartbeat and owned:
        # The heartbeat belongs to this worker's attempts: a task reaped and claimed again elsewhere
        # (another ``started_at``) is not kept alive by a worker that merely lost track of it.
        ours = [Q(pk=pk, started_at=entry.started_at) for pk, entry in running.items() if pk in owned]
        if ours:
            Task.objects.filter(reduce(operator.or_, ours), status=Status.PROCESSING).update(
                heartbeat_at=timezone.now()
            )
        next_heartbeat = now + settings.TASK_HEARTBEAT_SECONDS
    return next_heartbeat
