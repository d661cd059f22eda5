from datetime import timedelta

import pytest
from django.utils import timezone

import tests.tasktypes  # noqa: F401 - registers the test-only task types
from mediahub.webhooks.models import Event
from tasks import services
from tasks.models import Batch, Task
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def create(api, **body):
    return api.post("/api/v1/tasks", {"type": "TestEcho", "payload": {"value": 1}, **body}, format="json")


def test_create_returns_the_task_and_emits_created(api, tenant):
    response = create(api, name="first", priority=7, metadata={"k": "v"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["priority"] == 7 and body["progress"] == 0
    assert body["max_retries"] == 3 and body["timeout_seconds"] == 60
    assert body["attempts"] == [] and body["depends_on"] == [] and body["phase"] is None
    assert body["metadata"] == {"k": "v"}
    event = Event.objects.get(tenant=tenant, type="task.created")
    assert event.data["id"] == body["id"]


def test_a_scheduled_at_before_year_1000_is_written_with_four_digits(api):
    # A time already past starts at once; it is echoed as valid ISO 8601 (strftime's %Y gave "1-01-01").
    body = create(api, scheduled_at="0001-01-01T02:00:01Z").json()
    assert body["status"] == "pending" and body["scheduled_at"] == "0001-01-01T02:00:01.000000Z"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"payload": {}}, "value"),
        ({"payload": {"value": "x"}}, "value"),
        ({"payload": {"value": 1, "extra": 2}}, "non_field_errors"),
    ],
)
def test_payload_is_validated_against_the_type_schema(api, body, field):
    response = create(api, **body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in error["details"]["payload"]
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "NoSuchType"}, "type"),
        ({"priority": 11}, "priority"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"depends_on": ["00000000-0000-0000-0000-000000000000"]}, "depends_on"),
        ({"colour": "red"}, "colour"),
        ({"payload": [1]}, "payload"),
    ],
)
def test_bad_fields_are_400_naming_the_field(api, body, field):
    response = create(api, **body)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_a_payload_media_id_links_the_tenants_media_only(api, tenant, other_tenant):
    from mediahub.media.models import Media

    mine = Media.objects.create(tenant=tenant, type="video", filename="a.mp4")
    theirs = Media.objects.create(tenant=other_tenant, type="video", filename="b.mp4")
    linked = services.create_task(
        tenant=tenant, type_name="TestMediaProbe", payload={"media_id": str(mine.pk)}
    )
    assert linked.media == mine
    assert (
        services.create_task(
            tenant=tenant, type_name="TestMediaProbe", payload={"media_id": str(theirs.pk)}
        ).media
        is None
    )
    assert (
        services.create_task(
            tenant=tenant, type_name="TestMediaProbe", payload={"media_id": "not-a-uuid"}
        ).media
        is None
    )
    listed = api.get("/api/v1/tasks", {"media": str(mine.pk)}).json()
    assert [t["id"] for t in listed["tasks"]] == [str(linked.pk)]
    assert listed["tasks"][0]["media"] == str(mine.pk)


def test_batch_filter(api, tenant):
    batch, (task,) = services.create_batch(
        tenant=tenant, specs=[{"type": "TestEcho", "payload": {"value": 1}}]
    )
    services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 2})
    listed = api.get("/api/v1/tasks", {"batch": str(batch.pk)}).json()
    assert listed["total"] == 1 and listed["tasks"][0]["id"] == str(task.pk)
    assert api.get("/api/v1/tasks", {"batch": "nope"}).status_code == 400


