"""The task engine against real brokers (each test runs on RabbitMQ and on Redis) and PostgreSQL."""

import os
import signal
import threading
from pathlib import Path

import psutil
import pytest
from django.utils import timezone

from mediahub.webhooks.models import Event
from tasks import engine, maintenance, scheduler, services
from tasks.models import Task
from tenants.services import create_tenant
from tests.task_helpers import bound_broker, broker_kind, running_worker, wait_for, worker_subprocess
from tests.tasktypes import limited_probe

pytestmark = pytest.mark.django_db(transaction=True)

Status = Task.Status


def status_of(task: Task) -> str:
    return Task.objects.get(pk=task.pk).status


def all_in(tasks, *statuses) -> bool:
    return Task.objects.filter(pk__in=[t.pk for t in tasks], status__in=statuses).count() == len(tasks)


def test_task_runs_to_completion(task_broker, tenant):
    task = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 7})
    with running_worker(task_broker):
        wait_for(lambda: status_of(task) == Status.COMPLETED)
    task.refresh_from_db()
    assert task.result == {"value": 7} and task.progress == 100 and task.phase is None
    attempt = task.attempts.get()
    assert attempt.number == 1 and attempt.finished_at is not None and attempt.error == ""
    types = list(Event.objects.filter(tenant=tenant).order_by("created_at").values_list("type", flat=True))
    assert types == ["task.created", "task.started", "task.completed"]


def test_priority_then_age_with_one_worker_slot(task_broker, tenant):
    priorities = [1, 5, 9, 5, 0, 9, 3]
    tasks = [
        services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": p}, priority=p)
        for p in priorities
    ]
    with running_worker(task_broker, threads=1):
        wait_for(lambda: all_in(tasks, Status.COMPLETED))
    ran = list(Task.objects.order_by("started_at").values_list("pk", flat=True))
    expected = [t.pk for t in sorted(tasks, key=lambda t: (-t.priority, t.created_at))]
    assert ran == expected


def test_type_and_tenant_limits_hold_under_50_queued_tasks(task_broker, tenant, other_tenant):
    # TestLimited: at most 3 running overall, 2 per tenant. Tenant A has most of the work.
    third, _ = create_tenant(name="Initech")
    limited_probe.reset()
    owners = [tenant] * 30 + [other_tenant] * 10 + [third] * 10
    tasks = [services.create_task(tenant=owner, type_name="TestLimited", payload={}) for owner in owners]
    with running_worker(task_broker, threads=8):
        wait_for(lambda: all_in(tasks, Status.COMPLETED), timeout=60)
    assert limited_probe.peak["all"] == 3
    assert max(limited_probe.peak[t.pk] for t in (tenant, other_tenant, third)) == 2
    assert not Task.objects.exclude(status=Status.COMPLETED).exists()


def test_a_batch_run_by_many_threads_finishes_exactly_once(task_broker, tenant):
    specs = [{"type": "TestEcho", "payload": {"value": i, "sleep": 0.05}} for i in range(24)]
    batch, tasks = services.create_batch(tenant=tenant, specs=specs)
    with running_worker(task_broker, threads=8):
        wait_for(lambda: all_in(tasks, Status.COMPLETED))
        wait_for(lambda: Event.objects.filter(type="batch.finished").exists())
    finished = Event.objects.filter(tenant=tenant, type="batch.finished")
    assert finished.count() == 1
    assert finished.get().data["by_status"]["completed"] == 24 and finished.get().data["progress"] == 100
    batch.refresh_from_db()
    assert batch.finished_at >= max(Task.objects.filter(batch=batch).values_list("completed_at", flat=True))


def test_transient_failure_retries_after_a_real_backoff(task_broker, tenant, settings):
    settings.TASK_RETRY_BACKOFF_BASE_SECONDS = 3  # first retry waits 1.5-3 s
    task = services.create_task(
        tenant=tenant, type_name="TestEcho", payload={"value": 1, "fail": "transient", "fail_times": 1}
    )
    with running_worker(task_broker):
        wait_for(lambda: Task.objects.filter(pk=task.pk, retry_count=1).exists())
        scheduled = Task.objects.get(pk=task.pk)
        assert scheduled.status == Status.SCHEDULED
        first = scheduled.attempts.get()
        assert "flaky" in first.error and "flaky" in scheduled.error
        assert (scheduled.scheduled_at - first.finished_at).total_seconds() >= 1.4
        wait_for(lambda: status_of(task) == Status.COMPLETED)
    task.refresh_from_db()
    second = task.attempts.get(number=2)
    assert second.started_at >= scheduled.scheduled_at
    assert Event.objects.filter(tenant=tenant, type="task.retrying").count() == 1


