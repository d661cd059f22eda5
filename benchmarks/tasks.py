"""Task engine benchmark: dispatch latency, drain rate, and the task API on 100,000 rows.

    .venv/bin/python benchmarks/tasks.py [--broker rabbitmq|redis] [--latency-tasks 200]
        [--drain-tasks 2000] [--rounds 3] [--api-rows 100000]

Runs on the same real services as the test suite (a fresh embedded PostgreSQL, a private RabbitMQ
vhost, a Redis key prefix; see ``tests/services.py``) with the default worker setup of the queue
(``tasks.workers.worker_argv``, i.e. one process per core x 8 threads) for the test-only
``TestEcho`` types, in a separate process. It reports:

- the queries of one claimed batch (claim to recorded outcomes);
- dispatch latency: one task at a time on idle workers, ``created_at`` → ``started_at`` p50/p95;
- drain rate: N trivial tasks created in one transaction, tasks/s from commit to the last one done,
  for ``TestEchoBatched`` (``batch_size`` 20) and ``TestEcho`` (``batch_size`` 1), as a ratio to
  bare Dramatiq: a no-op actor (``benchmarks/bare_dramatiq.py``) on the same broker with the same
  processes and threads, its N messages queued first and drained by a fresh worker command (first
  to last message run); ``--rounds`` rounds of all three, the medians of rates and of the
  per-round ratios;
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
from tests.waiting import wait_for  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediahub.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", choices=["rabbitmq", "redis"], default="rabbitmq")
    parser.add_argument("--latency-tasks", type=int, default=200)
    parser.add_argument("--drain-tasks", type=int, default=2000)
    parser.add_argument("--api-rows", type=int, default=100_000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="drain rounds (bare Dramatiq, then each type); medians"
    )
    args = parser.parse_args()
    if args.broker == "redis":
        os.environ["BROKER_URL"] = os.environ["REDIS_URL"]

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from tasks import registry
    from tasks.workers import worker_argv
    from tenants.services import create_tenant

    processes, threads = settings.TASK_WORKER_PROCESSES, settings.TASK_WORKER_THREADS
    print(f"broker: {args.broker}; {processes} worker processes x {threads} threads; load {load()}")
    tenant, _ = create_tenant(name="Benchmark")
    query_profile(tenant)
    argv = worker_argv(["test_echo", "test_echo_batched"], processes, threads)
    worker = subprocess.Popen(argv, cwd=ROOT, env=os.environ.copy(), start_new_session=True)
    types = ("TestEchoBatched", "TestEcho")
    try:
        wait_done([create(tenant, 0)], timeout=120)  # warm-up: the worker is up
        latency(tenant, args.latency_tasks)
        # Rounds side by side, so that a busy spell of the machine weighs on both rates alike.
        bare: list[float] = []
        rates: dict[str, list[float]] = {name: [] for name in types}
        for number in range(1, args.rounds + 1):
            bare.append(bare_dramatiq(args.drain_tasks, processes, threads))
            line = f"round {number}: bare Dramatiq {bare[-1]:.0f} messages/s"
            for type_name in types:
                rates[type_name].append(drain(tenant, args.drain_tasks, type_name))
                line += f", {type_name} {rates[type_name][-1]:.0f} tasks/s"
            print(f"{line}; load {load()}")
        for type_name in types:
            ratios = [100 * rate / base for rate, base in zip(rates[type_name], bare, strict=True)]
            ratio = statistics.median(ratios)
            print(
                f"drain: {args.drain_tasks} tasks at {statistics.median(rates[type_name]):.0f} tasks/s = "
                f"{ratio:.1f} % of bare Dramatiq ({statistics.median(bare):.0f} messages/s) [{type_name}, "
                f"batch_size {registry.get_type(type_name).batch_size}; medians of {args.rounds} rounds]"
            )
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
    api(args.api_rows)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def bare_dramatiq(n: int, processes: int, threads: int) -> float:
    """Messages/s of a no-op actor on the same broker with the same processes and threads: the
    messages are queued first, then a worker command drains them."""
    import dramatiq
    import redis

    original = dramatiq.get_broker()
    from benchmarks import bare_dramatiq as bare

    dramatiq.set_broker(original)  # the engine's doorbells stay on the project's broker
    counter = redis.Redis.from_url(os.environ["REDIS_URL"])
    counter.delete(bare.KEY, f"{bare.KEY}:first", f"{bare.KEY}:last")
    for _ in range(n):
        bare.noop.send(n)
    argv = [sys.executable, "-m", "dramatiq", "--processes", str(processes), "--threads", str(threads)]
    argv += ["--queues", "bare_noop", "--", "benchmarks.bare_dramatiq"]
    worker = subprocess.Popen(argv, cwd=ROOT, env=os.environ.copy(), start_new_session=True)
    try:
        wait_for(lambda: counter.get(f"{bare.KEY}:last"), timeout=600, interval=0.1, what="bare Dramatiq")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
    seconds = float(counter.get(f"{bare.KEY}:last")) - float(counter.get(f"{bare.KEY}:first"))
    return (n - 1) / seconds


def query_profile(tenant) -> None:
    """The queries of one claimed batch of 20 short tasks, from claim to recorded outcomes."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from tasks import engine, registry

    with transaction.atomic():
        tasks = [create(tenant, i, "TestEchoBatched") for i in range(20)]
    with CaptureQueriesContext(connection) as queries:
        claimed = engine.claim_batch("TestEchoBatched", 20)
        engine.run_claimed(registry.get_type("TestEchoBatched"), claimed)
    assert len(claimed) == 20
    wait_done(tasks, timeout=10)
    print(f"queries for a batch of 20 tasks, claim to outcome: {len(queries)}")
    for query in queries:
        print(f"  {' '.join(query['sql'].split())[:110]}")


