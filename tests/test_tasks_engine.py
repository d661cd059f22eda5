import pytest

from tasks import services
from tasks.models import Task
from tests.task_helpers import running_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_task_runs_to_completion(task_broker, tenant):
    task = services.create_task(tenant, "TestEcho", {"value": 7})
    assert task.status == Task.Status.PENDING
    with running_worker(task_broker):
        wait_for(lambda: Task.objects.get(pk=task.pk).status == Task.Status.COMPLETED)
    task.refresh_from_db()
    assert task.result == {"value": 7}
    assert task.progress == 100
    assert [a.number for a in task.attempts.all()] == [1]
    assert task.attempts.get().finished_at is not None