def test_permanent_error_fails_at_once(task_broker, tenant):
    task = services.create_task(
        tenant=tenant, type_name="TestEcho", payload={"value": 1, "fail": "permanent"}, max_retries=5
    )
    with running_worker(task_broker):
        wait_for(lambda: status_of(task) == Status.FAILED)
    task.refresh_from_db()
    assert task.retry_count == 0 and task.attempts.count() == 1
    assert "bad input" in task.error
    assert not Event.objects.filter(type="task.retrying").exists()


def _ffmpeg_processes():
    return [p for p in psutil.Process().children(recursive=True) if p.name() == "ffmpeg"]


def _wait_for_running_ffmpeg(task):
    wait_for(lambda: Task.objects.filter(pk=task.pk, progress__gt=0).exists(), timeout=30)
    (ffmpeg,) = _ffmpeg_processes()
    return ffmpeg, Path(ffmpeg.cmdline()[-1]).parent


def test_cancel_kills_a_running_ffmpeg_within_2_seconds(task_broker, tenant):
    task = services.create_task(tenant=tenant, type_name="TestLongFFmpeg", payload={"seconds": 120})
    with running_worker(task_broker):
        ffmpeg, workdir = _wait_for_running_ffmpeg(task)
        assert workdir.is_dir()
        services.cancel_task(task=task)
        wait_for(lambda: not ffmpeg.is_running(), timeout=30, interval=0.02)
        stopped_at = timezone.now()
        wait_for(lambda: not workdir.exists(), timeout=30)
        assert _ffmpeg_processes() == []
    task.refresh_from_db()
    assert task.status == Status.CANCELLED and task.attempts.get().finished_at is not None
    # The bound, from the moment the cancel was recorded (not from the test's call).
    assert (stopped_at - task.completed_at).total_seconds() <= 2


def test_timeout_kills_ffmpeg_and_fails_the_attempt(task_broker, tenant):
    task = services.create_task(
        tenant=tenant, type_name="TestLongFFmpeg", payload={"seconds": 120}, timeout_seconds=2, max_retries=0
    )
    with running_worker(task_broker):
        wait_for(lambda: status_of(task) == Status.FAILED, timeout=10)
        assert _ffmpeg_processes() == []
    assert "Timed out after 2 s" in Task.objects.get(pk=task.pk).error


def test_delete_stops_a_running_task(task_broker, tenant):
    task = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1, "sleep": 60})
    with running_worker(task_broker, threads=1):
        wait_for(lambda: status_of(task) == Status.PROCESSING)
        services.delete_task(task=task)
        # The only worker thread is free again: the next task runs long before the 60 s sleep ends.
        follower = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 2})
        wait_for(lambda: status_of(follower) == Status.COMPLETED, timeout=60)
    assert not Task.objects.filter(pk=task.pk).exists()
    deleted = Event.objects.get(type="task.deleted", data__id=str(task.pk)).created_at
    assert (Task.objects.get(pk=follower.pk).started_at - deleted).total_seconds() < 30


def test_work_that_never_checks_is_interrupted_after_a_grace(task_broker, tenant):
    task = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1, "busy": 60})
    with running_worker(task_broker, threads=1):
        wait_for(lambda: status_of(task) == Status.PROCESSING)
        cancelled = services.cancel_task(task=task)
        follower = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 2})
        wait_for(lambda: status_of(follower) == Status.COMPLETED, timeout=60)
    # The only worker thread was freed long before the 60 s of busy work would have ended.
    assert (Task.objects.get(pk=follower.pk).started_at - cancelled.completed_at).total_seconds() < 30


def test_dependent_runs_only_after_its_dependency_completed(task_broker, tenant):
    first = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1, "sleep": 0.5})
    second = services.create_task(
        tenant=tenant, type_name="TestEcho", payload={"value": 2}, depends_on=[first], priority=9
    )
    with running_worker(task_broker):
        wait_for(lambda: status_of(second) == Status.COMPLETED)
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.started_at >= first.completed_at


