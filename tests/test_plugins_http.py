"""The ``http`` plugin against a real loopback service: signed request, reply as result, transient
failures with backoff, and the callback of a service that answers later."""

import hashlib
import json

import pytest
import requests
from standardwebhooks import Webhook

from mediahub.media.models import Media
from mediahub.webhooks.models import Event
from tasks.models import Task
from tests.media_files import make_clip
from tests.task_helpers import wait_for
from tests.webhook_receiver import Receiver, Reply

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def media(api, tmp_path) -> Media:
    with open(make_clip(tmp_path / "a.mp4"), "rb") as fh:
        response = api.post("/api/v1/media", {"file": fh, "auto_transcode": "false"}, format="multipart")
    return Media.objects.get(pk=response.json()["id"])


def configure(api, url: str, **extra) -> None:
    body = {"enabled": True, "config": {"url": url, "secret": SECRET, **extra}}
    response = api.put("/api/v1/plugins/http/config", body, format="json")
    assert response.status_code == 200, response.json()


def execute(api, media: Media) -> str:
    response = api.post("/api/v1/plugins/http/execute", {"media_id": str(media.id)}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def wait_status(task_id: str, *statuses: str) -> Task:
    return wait_for(lambda: (t := Task.objects.get(pk=task_id)).status in statuses and t, timeout=60)


def test_posts_signed_media_and_keeps_the_json_reply(api, media, plugins_worker, receiver):
    receiver.default = Reply(200, json.dumps({"labels": ["cat", "sofa"]}).encode())
    configure(api, receiver.url)
    task = wait_status(execute(api, media), "completed", "failed")
    assert task.status == "completed", task.error
    assert task.result == {"status": 200, "reply": {"labels": ["cat", "sofa"]}}

    (request,) = receiver.requests
    payload = Webhook(SECRET).verify(request.body, request.headers)  # raises unless signed right
    assert request.headers["webhook-id"] == str(task.id)
    assert payload["media"]["id"] == str(media.id)
    original = requests.get(payload["download_url"], timeout=10).content
    assert hashlib.sha256(original).hexdigest() == media.sha256
    assert payload["callback"].startswith("http")
    entry = api.get(f"/api/v1/media/{media.id}").json()["plugins"]["http"]
    assert entry["status"] == "completed" and entry["result"]["reply"] == {"labels": ["cat", "sofa"]}


def test_server_errors_and_timeouts_are_transient_failures_with_backoff(api, media, plugins_worker, receiver):
    receiver.script = [Reply(500, b"boom")]
    configure(api, receiver.url)
    task = wait_status(execute(api, media), "scheduled", "failed", "completed")
    assert task.status == "scheduled" and task.retry_count == 1, task.error
    assert "HTTP 500" in task.error and task.scheduled_at > task.started_at

    receiver.default = Reply(hang=True)
    configure(api, receiver.url, timeout_seconds=1)
    task = wait_status(execute(api, media), "scheduled", "failed", "completed")
    assert task.status == "scheduled" and "Timed out" in task.error


def test_a_service_that_answers_later_posts_to_the_callback(api, media, plugins_worker, receiver):
    receiver.default = Reply(202, b'{"job": 7}')
    configure(api, receiver.url)
    task = wait_status(execute(api, media), "completed", "failed")
    assert task.status == "completed", task.error
    entry = api.get(f"/api/v1/media/{media.id}").json()["plugins"]["http"]
    assert entry["status"] == "awaiting_callback"
    assert not Event.objects.filter(type="plugin.completed").exists()

    callback = json.loads(receiver.requests[0].body)["callback"]
    path = callback.split("://", 1)[1].split("/", 1)[1]
    anonymous = api.__class__()
    assert anonymous.post(f"/{path}x", {"a": 1}, format="json").status_code == 404
    response = anonymous.post(f"/{path}", {"transcript": "done"}, format="json")
    assert response.status_code == 200, response.json()
    entry = api.get(f"/api/v1/media/{media.id}").json()["plugins"]["http"]
    assert entry["status"] == "completed" and entry["result"] == {"reply": {"transcript": "done"}}
    assert Event.objects.get(type="plugin.completed").data["result"] == {"reply": {"transcript": "done"}}
    assert anonymous.post(f"/{path}", {"again": True}, format="json").status_code == 409
