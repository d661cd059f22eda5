"""/plugins: the registry (built-ins and an entry-point package), per-tenant config with secrets,
and what PluginExecution accepts at creation."""

import json

import pytest
from django.db import transaction

from mediahub import crypto
from mediahub.events.outbox import emit
from mediahub.media.models import Media
from mediahub.plugins.models import PluginConfig
from tasks.models import Task
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

BUILTINS = {"transcription", "storyboard", "loudness", "scenes", "waveform", "http"}
SECRET = "whsec_" + "A" * 44


def plugins_of(client) -> dict[str, dict]:
    response = client.get("/api/v1/plugins")
    assert response.status_code == 200, response.json()
    return {p["name"]: p for p in response.json()["plugins"]}


def make_media(tenant, type_="video", audio=True, **fields) -> Media:
    streams = [{"index": 0, "type": "video", "codec": "h264", "width": 320, "height": 180}]
    if audio:
        streams.append({"index": 1, "type": "audio", "codec": "aac"})
    return Media.objects.create(
        tenant=tenant,
        type=type_,
        filename=f"f.{type_}",
        probe={"format": "mov,mp4,m4a,3gp,3g2,mj2", "duration": 2.0, "streams": streams},
        **fields,
    )


def test_lists_builtins_and_the_entry_point_plugin(api):
    plugins = plugins_of(api)
    assert BUILTINS | {"word_count"} <= set(plugins)
    word_count = plugins["word_count"]
    assert word_count["description"].startswith("Counts the words")
    assert word_count["media_types"] == ["video", "audio", "image", "document"]
    assert word_count["config_schema"]["properties"]["minimum_length"]["type"] == "integer"
    assert word_count["run_on"] == ["media.created"]
    assert word_count["enabled"] is False and word_count["config"] == {}
    assert plugins["transcription"]["media_types"] == ["audio", "video"]
    assert plugins["http"]["secret_fields"] == ["secret"]


def test_config_is_validated_naming_the_field(api):
    cases = [
        ({"enabled": True, "config": {"minimum_length": "three"}}, "minimum_length"),
        ({"enabled": True, "config": {"minimum_length": 0}}, "minimum_length"),
        ({"enabled": True, "config": {"colour": "red"}}, "non_field_errors"),
    ]
    for body, field in cases:
        response = api.put("/api/v1/plugins/word_count/config", body, format="json")
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert error["code"] == "invalid_input" and field in error["details"]["config"], error
    response = api.put("/api/v1/plugins/word_count/config", {"enabled": "maybe"}, format="json")
    assert response.status_code == 400 and "enabled" in response.json()["error"]["details"]
    response = api.put(
        "/api/v1/plugins/word_count/config", {"enabled": True, "run_on": ["media.exploded"]}, format="json"
    )
    assert response.status_code == 400 and "run_on" in response.json()["error"]["details"]
    assert api.put("/api/v1/plugins/nope/config", {"enabled": True}, format="json").status_code == 404
    assert not PluginConfig.objects.exists()


def test_http_plugin_needs_its_url_and_secret_when_enabled_and_refuses_private_targets(api):
    response = api.put("/api/v1/plugins/http/config", {"enabled": True, "config": {}}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]["config"]) == {"url", "secret"}
    # Disabled, a partial config may be stored.
    assert (
        api.put("/api/v1/plugins/http/config", {"enabled": False, "config": {}}, format="json").status_code
        == 200
    )
    body = {"enabled": True, "config": {"url": "http://169.254.169.254/latest", "secret": SECRET}}
    response = api.put("/api/v1/plugins/http/config", body, format="json")
    assert response.status_code == 400 and "url" in response.json()["error"]["details"]["config"]


