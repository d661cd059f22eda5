"""The worker side: claim a batch of the best runnable tasks of a type, run them, record the
outcomes (each in bulk where it can).

Each worker process also runs one watcher thread that polls the database for its running tasks:
a task cancelled, deleted or taken over (status or ``started_at`` changed) is stopped, and the
others get their heartbeat.
"""

from __future__ import annotations

import json
import logging
import operator
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, OuterRef, Q, Subquery, prefetch_related_objects
from django.utils import timezone
from dramatiq.middleware import raise_thread_exception

from mediahub.errors import ApplicationError, RateLimited, Unavailable
from tasks import bulk, registry, retries, states
from tasks.context import TaskContext
from tasks.dispatch import ring, ring_on_commit
from tasks.errors import PermanentError, TaskCancelled, TaskError, TaskTimeout, WorkerShuttingDown
from tasks.models import Task, TaskAttempt
from tasks.types import TaskType

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
    started_at: datetime | None
    interrupted: bool = False


_running: dict[uuid.UUID, _Running] = {}
_running_lock = threading.Lock()
_watcher: threading.Thread | None = None

# The database is briefly away (a restart, a failover): how long a worker keeps trying to record
# an outcome, and when a doorbell that could not claim rings again.
DB_RETRY_SECONDS = 60.0
DB_RETRY_RING_DELAY_SECONDS = 2.0


def process_queue(type_name: str) -> None:
    """What a doorbell does: claim and run batches of runnable tasks of the type back to back until
    none is left, the worker stops, or the claim loop's time is up (then ring again for the rest).

    A loop whose first claim found work rings once more, so another worker thread joins in, and
    twice for a full batch: a burst wakes the workers in a few claims (1, 2, 4, 8 ...), without a
    doorbell per task."""
    if shutting_down.is_set():
        # A stopping worker must not swallow the doorbell (e.g. the one a released task rang).
        ring(type_name)
        return
    _ensure_watcher()
    task_type = registry.get_type(type_name)
    size = max(1, task_type.batch_size)
    loop_ends = time.monotonic() + settings.TASK_CLAIM_LOOP_SECONDS
    first = True
    while not shutting_down.is_set():
        try:
            claimed = claim_batch(type_name, size)
        except (OperationalError, InterfaceError):
            logger.warning("cannot claim %s tasks: database unavailable; ringing again", type_name)
            connection.close()
            ring(type_name, DB_RETRY_RING_DELAY_SECONDS)
            return
        if not claimed:
            return
        if first:  # there was work: wake more threads, which do the same
            for _ in range(2 if len(claimed) == size else 1):
                ring(type_name)
        first = False
        run_claimed(task_type, claimed)
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


