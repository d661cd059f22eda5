"""Sweeper, scheduler, worker commands and task gauges."""

import sys
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from tasks import maintenance, scheduler, services
from tasks.models import Task
from tasks.workers import worker_groups
from tests.task_helpers import running_worker, wait_for

Status = Task.Status


@pytest.mark.django_db(transaction=True)
def test_a_long_wait_lives_in_postgresql_until_the_sweeper_promotes_it(task_broker, tenant, settings):
    settings.TASK_BROKER_DELAY_MAX_SECONDS = 0  # every wait is "long": no delayed broker message
    due = timezone.now() + timedelta(seconds=1)
    task = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1}, scheduled_at=due)
    assert task.status == Status.SCHEDULED
    with running_worker(task_broker):
        assert maintenance.sweep() == 0  # not due yet: stays scheduled
        wait_for(lambda: timezone.now() > due + timedelta(seconds=0.5), what="the due time")
        assert Task.objects.get(pk=task.pk).status == Status.SCHEDULED  # nothing rang
        maintenance.sweep()
        wait_for(lambda: Task.objects.get(pk=task.pk).status == Status.COMPLETED)
    assert Task.objects.get(pk=task.pk).started_at >= due


@pytest.mark.django_db(transaction=True)
def test_a_periodic_job_runs_in_one_scheduler_at_a_time():
    runs = []
    job = scheduler.PeriodicJob("test.exclusive", 60, lambda: runs.append(1))
    other = connections.create_connection("default")  # another scheduler process, in effect
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext('periodic:test.exclusive'))")
        assert scheduler.run_job(job) is False
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext('periodic:test.exclusive'))")
        assert scheduler.run_job(job) is True
    finally:
        other.close()
    assert runs == [1]


@pytest.mark.django_db(transaction=True)
def test_run_forever_runs_the_registered_jobs_until_stopped():
    names = {job.name for job in scheduler.periodic_jobs()}
    assert {"tasks.sweep", "tasks.reap"} <= names
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run_forever, args=(stop,))
    thread.start()
    # Each job is due at once: wait until the loop has taken every one of them.
    wait_for(lambda: all(job.next_run > 0 for job in scheduler.periodic_jobs()), what="every job's first run")
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


def test_worker_groups_serve_every_queue_with_two_commands_sized_by_kind(settings):
    settings.TASK_CPU_BOUND_QUEUES = ["test_ffmpeg", "not_declared"]
    settings.TASK_CPU_WORKER_PROCESSES = 3
    settings.TASK_WORKER_PROCESSES, settings.TASK_WORKER_THREADS = 2, 8
    cpu, light = worker_groups()
    assert cpu.queues == ("test_ffmpeg",) and (cpu.processes, cpu.threads) == (3, 1)
    assert {"test_echo", "test_limited", "test_media_probe"} <= set(light.queues)
    assert "test_ffmpeg" not in light.queues and (light.processes, light.threads) == (2, 8)
    argv = light.argv
    assert argv[0] == sys.executable and argv[-2:] == ["--", "django_dramatiq.setup"]
    assert argv[argv.index("--queues") + 1 : -2] == list(light.queues)


@pytest.mark.django_db
def test_metrics_expose_open_task_gauges(client, tenant):
    services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 2})
    text = client.get("/metrics").content.decode()
    assert 'mediahub_tasks_open{status="pending",type="TestEcho"} 2.0' in text
    assert 'mediahub_tasks_open{status="processing",type="TestLimited"} 0.0' in text
    assert 'mediahub_tasks_oldest_pending_age_seconds{type="TestEcho"}' in text