def test_secrets_are_masked_encrypted_and_kept_when_sent_back(api, tenant):
    body = {
        "enabled": True,
        "config": {"minimum_length": 3, "token": "s3cret-token"},
        "run_on": ["media.ready"],
    }
    response = api.put("/api/v1/plugins/word_count/config", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["config"] == {"minimum_length": 3, "token": "********"}
    listed = plugins_of(api)["word_count"]
    assert listed["enabled"] is True and listed["run_on"] == ["media.ready"]
    assert listed["config"] == {"minimum_length": 3, "token": "********"}

    row = PluginConfig.objects.get(tenant=tenant, plugin="word_count")
    assert "s3cret" not in json.dumps(row.config) and "s3cret" not in row.secrets
    assert json.loads(crypto.decrypt(row.secrets.encode())) == {"token": "s3cret-token"}

    # Sending back what GET showed keeps the secret; run_on left out goes back to the default.
    response = api.put(
        "/api/v1/plugins/word_count/config", {"enabled": True, "config": listed["config"]}, format="json"
    )
    assert response.status_code == 200 and response.json()["run_on"] == ["media.created"]
    row.refresh_from_db()
    assert json.loads(crypto.decrypt(row.secrets.encode())) == {"token": "s3cret-token"}


def test_config_is_per_tenant(api, other_api):
    body = {"enabled": True, "config": {"minimum_length": 5, "token": "tenant-one-token"}}
    assert api.put("/api/v1/plugins/word_count/config", body, format="json").status_code == 200
    theirs = plugins_of(other_api)["word_count"]
    assert theirs["enabled"] is False and theirs["config"] == {}
    assert plugins_of(api)["word_count"]["enabled"] is True


def test_config_needs_admin_scope(tenant):
    writer = client_for(tenant, ["write"])
    response = writer.put("/api/v1/plugins/word_count/config", {"enabled": True}, format="json")
    assert response.status_code == 403
    assert client_for(tenant, ["read"]).get("/api/v1/plugins").status_code == 200


def test_execute_refuses_what_the_plugin_cannot_take(api, tenant, other_tenant):
    image = make_media(tenant, "image", audio=False)
    silent_video = make_media(tenant, "video", audio=False, sha256="b" * 64)
    theirs = make_media(other_tenant, "video")

    def execute(name, **body):
        return api.post(f"/api/v1/plugins/{name}/execute", body, format="json")

    response = execute("transcription", media_id=str(image.id))
    assert response.status_code == 400
    assert "takes audio or video" in response.json()["error"]["details"]["media_id"][0]
    response = execute("waveform", media_id=str(silent_video.id))
    assert response.status_code == 400 and "no audio" in response.json()["error"]["details"]["media_id"][0]
    assert execute("storyboard", media_id=str(theirs.id)).status_code == 400
    assert execute("nope", media_id=str(image.id)).status_code == 404
    response = execute("storyboard", media_id=str(silent_video.id), config={"width": 5})
    assert response.status_code == 400 and "width" in response.json()["error"]["details"]["config"]
    # The http plugin without a configured URL: the run's config names what is missing.
    response = execute("http", media_id=str(image.id))
    assert response.status_code == 400 and "url" in response.json()["error"]["details"]["config"]

    response = execute("storyboard", media_id=str(silent_video.id), config={"interval_seconds": 1})
    assert response.status_code == 201, response.json()
    task = response.json()
    assert task["type"] == "PluginExecution" and task["media"] == str(silent_video.id)
    assert task["payload"] == {
        "plugin": "storyboard",
        "media_id": str(silent_video.id),
        "config": {"interval_seconds": 1},
    }


def test_post_tasks_validates_plugin_payloads(api, tenant):
    media = make_media(tenant, "image", audio=False)

    def create(payload):
        return api.post("/api/v1/tasks", {"type": "PluginExecution", "payload": payload}, format="json")

    response = create({"plugin": "nope", "media_id": str(media.id)})
    assert response.status_code == 400 and "plugin" in response.json()["error"]["details"]["payload"]
    response = create({"plugin": "loudness", "media_id": str(media.id)})
    assert response.status_code == 400 and "media_id" in response.json()["error"]["details"]["payload"]
    response = create({"plugin": "word_count", "media_id": str(media.id), "config": {"minimum_length": -1}})
    assert response.status_code == 400
    assert "minimum_length" in response.json()["error"]["details"]["payload"]["config"]
    assert create({"plugin": "word_count", "media_id": str(media.id)}).status_code == 201


def test_enabled_plugins_start_on_their_events_for_the_media_types_they_take(api, tenant, other_tenant):
    video = make_media(tenant, "video")
    image = make_media(tenant, "image", audio=False, sha256="c" * 64)
    for name, body in {
        "word_count": {"enabled": True, "run_on": ["media.ready"]},
        "storyboard": {"enabled": True},  # default run_on: media.ready; videos only
        "loudness": {"enabled": False},
    }.items():
        assert api.put(f"/api/v1/plugins/{name}/config", body, format="json").status_code == 200

    with transaction.atomic():
        emit(tenant, "media.created", {"id": str(video.id)})
    assert not Task.objects.filter(type="PluginExecution").exists()
    with transaction.atomic():
        emit(tenant, "media.ready", {"id": str(video.id)})
        emit(tenant, "media.ready", {"id": str(image.id)})
        emit(other_tenant, "media.ready", {"id": str(video.id)})  # not theirs
    started = sorted((t.payload["plugin"], t.media_id) for t in Task.objects.filter(type="PluginExecution"))
    assert started == sorted([("word_count", video.id), ("storyboard", video.id), ("word_count", image.id)])


def test_cancel_and_retry_work_as_for_every_task_and_show_on_the_media(api, tenant):
    media = make_media(tenant, "video")
    task = api.post("/api/v1/plugins/storyboard/execute", {"media_id": str(media.id)}, format="json").json()
    assert api.post(f"/api/v1/tasks/{task['id']}/cancel").json()["status"] == "cancelled"
    assert api.get(f"/api/v1/media/{media.id}").json()["plugins"]["storyboard"]["status"] == "cancelled"
    assert api.post(f"/api/v1/tasks/{task['id']}/retry").json()["status"] == "pending"