def claim_batch(type_name: str, size: int = 1) -> list[Task]:
    """In one transaction, take up to ``size`` runnable tasks of the type, best first (priority,
    then age), within its limits; mark them processing, each with a new attempt
    (``task.attempt``), and emit their ``task.started`` events. Empty if there is nothing to do.

    Queries: [limited types: the advisory lock and the running counts], the locked candidates with
    their tenant and last attempt number, one UPDATE, one INSERT of the attempts, the attempts of
    the claimed tasks (event data), and the outbox writes.
    """
    with transaction.atomic():
        max_running, max_per_tenant = type_limits(type_name)
        running: Counter = Counter()
        if max_running is not None or max_per_tenant is not None:
            # Counting running tasks is only correct if claims of this type take turns; the lock
            # lasts one short transaction.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"tasks.claim:{type_name}"])
            running.update(
                dict(
                    Task.objects.filter(type=type_name, status=Status.PROCESSING)
                    .values_list("tenant_id")
                    .annotate(n=Count("pk"))
                )
            )
            if max_running is not None:
                size = min(size, max_running - running.total())
                if size <= 0:
                    return []
        # After the counts: a claim starts after every end it counted (attempts' timestamps agree).
        now = timezone.now()
        candidates = Task.objects.filter(
            Q(status=Status.PENDING) | Q(scheduled_at__lte=now),
            type=type_name,
            status__in=[Status.PENDING, Status.SCHEDULED],
            blocked=False,
        )
        if max_per_tenant is not None:
            full = [tenant for tenant, n in running.items() if n >= max_per_tenant]
            candidates = candidates.exclude(tenant_id__in=full)
        last_attempt = TaskAttempt.objects.filter(task=OuterRef("pk")).order_by("-number").values("number")
        # With a per-tenant cap some candidates may be over it: look a little further down the line.
        window = size if max_per_tenant is None else size * 4
        rows = list(
            candidates.order_by("-priority", "created_at")
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("tenant")
            .annotate(last_attempt=Subquery(last_attempt[:1]))[:window]
        )
        if max_per_tenant is not None:
            taken: list[Task] = []
            for task in rows:
                if len(taken) < size and running[task.tenant_id] < max_per_tenant:
                    running[task.tenant_id] += 1
                    taken.append(task)
            rows = taken
        if not rows:
            return []
        attempts = TaskAttempt.objects.bulk_create(
            TaskAttempt(task=task, number=(task.last_attempt or 0) + 1, started_at=now) for task in rows
        )
        prefetch_related_objects(rows, "attempts")  # the events carry the attempts
        for task, attempt in zip(rows, attempts, strict=True):
            task.attempt = next(a for a in task.attempts.all() if a.pk == attempt.pk)
        bulk.transition_many(rows, Status.PROCESSING, progress=0)
        return rows


def run_claimed(task_type: TaskType, tasks: list[Task]) -> None:
    """Run claimed tasks (``run_batch``, one outcome each) and record each outcome; every task's
    work folder is removed afterwards."""
    entries = [
        _Running(TaskContext(t, settings.TASK_WORKDIR_ROOT), threading.get_ident(), t.started_at)
        for t in tasks
    ]
    ctxs = [entry.ctx for entry in entries]
    with _running_lock:
        _running.update((entry.ctx.task.pk, entry) for entry in entries)
    # The default ``run_batch`` marks each task while its ``run`` runs; an override runs them all at once.
    whole_batch = type(task_type).run_batch is not TaskType.run_batch
    try:
        try:
            for ctx in ctxs:
                ctx.in_run = whole_batch
            outcomes = task_type.run_batch(ctxs)
        finally:
            for ctx in ctxs:
                ctx.in_run = False
        if not isinstance(outcomes, list) or len(outcomes) != len(ctxs):
            outcomes = [
                PermanentError(f"run_batch gave no list of {len(ctxs)} outcomes: a bug of the type")
            ] * len(ctxs)
    except Exception as exc:  # the whole batch failed: as if each run() had raised it
        outcomes = [exc] * len(ctxs)
    except BaseException:
        # A Dramatiq interrupt (its time limit or shutdown): hand the tasks back, then let it unwind.
        _record(entries, [WorkerShuttingDown()] * len(entries))
        raise
    finally:
        with _running_lock:
            for ctx in ctxs:
                _running.pop(ctx.task.pk, None)
        for ctx in ctxs:
            ctx.remove_workdir()
    _record(entries, outcomes)


def _record(entries: list[_Running], outcomes: list[Any]) -> None:
    successes: list[tuple[_Running, dict[str, Any] | None]] = []
    for entry, outcome in zip(entries, outcomes, strict=True):
        if not isinstance(outcome, Exception) and outcome is not None and not isinstance(outcome, dict):
            outcome = PermanentError(f"Unstorable result: {type(outcome).__name__} is not an object")
        elif not isinstance(outcome, Exception):
            try:
                json.dumps(outcome)
            except (TypeError, ValueError) as exc:  # a result that is not JSON: a bug of the type
                outcome = PermanentError(f"Unstorable result: {exc}")
        if isinstance(outcome, Exception):
            _with_database_retry(_record_failure, entry, _own_outcome(entry.ctx, outcome))
        else:
            successes.append((entry, outcome))
    if successes:
        _with_database_retry(_record_successes, successes)