def test_graceful_stop_releases_in_flight_tasks(task_broker, tenant):
    task = services.create_task(
        tenant=tenant, type_name="TestEcho", payload={"value": 1, "sleep": 60, "sleep_once": True}
    )
    with running_worker(task_broker):
        wait_for(lambda: status_of(task) == Status.PROCESSING)
    task.refresh_from_db()
    assert task.status == Status.PENDING and task.retry_count == 0
    released = task.attempts.get()
    assert released.error == "Released: the worker stopped before the task finished."
    assert (released.finished_at - released.started_at).total_seconds() < 30  # not the 60 s sleep
    assert not Event.objects.filter(type__in=["task.failed", "task.retrying"]).exists()
    with running_worker(task_broker):  # the release rang again: a new worker finishes it
        wait_for(lambda: status_of(task) == Status.COMPLETED)
    assert Task.objects.get(pk=task.pk).attempts.count() == 2


def test_sigterm_to_a_worker_command_releases_its_running_task(task_broker, tenant, tmp_path):
    task = services.create_task(
        tenant=tenant, type_name="TestEcho", payload={"value": 1, "sleep": 60, "sleep_once": True}
    )
    with worker_subprocess(broker_kind(task_broker), "test_echo", tmp_path / "worker.log") as proc:
        wait_for(lambda: status_of(task) == Status.PROCESSING, timeout=30)
        # To the main process only, as a supervisor does; it forwards one SIGTERM to its workers
        # (a second one would kill them at once).
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0, (tmp_path / "worker.log").read_text()[-2000:]
    task.refresh_from_db()
    assert task.status == Status.PENDING  # handed back, not stuck "processing" for the reaper
    assert task.attempts.get().finished_at is not None
    with running_worker(task_broker):
        wait_for(lambda: status_of(task) == Status.COMPLETED)


def test_broker_down_while_creating_then_everything_runs(task_broker, tenant, settings):
    kind = broker_kind(task_broker)
    closed_port = {"rabbitmq": "amqp://guest:guest@127.0.0.1:1/", "redis": "redis://127.0.0.1:1/0"}[kind]
    with bound_broker(kind, url=closed_port):
        tasks = [
            services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": i}) for i in range(5)
        ]
    assert all_in(tasks, Status.PENDING)
    settings.TASK_RERING_AFTER_SECONDS = 0
    with running_worker(task_broker):
        assert maintenance.sweep() == 5  # all still pending and stale: no message survived the outage
        wait_for(lambda: all_in(tasks, Status.COMPLETED))


def test_a_killed_worker_is_noticed_within_15_s_and_its_task_rerun_at_once(task_broker, tenant, tmp_path):
    # Default lease, heartbeat and reaper interval; the scheduler runs its jobs as in production.
    task = services.create_task(
        tenant=tenant, type_name="TestEcho", payload={"value": 1, "sleep": 60, "sleep_once": True}
    )
    stop = threading.Event()
    scheduler_thread = threading.Thread(target=scheduler.run_forever, args=(stop,))
    try:
        with worker_subprocess(broker_kind(task_broker), "test_echo", tmp_path / "worker.log") as proc:
            wait_for(lambda: status_of(task) == Status.PROCESSING, timeout=30)
            (child,) = psutil.Process(proc.pid).children()
            scheduler_thread.start()
            os.kill(child.pid, signal.SIGKILL)
            killed_at = timezone.now()
            proc.wait(20)
        with running_worker(task_broker):
            wait_for(lambda: status_of(task) == Status.COMPLETED, timeout=60)
    finally:
        stop.set()
        if scheduler_thread.is_alive():
            scheduler_thread.join(10)
    task.refresh_from_db()
    first, second = task.attempts.all()
    assert first.error.startswith("worker lost: no heartbeat for")
    assert (first.finished_at - killed_at).total_seconds() <= 15  # the reaper's own timestamp
    # Requeued at once (no backoff) and without using the retry budget.
    assert task.retry_count == 0 and task.scheduled_at is None and second.error == ""
    assert task.result == {"value": 1}
    assert Event.objects.filter(type="task.completed").count() == 1


def test_a_task_whose_worker_dies_3_times_in_a_row_fails_as_poison(tenant, settings):
    settings.TASK_HEARTBEAT_TIMEOUT_SECONDS = 10
    task = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    long_ago = timezone.now() - timezone.timedelta(seconds=11)
    for lost in range(1, 4):
        assert engine.claim_batch("TestEcho")[0].pk == task.pk
        Task.objects.filter(pk=task.pk).update(heartbeat_at=long_ago)
        assert maintenance.reap() == 1
        task.refresh_from_db()
        assert task.status == (Status.PENDING if lost < 3 else Status.FAILED)
        assert task.retry_count == 0
    assert task.error.startswith("poison: its worker died 3 times in a row while running it")
    assert [a.error.split(":")[0] for a in task.attempts.all()] == ["worker lost"] * 3
