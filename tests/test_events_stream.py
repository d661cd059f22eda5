"""``GET /api/v1/events/stream`` over real HTTP (the live server), Redis pub/sub and a real worker."""

from __future__ import annotations

import json
import queue
import threading
import time
from datetime import datetime

import pytest
import requests
from django.db import transaction

from mediahub.cli.sse import parse
from mediahub.errors import Invalid
from mediahub.events.outbox import emit
from mediahub.media.models import Media
from mediahub.stream import service
from mediahub.webhooks.models import Event
from tasks import services as task_services
from tenants.services import issue_api_key
from tests.task_helpers import bound_broker, running_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


class Stream:
    """An SSE connection read by a thread; ``events`` receives ``(event, body or None, id)``."""

    def __init__(self, base: str, key: str, params: dict | None = None, last_event_id: str | None = None):
        headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        # Returns once the headers are in: the server subscribed before answering.
        self.response = requests.get(
            f"{base}/api/v1/events/stream", params=params, headers=headers, stream=True, timeout=60
        )
        self.events: queue.Queue = queue.Queue()
        if self.response.status_code == 200:
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()

    def _read(self) -> None:
        lines = self.response.iter_lines(chunk_size=1, decode_unicode=True)
        try:
            for sse in parse(lines):
                self.events.put((sse.event, json.loads(sse.data), sse.id, time.monotonic()))
        except (requests.RequestException, AttributeError, ValueError):
            pass  # closed by the test

    def until(self, predicate, timeout: float = 90) -> list:
        """Every event received until one matches ``predicate`` (included)."""
        received = []
        deadline = time.monotonic() + timeout
        while True:
            item = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            received.append(item)
            if predicate(item):
                return received

    def close(self) -> None:
        self.response.close()


def completed(task_id):
    return lambda item: item[0] == "task.completed" and item[1]["data"]["id"] == str(task_id)


@pytest.fixture(autouse=True)
def quick_streams(settings):
    # A closed connection is noticed at the stream's next write: beat often so it ends soon.
    settings.EVENTS_STREAM_HEARTBEAT_SECONDS = 0.5
    settings.EVENTS_STREAM_MAX_PER_PROCESS = 10


@pytest.fixture
def broker():
    with bound_broker("rabbitmq") as bound:
        yield bound


def test_progress_and_completion_arrive_live_and_a_resume_loses_nothing(live_server, tenant, broker):
    key = issue_api_key(tenant=tenant, name="sse", scopes=["read"]).key
    stream = Stream(live_server.url, key, {"types": "task.*"})
    assert stream.response.headers["Content-Type"] == "text/event-stream"
    first = task_services.create_task(tenant=tenant, type_name="TestLongFFmpeg", payload={"seconds": 4})
    with running_worker(broker, threads=1, queues={"test_ffmpeg"}):
        live = stream.until(completed(first.id))
        stream.close()
        types = [item[0] for item in live]
        assert types[:2] == ["task.created", "task.started"] and types[-1] == "task.completed"
        ticks = [item for item in live if item[0] == "task.progress"]
        assert ticks and all(0 <= tick[1]["data"]["progress"] < 100 for tick in ticks)
        assert all(tick[2] is None for tick in ticks)  # ephemeral: never moves the resume cursor
        assert all(tick[1]["data"]["id"] == str(first.id) for tick in ticks)
        # at most one a second per task, by the worker's own clock (each tick's timestamp)
        stamps = [datetime.fromisoformat(tick[1]["timestamp"].replace("Z", "+00:00")) for tick in ticks]
        gaps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:], strict=False)]
        assert all(gap >= 0.95 for gap in gaps), gaps

        # Disconnect right after the second task's first event; what follows happens unseen.
        resumable = Stream(live_server.url, key, {"types": "task.*"})
        second = task_services.create_task(tenant=tenant, type_name="TestLongFFmpeg", payload={"seconds": 1})
        seen = resumable.until(lambda item: item[0] == "task.created")
        resumable.close()
        last_id = seen[-1][2]
        third = task_services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 3})
        wait_for(lambda: Event.objects.filter(tenant=tenant, type="task.completed").count() == 2, 90)

    resumed = Stream(live_server.url, key, {"types": "task.*"}, last_event_id=last_id)
    replay = resumed.until(completed(second.id))
    resumed.close()
    received = {item[2] for item in seen + replay}
    stored = Event.objects.filter(tenant=tenant, created_at__gte=second.created_at, type__startswith="task.")
    assert set(map(str, stored.values_list("id", flat=True))) <= received
    assert [item[0] for item in replay if item[1]["data"]["id"] == str(second.id)][-1] == "task.completed"
    assert not any(item[0] == "task.progress" for item in replay)  # progress is never replayed
    assert third.id  # created while disconnected, replayed (its events are among `stored`)


