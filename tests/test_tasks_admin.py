import pytest
from django.contrib.auth.models import User

import tests.tasktypes  # noqa: F401 - registers the test-only task types
from tasks import services
from tasks.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-123456789"))
    return client


def test_task_list_filters_and_change_page_with_attempts(admin_client, tenant):
    task = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    page = admin_client.get("/admin/tasks/task/", {"status__exact": "pending", "type": "TestEcho"})
    assert page.status_code == 200
    assert str(task.pk) in page.content.decode() and "0 %" in page.content.decode()
    change = admin_client.get(f"/admin/tasks/task/{task.pk}/change/")
    assert change.status_code == 200 and "attempts" in change.content.decode().lower()


def test_cancel_and_retry_actions(admin_client, tenant):
    tasks = [
        services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": i}) for i in range(2)
    ]
    ids = [str(t.pk) for t in tasks]
    admin_client.post("/admin/tasks/task/", {"action": "cancel", "_selected_action": ids})
    assert set(Task.objects.values_list("status", flat=True)) == {"cancelled"}
    admin_client.post("/admin/tasks/task/", {"action": "retry", "_selected_action": ids[:1]})
    assert Task.objects.get(pk=ids[0]).status == "pending"
    response = admin_client.post(
        "/admin/tasks/task/", {"action": "retry", "_selected_action": ids}, follow=True
    )
    assert "1 done, 1 skipped" in response.content.decode()
