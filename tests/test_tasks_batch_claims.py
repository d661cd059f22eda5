"""Batch claims: ``TaskType.batch_size`` / ``run_batch``, and caps, priority and FIFO under them."""

from collections import Counter

import pytest
from django.db import transaction

from mediahub.webhooks.models import Event
from tasks import services
from tasks.models import Task, TaskAttempt
from tenants.services import create_tenant
from tests import tasktypes
from tests.task_helpers import running_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

Status = Task.Status


def statuses(tasks) -> dict:
    return dict(Task.objects.filter(pk__in=[t.pk for t in tasks]).values_list("pk", "status"))


def test_run_batch_runs_once_per_claimed_batch_with_one_outcome_per_task(task_broker, tenant):
    tasktypes.batch_calls.clear()
    payloads = [{"value": i} for i in range(6)]
    payloads[1]["fail"] = "permanent"
    payloads[5]["fail"] = "transient"
    with transaction.atomic():
        tasks = [
            services.create_task(
                tenant=tenant, type_name="TestBatch", payload=payload, max_retries=0, priority=9 - i
            )
            for i, payload in enumerate(payloads)
        ]
    with running_worker(task_broker, threads=1):
        wait_for(lambda: set(statuses(tasks).values()) <= {Status.COMPLETED, Status.FAILED}, timeout=60)
    assert tasktypes.batch_calls == [4, 2]  # best first: the four highest priorities, then the rest
    done = {t.pk: t for t in Task.objects.filter(pk__in=[t.pk for t in tasks])}
    results = [done[t.pk] for t in tasks]
    assert [t.status for t in results] == [
        "completed",
        "failed",
        "completed",
        "completed",
        "completed",
        "failed",
    ]
    assert results[0].result == {"value": 0, "batch": 4} and results[4].result == {"value": 4, "batch": 2}
    assert results[1].error == "bad input: this task never works"
    assert results[5].error == "flaky"
    assert all(t.attempts.get().finished_at for t in results)
    started = Counter(Event.objects.filter(type="task.started").values_list("data__id", flat=True))
    assert len(started) == 6 and set(started.values()) == {1}
    event = Event.objects.get(type="task.completed", data__id=str(tasks[0].pk))
    assert event.data["status"] == "completed" and event.data["attempts"][0]["finished_at"]
    assert Event.objects.filter(type="task.failed").count() == 2


def test_cancel_and_timeout_stop_one_task_of_a_running_batch(task_broker, tenant):
    with transaction.atomic():
        cancelled = services.create_task(
            tenant=tenant, type_name="TestBatch", payload={"value": 1, "sleep": 60}
        )
        timed_out = services.create_task(
            tenant=tenant,
            type_name="TestBatch",
            payload={"value": 2, "sleep": 60},
            timeout_seconds=1,
            max_retries=0,
        )
        quick = services.create_task(tenant=tenant, type_name="TestBatch", payload={"value": 3, "sleep": 0.5})
    with running_worker(task_broker, threads=1):
        wait_for(lambda: set(statuses([cancelled]).values()) == {Status.PROCESSING}, timeout=30)
        services.cancel_task(task=cancelled)
        wait_for(lambda: Task.objects.get(pk=timed_out.pk).status == Status.FAILED, timeout=30)
    quick.refresh_from_db()
    assert quick.status == Status.COMPLETED and quick.result == {"value": 3, "batch": 3}
    assert Task.objects.get(pk=cancelled.pk).status == Status.CANCELLED
    timed_out.refresh_from_db()
    assert timed_out.error == "Timed out after 1 s."
    # The timeout is the task's own: measured from its timestamps, not the test's clock.
    assert (timed_out.completed_at - timed_out.started_at).total_seconds() < 30


@pytest.mark.parametrize("task_broker", ["rabbitmq"], indirect=True)  # the claim is broker-blind
def test_1000_tasks_across_5_tenants_keep_caps_priority_and_fifo_under_batch_claims(task_broker):
    # TestCapped: claims of up to 4, at most 6 running, 2 per tenant.
    tenants = [create_tenant(name=f"Tenant {i}")[0] for i in range(5)]
    with transaction.atomic():
        for i in range(1000):
            services.create_task(
                tenant=tenants[i % 5], type_name="TestCapped", payload={}, priority=(i * 7) % 3 + 4
            )
    with running_worker(task_broker, threads=8):
        wait_for(
            lambda: Task.objects.filter(type="TestCapped", status=Status.COMPLETED).count() == 1000,
            timeout=240,
            interval=0.5,
        )
    attempts = list(
        TaskAttempt.objects.filter(task__type="TestCapped").values_list(
            "task__tenant_id", "task__priority", "task__created_at", "started_at", "finished_at"
        )
    )
    assert len(attempts) == 1000  # each ran once
    # Caps, from the attempts' own timestamps: an attempt is "processing" from start to finish.
    changes = sorted(
        [(started, 1, tenant) for tenant, _, _, started, _ in attempts]
        + [(finished, -1, tenant) for tenant, _, _, _, finished in attempts],
        key=lambda change: (change[0], change[1]),  # at equal times, ends before starts
    )
    running, peak = Counter(), Counter()
    for _, delta, tenant in changes:
        running[tenant] += delta
        running["all"] += delta
        peak[tenant] = max(peak[tenant], running[tenant])
        peak["all"] = max(peak["all"], running["all"])
    assert peak["all"] <= 6 and max(peak[t.pk] for t in tenants) <= 2
    assert peak["all"] >= 4  # the caps were reached, not merely respected by running one at a time
    # Within a tenant, every task started in order: priority first, then age.
    for tenant in tenants:
        mine = sorted((a for a in attempts if a[0] == tenant.pk), key=lambda a: (-a[1], a[2]))
        starts = [a[3] for a in mine]
        assert starts == sorted(starts)
