"""Queue position, estimated start and ETA of tasks (GET /tasks/{id}, ?include=eta)."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from tasks import services
from tasks.models import Task
from tenants.services import issue_api_key
from tests.conftest import client_for
from tests.media_files import make_clip
from tests.task_helpers import wait_for
from tests.test_media_transcoding import upload

LIMITED = "TestLimited"  # max_per_tenant 2, max_concurrency 3 (tests/tasktypes.py)


def make(tenant, priority=5, status=None, **fields) -> Task:
    task = services.create_task(tenant=tenant, type_name=LIMITED, payload={}, priority=priority)
    if status or fields:
        Task.objects.filter(pk=task.pk).update(**({"status": status} if status else {}), **fields)
        task.refresh_from_db()
    return task


@pytest.mark.django_db
def test_queue_position_honours_priority_fifo_and_tenant_caps(tenant, other_tenant):
    make(tenant, status="processing", started_at=timezone.now())
    make(tenant, status="processing", started_at=timezone.now())  # tenant is at its cap of 2
    a1, a2, a3 = make(tenant), make(tenant), make(tenant)
    b1 = make(other_tenant)
    b2 = make(other_tenant, priority=9)
    later = make(other_tenant, status="scheduled", scheduled_at=timezone.now() + timedelta(minutes=10))

    api, other_api = client_for(tenant), client_for(other_tenant)

    def position(client, task):
        body = client.get(f"/api/v1/tasks/{task.id}").json()
        return body["queue_position"]

    assert position(other_api, b2) == 1  # highest priority
    # Only the capped tenant's own backlog is ahead of its tasks, plus what the other may start.
    assert position(api, a1) == 2
    assert position(api, a2) == 3
    assert position(api, a3) == 4
    # The capped tenant's three waiting tasks do not hold back the other tenant's older-is-later task.
    assert position(other_api, b1) == 2

    scheduled = other_api.get(f"/api/v1/tasks/{later.id}").json()
    assert scheduled["queue_position"] is None
    assert 590 <= scheduled["estimated_start_seconds"] <= 600


@pytest.mark.django_db
def test_estimated_start_from_recent_throughput(tenant):
    now = timezone.now()
    for seconds_ago in range(10, 310, 10):  # 30 finished in the last 300 s: 0.1 task/s
        make(tenant, status="completed", started_at=now, completed_at=now - timedelta(seconds=seconds_ago))
    first, second = make(tenant), make(tenant)
    api = client_for(tenant)
    assert api.get(f"/api/v1/tasks/{first.id}").json()["estimated_start_seconds"] == 0
    body = api.get(f"/api/v1/tasks/{second.id}").json()
    assert body["queue_position"] == 2
    assert 9 <= body["estimated_start_seconds"] <= 11


@pytest.mark.django_db
def test_lists_carry_estimates_only_on_request(tenant):
    make(tenant)
    api = client_for(tenant)
    plain = api.get("/api/v1/tasks").json()["tasks"][0]
    assert "queue_position" not in plain and "eta_seconds" not in plain
    with_eta = api.get("/api/v1/tasks?include=eta").json()["tasks"][0]
    assert with_eta["queue_position"] == 1 and with_eta["eta_seconds"] is None
    bad = api.get("/api/v1/tasks?include=everything")
    assert bad.status_code == 400 and "include" in bad.json()["error"]["details"]


@pytest.mark.django_db(transaction=True)
@override_settings(TRANSCODE_PRESET="slow")
def test_eta_at_mid_transcode_is_within_half(live_server, tenant, worker, tmp_path):
    """A steady clip: the ETA read at mid-encode is within ±50 % of the time it really took, both
    measured from the database's own timestamps."""
    key = issue_api_key(tenant=tenant, name="eta", scopes=["admin"]).key
    clip = make_clip(tmp_path / "steady.mp4", size="640x360", seconds=20, fps=25)
    media_id = upload(live_server.url, key, clip)["id"]
    task = Task.objects.get(media_id=media_id, type="VideoTranscoding")
    api = client_for(tenant)

    def mid_run():
        body = api.get(f"/api/v1/tasks/{task.id}").json()
        return body if 35 <= body["progress"] <= 70 and body["eta_seconds"] is not None else None

    body = wait_for(mid_run, timeout=240, interval=0.2)
    read_at = timezone.now()
    done = wait_for(lambda: (t := Task.objects.get(pk=task.pk)).status == "completed" and t, timeout=300)
    actual = (done.completed_at - read_at).total_seconds()
    assert 0.5 * actual <= body["eta_seconds"] <= 1.5 * actual, (body["eta_seconds"], actual)