def test_list_shape_filters_and_newest_first(api, tenant):
    first = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    second = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 2})
    services.cancel_task(task=second)
    body = api.get("/api/v1/tasks").json()
    assert set(body) == {"tasks", "total", "limit", "offset"}
    assert [t["id"] for t in body["tasks"]] == [str(second.pk), str(first.pk)]
    assert body["total"] == 2 and body["limit"] == 50 and body["offset"] == 0
    assert [t["id"] for t in api.get("/api/v1/tasks?status=pending").json()["tasks"]] == [str(first.pk)]
    assert api.get("/api/v1/tasks?type=TestLimited").json()["total"] == 0
    future = (timezone.now() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert api.get("/api/v1/tasks", {"start_date": future}).json()["total"] == 0
    assert api.get("/api/v1/tasks", {"end_date": future}).json()["total"] == 2
    assert api.get("/api/v1/tasks?status=nope").status_code == 400
    assert api.get("/api/v1/tasks?start_date=yesterday").status_code == 400
    # RFC 3339 allows offsets up to ±23:59 (PostgreSQL only ±15:59), and any year from 1 to 9999.
    for start in ("0079-03-08T13:04:57+19:12", "2000-01-01T00:00:00-17:12", "0001-01-01T00:00:00+05:00"):
        assert api.get("/api/v1/tasks", {"start_date": start}).json()["total"] == 2, start
    assert api.get("/api/v1/tasks", {"end_date": "9999-12-31T23:00:00-05:00"}).json()["total"] == 2


def test_cancel_and_retry_follow_the_state_machine(api, tenant):
    task = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    retry = api.post(f"/api/v1/tasks/{task.pk}/retry")
    assert retry.status_code == 409
    assert retry.json()["error"]["code"] == "invalid_task_state"

    cancelled = api.post(f"/api/v1/tasks/{task.pk}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["completed_at"] is not None
    assert api.post(f"/api/v1/tasks/{task.pk}/cancel").status_code == 409

    retried = api.post(f"/api/v1/tasks/{task.pk}/retry")
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending" and retried.json()["error"] == ""
    types = list(Event.objects.filter(tenant=tenant).order_by("created_at").values_list("type", flat=True))
    assert types == ["task.created", "task.cancelled", "task.retrying"]


def test_completed_task_cannot_be_cancelled(api, tenant):
    task = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    Task.objects.filter(pk=task.pk).update(status=Task.Status.COMPLETED)
    response = api.post(f"/api/v1/tasks/{task.pk}/cancel")
    assert response.status_code == 409
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_delete_removes_the_task_and_emits_deleted(api, tenant):
    task = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    assert api.delete(f"/api/v1/tasks/{task.pk}").status_code == 204
    assert api.get(f"/api/v1/tasks/{task.pk}").status_code == 404
    types = set(Event.objects.filter(tenant=tenant).values_list("type", flat=True))
    assert {"task.cancelled", "task.deleted"} <= types


def test_dependency_failure_cancels_the_dependent(api, tenant):
    first = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    response = create(api, depends_on=[str(first.pk)])
    assert response.status_code == 201
    dependent = Task.objects.get(pk=response.json()["id"])
    assert dependent.blocked and response.json()["depends_on"] == [str(first.pk)]
    services.cancel_task(task=first)
    dependent.refresh_from_db()
    assert dependent.status == Task.Status.CANCELLED
    assert str(first.pk) in dependent.error
    # The dependency did not complete: retrying the dependent alone is refused.
    assert api.post(f"/api/v1/tasks/{dependent.pk}/retry").status_code == 409


def test_batch_is_all_or_nothing(api, tenant):
    bad = [{"type": "TestEcho", "payload": {"value": 1}}, {"type": "TestEcho", "payload": {}}]
    response = api.post("/api/v1/tasks/batch", bad, format="json")
    assert response.status_code == 400
    assert "value" in response.json()["error"]["details"]["tasks"]["1"]["payload"]
    assert not Task.objects.exists() and not Batch.objects.exists()
    assert api.post("/api/v1/tasks/batch", {"type": "TestEcho"}, format="json").status_code == 400

    good = [{"type": "TestEcho", "payload": {"value": i}, "priority": i} for i in range(3)]
    response = api.post("/api/v1/tasks/batch", good, format="json")
    assert response.status_code == 201
    body = response.json()
    assert len(body["tasks"]) == 3 and {t["batch"] for t in body["tasks"]} == {body["batch"]}
    summary = api.get(f"/api/v1/batches/{body['batch']}").json()
    assert summary["total"] == 3 and summary["by_status"]["pending"] == 3
    assert summary["by_status"]["failed"] == 0 and summary["finished_at"] is None
    assert Event.objects.filter(tenant=tenant, type="batch.created").count() == 1


def test_batch_finishes_once_when_its_last_task_ends(api, tenant):
    specs = [{"type": "TestEcho", "payload": {"value": i}} for i in range(2)]
    batch, tasks = services.create_batch(tenant=tenant, specs=specs)
    services.cancel_task(task=tasks[0])
    assert not Event.objects.filter(type="batch.finished").exists()
    services.cancel_task(task=tasks[1])
    services.retry_task(task=tasks[1])
    services.cancel_task(task=tasks[1])
    finished = Event.objects.filter(tenant=tenant, type="batch.finished")
    assert finished.count() == 1
    assert finished.get().data["by_status"]["cancelled"] == 2
    assert finished.get().data["progress"] == 100


def _at(base, seconds):
    return base + timedelta(seconds=seconds)


def test_stats_are_exact_on_a_known_data_set(api, tenant, other_tenant):
    t0 = timezone.now() - timedelta(hours=1)
    rows = [
        # status, created, started, completed (seconds after t0)
        ("completed", 0, 2, 12),  # queue 2, run 10
        ("completed", 0, 4, 24),  # queue 4, run 20
        ("completed", 0, 6, 36),  # queue 6, run 30
        ("completed", 0, 8, 48),  # queue 8, run 40
        ("failed", 0, 10, 11),  # queue 10
        ("pending", 0, None, None),
        ("scheduled", 0, None, None),
    ]
    for status, created, started, completed in rows:
        Task.objects.create(
            tenant=tenant,
            type="TestEcho",
            status=status,
            timeout_seconds=60,
            created_at=_at(t0, created),
            started_at=None if started is None else _at(t0, started),
            completed_at=None if completed is None else _at(t0, completed),
        )
    Task.objects.create(tenant=other_tenant, type="TestEcho", status="completed", timeout_seconds=60)
    Task.objects.create(tenant=tenant, type="TestLimited", status="cancelled", timeout_seconds=60)

    stats = api.get("/api/v1/tasks/stats").json()
    assert stats["total"] == 8
    assert stats["by_status"] == {
        "pending": 1,
        "scheduled": 1,
        "processing": 0,
        "completed": 4,
        "failed": 1,
        "cancelled": 1,
    }
    assert stats["by_type"]["TestEcho"] == 7 and stats["by_type"]["TestLimited"] == 1
    assert stats["by_type"]["TestLongFFmpeg"] == 0
    assert stats["average_duration_seconds"] == 25.0
    # p95 of 10, 20, 30, 40 by linear interpolation: 30 + 0.85 * 10
    assert stats["p95_duration_seconds"] == 38.5
    assert stats["average_queue_seconds"] == 6.0
    assert stats["success_rate"] == 0.8

    only_limited = api.get("/api/v1/tasks/stats?type=TestLimited").json()
    assert only_limited["total"] == 1 and only_limited["success_rate"] is None
    assert api.get("/api/v1/tasks/stats?start_date=bad").status_code == 400


def test_every_task_endpoint_isolates_tenants(api, other_api, tenant, other_tenant):
    task = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    batch, _ = services.create_batch(tenant=tenant, specs=[{"type": "TestEcho", "payload": {"value": 2}}])
    for method, path in [
        ("get", f"/api/v1/tasks/{task.pk}"),
        ("post", f"/api/v1/tasks/{task.pk}/cancel"),
        ("post", f"/api/v1/tasks/{task.pk}/retry"),
        ("delete", f"/api/v1/tasks/{task.pk}"),
        ("get", f"/api/v1/batches/{batch.pk}"),
    ]:
        response = getattr(other_api, method)(path)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "not_found"
    assert other_api.get("/api/v1/tasks").json()["total"] == 0
    assert other_api.get("/api/v1/tasks/stats").json()["total"] == 0
    foreign_dependency = create(other_api, depends_on=[str(task.pk)])
    assert foreign_dependency.status_code == 400
    assert Task.objects.get(pk=task.pk).status == Task.Status.PENDING
    assert api.get(f"/api/v1/tasks/{task.pk}").status_code == 200


def test_scopes(tenant):
    task = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    reader = client_for(tenant, ["read"])
    assert reader.get("/api/v1/tasks").status_code == 200
    assert create(reader).status_code == 403
    assert reader.post(f"/api/v1/tasks/{task.pk}/cancel").status_code == 403
    assert reader.delete(f"/api/v1/tasks/{task.pk}").status_code == 403


def test_idempotency_key_creates_one_task(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "create-task-1"}
    body = {"type": "TestEcho", "payload": {"value": 1}}
    first = api.post("/api/v1/tasks", body, format="json", **headers)
    again = api.post("/api/v1/tasks", body, format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Task.objects.count() == 1


def test_openapi_schema_describes_the_task_endpoints(api):
    schema = api.get("/api/v1/schema?format=json").json()
    for path in ["/api/v1/tasks", "/api/v1/tasks/{id}/cancel", "/api/v1/tasks/stats", "/api/v1/batches/{id}"]:
        assert path in schema["paths"], path


def test_the_hand_built_representation_is_what_the_serializer_declares(tenant):
    """``task_representation`` (API and events) gives exactly what DRF's field-by-field output of
    the declared fields (the schema) gives, for a task with every kind of value set."""
    from rest_framework import serializers as drf

    from tasks.models import TaskAttempt
    from tasks.serializers import TaskSerializer, TaskWithEtaSerializer

    first = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    batch = Batch.objects.create(tenant=tenant)
    task = services.create_task(
        tenant=tenant,
        type_name="TestEcho",
        payload={"value": 2},
        name="ünïcode",
        metadata={"nested": {"list": [1, "two", None]}},
        depends_on=[first.pk],
        scheduled_at=timezone.now() + timedelta(hours=1),
    )
    Task.objects.filter(pk=task.pk).update(
        batch=batch, result={"ok": True}, error="boom", phase="running", started_at=timezone.now()
    )
    TaskAttempt.objects.create(task=task, number=1, finished_at=timezone.now(), error="lost")
    TaskAttempt.objects.create(task=task, number=2)
    task = Task.objects.get(pk=task.pk)
    task.eta_seconds, task.queue_position, task.estimated_start_seconds = 5, None, 7

    for serializer_class in (TaskSerializer, TaskWithEtaSerializer):
        declared = drf.Serializer.to_representation(serializer_class(), task)
        assert serializer_class(task).data == declared
        assert serializer_class(first).data == drf.Serializer.to_representation(serializer_class(), first)