def test_filters_by_type_and_media(live_server, tenant):
    key = issue_api_key(tenant=tenant, name="sse", scopes=["read"]).key
    media = Media.objects.create(tenant=tenant, type="video", filename="a.mp4")
    stream = Stream(live_server.url, key, {"types": "task.created,media.*", "media": str(media.id)})
    task_services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})  # about no media
    wanted = task_services.create_task(
        tenant=tenant, type_name="TestMediaProbe", payload={"media_id": str(media.id)}
    )
    with transaction.atomic():
        emit(tenant, "media.ready", {"id": str(media.id)})
    items = stream.until(lambda item: item[0] == "media.ready", timeout=30)
    stream.close()
    assert [(item[0], item[1]["data"]["id"]) for item in items] == [
        ("task.created", str(wanted.id)),
        ("media.ready", str(media.id)),
    ]


def test_heartbeats_keep_an_idle_stream_alive(live_server, tenant, settings):
    key = issue_api_key(tenant=tenant, name="sse", scopes=["read"]).key
    response = requests.get(
        f"{live_server.url}/api/v1/events/stream", headers={"Authorization": f"Bearer {key}"}, stream=True
    )
    lines = response.iter_lines(chunk_size=1, decode_unicode=True)
    beats = 0
    for line in lines:
        beats += line == ": heartbeat"
        if beats == 2:
            break
    response.close()
    assert beats == 2


def test_errors_are_json(live_server, tenant, other_tenant, settings):
    url = f"{live_server.url}/api/v1/events/stream"
    key = issue_api_key(tenant=tenant, name="sse", scopes=["read"]).key
    auth = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}

    def error(response):
        assert response.headers["Content-Type"] == "application/json", response.headers
        return response.status_code, response.json()["error"]["code"]

    assert error(requests.get(url, headers={"Accept": "text/event-stream"}))[0] == 401
    assert error(requests.get(url, params={"types": "task.nope"}, headers=auth)) == (400, "invalid_input")
    assert error(requests.get(url, params={"media": "x"}, headers=auth)) == (400, "invalid_input")
    assert error(requests.get(url, headers={**auth, "Last-Event-ID": "nope"})) == (400, "invalid_input")
    # another tenant's event id is not this tenant's history
    other_task = task_services.create_task(tenant=other_tenant, type_name="TestEcho", payload={"value": 1})
    other_event = Event.objects.get(tenant=other_tenant, data__id=str(other_task.id))
    assert error(requests.get(url, headers={**auth, "Last-Event-ID": str(other_event.id)})) == (
        410,
        "event_expired",
    )

    settings.EVENTS_STREAM_MAX_PER_TENANT = 1
    settings.EVENTS_STREAM_MAX_PER_PROCESS = 5
    held = Stream(live_server.url, key)
    try:
        assert held.response.status_code == 200
        refused = requests.get(url, headers=auth)
        assert error(refused) == (429, "too_many_streams") and refused.headers["Retry-After"] == "5"
    finally:
        held.close()
    settings.EVENTS_STREAM_MAX_PER_PROCESS = 0
    assert error(requests.get(url, headers=auth)) == (503, "stream_capacity")


def test_the_admin_media_page_follows_its_media_live(admin_client, client, tenant):
    media = Media.objects.create(tenant=tenant, type="video", filename="a.mp4")
    page = admin_client.get(f"/admin/media/media/{media.id}/change/")
    url = f"/admin/live/media/{media.id}/events"
    assert url in page.content.decode()

    response = admin_client.get(url)
    assert response["Content-Type"] == "text/event-stream"
    chunks = iter(response.streaming_content)
    assert next(chunks).startswith(b"retry:")
    other = Media.objects.create(tenant=tenant, type="video", filename="b.mp4")
    with transaction.atomic():
        emit(tenant, "media.ready", {"id": str(other.id), "status": "ready"})  # another media
        emit(tenant, "media.ready", {"id": str(media.id), "status": "ready"})
    frames = b""
    while b"event: media.ready" not in frames:
        frames += next(chunks)
    response.close()
    assert str(media.id).encode() in frames and str(other.id).encode() not in frames

    assert client.get(url).status_code == 302  # not staff: to the login page


@pytest.mark.parametrize("types", ["*", "task.*", "media.created, task.progress", "webhook.*,batch.finished"])
def test_type_filters_are_the_schemas_enum(types):
    assert set(service.parse_filters(types, None).types) <= set(service.TYPE_FILTERS)


@pytest.mark.parametrize("types", ["task.nope", "tas.*", ".*", "media.created.*", "task.*,x"])
def test_unknown_type_filters_are_400(types):
    with pytest.raises(Invalid) as refused:
        service.parse_filters(types, None)
    assert "types" in refused.value.details
