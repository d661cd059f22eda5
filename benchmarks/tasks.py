"""Task engine benchmark: dispatch latency, drain rate, and the task API on 100,000 rows.

    .venv/bin/python benchmarks/tasks.py [--broker rabbitmq|redis] [--latency-tasks 200]
        [--drain-tasks 2000] [--api-rows 100000]

Runs on the same real services as the test suite (a fresh embedded PostgreSQL, a private RabbitMQ
vhost, a Redis key prefix; see ``tests/services.py``) with the default worker setup of the queue
(``tasks.workers.worker_argv``, i.e. one process per core x 8 threads) for the test-only
``TestEcho`` type, in a separate process. It reports:

- dispatch latency: one task at a time on idle workers, ``created_at`` → ``started_at`` p50/p95;
- drain rate: N trivial tasks created in one transaction, tasks/s from commit to the last one done;
- API: ``GET /tasks?limit=50`` and ``GET /tasks/stats`` p50/p95 for one tenant, with 100,000 tasks
  across 10 tenants bulk-inserted (in-process Django test client: view + database time).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["TASK_TYPE_MODULES"] = "tests.tasktypes"
os.environ.setdefault("LOG_LEVEL", "WARNING")

import tests.services  # noqa: E402, F401 - starts/points at the real services, like the tests

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediahub.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", choices=["rabbitmq", "redis"], default="rabbitmq")
    parser.add_argument("--latency-tasks", type=int, default=200)
    parser.add_argument("--drain-tasks", type=int, default=2000)
    parser.add_argument("--api-rows", type=int, default=100_000)
    args = parser.parse_args()
    if args.broker == "redis":
        os.environ["BROKER_URL"] = os.environ["REDIS_URL"]

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from django.conf import settings

    from tasks.workers import worker_argv
    from tenants.services import create_tenant

    argv = worker_argv(["test_echo"], settings.TASK_WORKER_PROCESSES, settings.TASK_WORKER_THREADS)
    print(f"broker: {args.broker}; worker: {' '.join(argv[1:])}")
    worker = subprocess.Popen(argv, cwd=ROOT, env=os.environ.copy(), start_new_session=True)
    tenant, _ = create_tenant("Benchmark")
    try:
        wait_done(tenant, [create(tenant, 0)], timeout=120)  # warm-up: the worker is up
        latency(tenant, args.latency_tasks)
        drain(tenant, args.drain_tasks)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
    api(args.api_rows)


def create(tenant, value):
    from tasks.services import create_task

    return create_task(tenant, "TestEcho", {"value": value})


def wait_done(tenant, tasks, timeout: float) -> None:
    from tasks.models import Task

    ids = [t.pk for t in tasks]
    deadline = time.monotonic() + timeout
    while Task.objects.filter(pk__in=ids, status="completed").count() < len(ids):
        if time.monotonic() > deadline:
            raise SystemExit(f"tasks not done within {timeout} s")
        time.sleep(0.002 if len(ids) == 1 else 0.2)


def latency(tenant, n: int) -> None:
    from tasks.models import Task

    samples = []
    for i in range(n):
        task = create(tenant, i)
        wait_done(tenant, [task], timeout=30)
        task = Task.objects.get(pk=task.pk)
        samples.append((task.started_at - task.created_at).total_seconds() * 1000)
    print(
        f"dispatch latency over {n} tasks: p50 {percentile(samples, 50):.1f} ms, "
        f"p95 {percentile(samples, 95):.1f} ms, max {max(samples):.1f} ms"
    )


def drain(tenant, n: int) -> None:
    from django.db import transaction
    from django.db.models import Max
    from django.utils import timezone

    from tasks.models import Task

    with transaction.atomic():
        tasks = [create(tenant, i) for i in range(n)]
        committed = timezone.now()
    wait_done(tenant, tasks, timeout=600)
    last = Task.objects.filter(pk__in=[t.pk for t in tasks]).aggregate(m=Max("completed_at"))["m"]
    seconds = (last - committed).total_seconds()
    print(f"drain: {n} tasks in {seconds:.2f} s = {n / seconds:.0f} tasks/s")


def api(rows: int) -> None:
    from django.utils import timezone

    from tasks.models import Task
    from tenants.services import create_tenant
    from tests.conftest import client_for

    tenants = [create_tenant(f"Bulk {i}")[0] for i in range(10)]
    statuses = ["completed"] * 6 + ["failed", "cancelled", "pending", "scheduled"]
    types = ["TestEcho", "TestLimited", "TestLongFFmpeg"]
    now = timezone.now()
    batch = []
    started = time.monotonic()
    for i in range(rows):
        created = now - timedelta(seconds=random.uniform(0, 30 * 86400))
        status = random.choice(statuses)
        begun = created + timedelta(seconds=random.uniform(0, 30)) if status != "pending" else None
        batch.append(
            Task(
                tenant=tenants[i % 10],
                type=random.choice(types),
                status=status,
                payload={"value": i},
                timeout_seconds=60,
                created_at=created,
                started_at=begun,
                completed_at=begun + timedelta(seconds=random.uniform(1, 120)) if begun else None,
            )
        )
        if len(batch) == 5000:
            Task.objects.bulk_create(batch)
            batch = []
    Task.objects.bulk_create(batch)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_task")
    print(f"inserted {rows} tasks across 10 tenants in {time.monotonic() - started:.1f} s")

    client = client_for(tenants[0])
    for path in ("/api/v1/tasks?limit=50", "/api/v1/tasks/stats", "/api/v1/tasks?limit=50&status=failed"):
        samples = []
        for _ in range(60):
            t0 = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.content
        samples = samples[10:]  # warm caches and connections first
        print(f"GET {path}: p50 {percentile(samples, 50):.1f} ms, p95 {percentile(samples, 95):.1f} ms")


def percentile(samples: list[float], pct: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(pct) - 1]


if __name__ == "__main__":
    main()