def create(tenant, value, type_name: str = "TestEcho"):
    from tasks.services import create_task

    return create_task(tenant=tenant, type_name=type_name, payload={"value": value})


def wait_done(tasks, timeout: float) -> None:
    from tasks.models import Task

    ids = [t.pk for t in tasks]
    wait_for(
        lambda: Task.objects.filter(pk__in=ids, status="completed").count() == len(ids),
        timeout=timeout,
        interval=0.002 if len(ids) == 1 else 0.2,
        what=f"{len(ids)} tasks",
    )


def latency(tenant, n: int) -> None:
    from tasks.models import Task

    samples = []
    for i in range(n):
        task = create(tenant, i)
        wait_done([task], timeout=30)
        task = Task.objects.get(pk=task.pk)
        samples.append((task.started_at - task.created_at).total_seconds() * 1000)
    print(
        f"dispatch latency over {n} tasks: p50 {percentile(samples, 50):.1f} ms, "
        f"p95 {percentile(samples, 95):.1f} ms, max {max(samples):.1f} ms"
    )


def drain(tenant, n: int, type_name: str) -> float:
    """Tasks/s from the commit of ``n`` tasks created in one transaction to the last one done."""
    from django.db import transaction
    from django.db.models import Max
    from django.utils import timezone

    from tasks.models import Task

    with transaction.atomic():
        tasks = [create(tenant, i, type_name) for i in range(n)]
        committed = timezone.now()
    wait_done(tasks, timeout=600)
    last = Task.objects.filter(pk__in=[t.pk for t in tasks]).aggregate(m=Max("completed_at"))["m"]
    return n / (last - committed).total_seconds()


def api(rows: int) -> None:
    from django.utils import timezone

    from tasks.models import Task
    from tenants.services import create_tenant
    from tests.conftest import client_for

    tenants = [create_tenant(name=f"Bulk {i}")[0] for i in range(10)]
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
        for _ in range(210):
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
