"""The admin as an operator reads it: compact task rows, estimates, endpoint health in words, no
empty django-dramatiq section, a favicon."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

import tests.tasktypes  # noqa: F401 - registers the test-only task types
from mediahub.media.models import Media
from mediahub.webhooks.models import Endpoint
from tasks import services
from tasks.models import Task

pytestmark = pytest.mark.django_db


def test_task_list_is_compact_with_media_and_schedule(admin_client, tenant):
    media = Media.objects.create(tenant=tenant, type="video", filename="a.mp4")
    task = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    Task.objects.filter(pk=task.pk).update(media=media, scheduled_at=timezone.now() + timedelta(hours=1))
    html = admin_client.get("/admin/tasks/task/").content.decode()
    assert f">{str(task.pk)[:8]}…<" in html  # no UUID wrapping over four lines
    assert f"/admin/media/media/{media.pk}/change/" in html
    assert "Scheduled at" in html and "Media" in html


def test_task_detail_shows_queue_position_and_a_readable_doorbell(admin_client, tenant):
    task = services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    html = admin_client.get(f"/admin/tasks/task/{task.pk}/change/").content.decode()
    assert "number 1 in the TestEcho queue" in html
    assert "Last queue message sent" in html and "Rung at" not in html


def test_endpoint_health_is_said_in_words(admin_client, tenant):
    common = {"tenant": tenant, "events": ["*"], "secret_encrypted": "x"}
    Endpoint.objects.create(url="https://ok.example/h", last_success_at=timezone.now(), **common)
    Endpoint.objects.create(
        url="https://bad.example/h",
        consecutive_failures=6,
        failing_since=timezone.now() - timedelta(hours=2),
        **common,
    )
    Endpoint.objects.create(
        url="https://off.example/h", active=False, disabled_reason="failing for 5 days", **common
    )
    html = admin_client.get("/admin/webhooks/endpoint/").content.decode()
    text = re.sub(r"<[^>]+>", "", html)
    assert "healthy" in text
    assert "failing: 6 in a row since" in text
    assert "disabled: failing for 5 days" in text
    assert "icon-yes.svg" not in html  # no bare tick beside a failing endpoint


def test_index_has_no_empty_dramatiq_section_and_a_favicon(admin_client, client):
    html = admin_client.get("/admin/").content.decode()
    assert "django_dramatiq" not in html and "Django Dramatiq" not in html
    assert "/admin/tasks/task/" in html
    assert 'rel="icon"' in html and "favicon.svg" in html
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 301 and favicon["Location"].endswith("/static/mediahub/favicon.svg")