def _own_outcome(ctx: TaskContext, exc: Exception) -> Exception:
    """A stop raised into a batch for another of its tasks is not this task's: it is handed back."""
    if (
        isinstance(exc, TaskCancelled | TaskTimeout)
        and ctx.stop_reason is None
        and time.monotonic() <= ctx.deadline
    ):
        return WorkerShuttingDown()
    return exc


def _with_database_retry(record: Any, *args: Any) -> None:
    """Record an outcome, waiting out a database restart rather than losing the work done."""
    deadline = time.monotonic() + DB_RETRY_SECONDS
    delay = 0.5
    while True:
        try:
            return record(*args)
        except (OperationalError, InterfaceError):
            if time.monotonic() > deadline:
                raise
            logger.warning("cannot record a task outcome: database unavailable; retrying in %.1f s", delay)
            connection.close()
            time.sleep(delay)
            delay = min(5.0, delay * 2)


def _record_successes(successes: list[tuple[_Running, dict[str, Any] | None]]) -> None:
    with transaction.atomic():
        now = timezone.now()
        TaskAttempt.objects.filter(
            pk__in=[entry.ctx.task.attempt.pk for entry, _ in successes], finished_at__isnull=True
        ).update(finished_at=now, error="")
        # Only tasks this attempt still owns (not cancelled, deleted or reaped meanwhile).
        owned = dict(
            Task.objects.select_for_update()
            .filter(pk__in=[entry.ctx.task.pk for entry, _ in successes], status=Status.PROCESSING)
            .values_list("pk", "started_at")
        )
        done, results = [], {}
        for entry, result in successes:
            task = entry.ctx.task
            if owned.get(task.pk) == entry.started_at:
                task.attempt.finished_at, task.attempt.error = now, ""
                done.append(task)
                results[task.pk] = {"result": result}
        bulk.transition_many(done, Status.COMPLETED, per_task=results, progress=100)


def _owned(task: Task, started_at: datetime | None) -> Task | None:
    """The locked task if this attempt still owns it (not cancelled, deleted or reaped)."""
    current = states.lock_task(task.pk)
    if current is None or current.status != Status.PROCESSING or current.started_at != started_at:
        return None
    return current


def _record_failure(entry: _Running, exc: Exception) -> None:
    task = entry.ctx.task
    expected = isinstance(exc, TaskError | ApplicationError)
    error = str(exc) if expected else f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, TaskCancelled | WorkerShuttingDown):
        logger.warning("task %s (%s) failed: %s", task.pk, task.type, error, exc_info=not expected)
    with transaction.atomic():
        TaskAttempt.objects.filter(pk=task.attempt.pk, finished_at__isnull=True).update(
            finished_at=timezone.now(), error=error
        )
        current = _owned(task, entry.started_at)
        if current is None:
            return
        if isinstance(exc, WorkerShuttingDown):
            states.transition(current, Status.PENDING, rung_at=timezone.now())
            ring_on_commit(current.type)
        elif isinstance(exc, TaskCancelled):
            states.transition(current, Status.CANCELLED, error=error)
        else:
            retries.fail_or_retry(current, error, permanent=_is_permanent(exc))


def _is_permanent(exc: Exception) -> bool:
    """Bad input fails at once; an application error other than a dependency being briefly away
    (unavailable, rate limited) is bad input too. Anything else is worth a retry."""
    if isinstance(exc, ApplicationError):
        return not isinstance(exc, Unavailable | RateLimited)
    return isinstance(exc, PermanentError)


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
        if (
            entry.ctx.in_run
            and not entry.interrupted
            and stopped_at
            and now - stopped_at > STOP_GRACE_SECONDS
        ):
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
