"""The VideoTranscoding pipeline with a real worker, ffmpeg, SeaweedFS S3 and HTTP playback."""

import m3u8
import psutil
import pytest
import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings

from mediahub.media import storage
from mediahub.media.models import Media
from mediahub.webhooks.models import Event
from tasks import services as task_services
from tasks.models import Task
from tenants.services import issue_api_key
from tests.hls_checks import ffprobe_streams
from tests.media_files import make_clip
from tests.task_helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def upload(base_url: str, key: str, path, **fields) -> dict:
    with open(path, "rb") as fh:
        response = requests.post(
            f"{base_url}/api/v1/media",
            headers={"Authorization": f"Bearer {key}"},
            files={"file": (path.name, fh)},
            data=fields,
            timeout=30,
        )
    assert response.status_code == 201, response.text
    return response.json()


def wait_until_settled(media_id, timeout=120) -> Media:
    return wait_for(
        lambda: (m := Media.objects.get(id=media_id)).status in ("ready", "failed") and m, timeout=timeout
    )


def stored_keys(prefix: str) -> list[str]:
    listing = storage.get_store().client.list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=prefix)
    return [obj["Key"] for obj in listing.get("Contents", [])]


def ffmpeg_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "ffmpeg" in p.name()]


@pytest.mark.slow
def test_upload_to_ready_to_playback_over_http(live_server, tenant, other_tenant, worker, tmp_path):
    key = issue_api_key(tenant=tenant, name="e2e", scopes=["admin"]).key
    source = make_clip(tmp_path / "talk.mp4", size="854x480", seconds=4, fps=10)
    created = upload(live_server.url, key, source)
    assert created["status"] == "processing"

    media = wait_until_settled(created["id"])
    assert media.status == "ready", media.error
    task = Task.objects.get(media=media, type="VideoTranscoding")
    assert task.status == "completed" and task.progress == 100

    body = requests.get(
        f"{live_server.url}/api/v1/media/{media.id}", headers={"Authorization": f"Bearer {key}"}, timeout=10
    ).json()
    renditions = body["hls"]["renditions"]
    # A 480p source never gets 720p or 1080p.
    assert [(r["name"], r["width"], r["height"]) for r in renditions] == [
        ("480p", 854, 480),
        ("360p", 640, 360),
    ]
    assert all("avc1" in r["codecs"] and "mp4a" in r["codecs"] and r["bandwidth"] > 0 for r in renditions)
    assert requests.get(body["thumbnail_url"], timeout=10).content[:3] == b"\xff\xd8\xff"

    # The master works with no header at all; every playlist parses and every segment downloads.
    master_url = body["hls"]["master_url"]
    master = m3u8.loads(requests.get(master_url, timeout=10).text)
    assert [p.stream_info.resolution for p in master.playlists] == [(854, 480), (640, 360)]
    for variant in master.playlists:
        assert variant.uri.startswith(live_server.url)
        playlist = m3u8.loads(requests.get(variant.uri, timeout=10).text)
        assert playlist.is_endlist and playlist.segments
        for segment in playlist.segments:
            response = requests.get(segment.uri, timeout=10)
            assert response.status_code == 200 and response.content[:1] == b"\x47"  # MPEG-TS sync byte

    streams = ffprobe_streams(master_url)
    assert sorted((s["codec_type"], s.get("height")) for s in streams) == [
        ("audio", None),
        ("audio", None),
        ("video", 360),
        ("video", 480),
    ]

    # Another tenant's key gets 404, a tampered token 401.
    other_key = issue_api_key(tenant=other_tenant, name="x", scopes=["admin"]).key
    headers = {"Authorization": f"Bearer {other_key}"}
    for path in ["", "/download", "/hls/master.m3u8"]:
        assert (
            requests.get(f"{live_server.url}/api/v1/media/{media.id}{path}", headers=headers).status_code
            == 404
        )
    assert requests.get(master_url[:-3] + "xyz", timeout=10).status_code == 401
    assert Event.objects.filter(type="media.ready", data__id=str(media.id)).exists()


def test_portrait_source_without_audio(tenant, worker, tmp_path, api_upload):
    media = api_upload(make_clip(tmp_path / "portrait.mp4", size="1080x1920", seconds=2, fps=5, audio=False))
    media = wait_until_settled(media["id"])
    assert media.status == "ready", media.error
    sizes = [(r["name"], r["width"], r["height"]) for r in media.hls["renditions"]]
    assert sizes == [("1080p", 1080, 1920), ("720p", 720, 1280), ("480p", 480, 852), ("360p", 360, 640)]
    assert all("mp4a" not in r["codecs"] for r in media.hls["renditions"])
    assert default_storage.exists(media.poster_key)

    # A rerun makes only what is missing.
    default_storage.delete(f"tenants/{tenant.id}/media/{media.id}/hls/360p/rendition.json")
    rerun = task_services.create_task(
        tenant=tenant, type_name="VideoTranscoding", payload={"media_id": str(media.id)}
    )
    wait_for(lambda: Task.objects.get(pk=rerun.pk).status == "completed", timeout=60)
    rerun.refresh_from_db()
    assert rerun.result["encoded"] == ["360p"]
    media.refresh_from_db()
    assert media.status == "ready" and [r["name"] for r in media.hls["renditions"]] == [s[0] for s in sizes]


def test_audio_only_media_gets_aac_hls(tenant, worker, tmp_path, api_upload):
    media = api_upload(make_clip(tmp_path / "voice.m4a", video=False, seconds=3))
    assert media["type"] == "audio"
    media = wait_until_settled(media["id"])
    assert media.status == "ready", media.error
    assert [(r["name"], r["width"], r["codecs"]) for r in media.hls["renditions"]] == [
        ("audio", None, "mp4a.40.2")
    ]
    assert media.poster_key == ""


def test_undecodable_original_fails_at_once_and_the_worker_keeps_going(tenant, worker, tmp_path, api_upload):
    broken = api_upload(make_clip(tmp_path / "a.mp4"), auto_transcode="false")
    key = Media.objects.get(id=broken["id"]).original_key
    default_storage.delete(key)
    default_storage.save(key, ContentFile(b"not media any more " * 1000))
    task = task_services.create_task(
        tenant=tenant, type_name="VideoTranscoding", payload={"media_id": broken["id"]}
    )
    good = api_upload(make_clip(tmp_path / "b.mp4", size="160x90"))

    failed = wait_until_settled(broken["id"])
    assert failed.status == "failed" and "could not be decoded" in failed.error
    task.refresh_from_db()
    assert task.status == "failed" and task.retry_count == 0
    assert Event.objects.filter(type="media.failed", data__id=broken["id"]).exists()
    assert wait_until_settled(good["id"]).status == "ready"


@override_settings(TRANSCODE_PRESET="veryslow")
def test_cancel_mid_transcode_kills_ffmpeg_and_leaves_nothing_ready(tenant, worker, tmp_path, api_upload):
    media = api_upload(make_clip(tmp_path / "long.mp4", size="640x360", seconds=30, fps=25))
    task = Task.objects.get(media_id=media["id"], type="VideoTranscoding")
    wait_for(lambda: ffmpeg_children() and Task.objects.get(pk=task.pk).phase == "running", timeout=60)
    task_services.cancel_task(task=task, reason="test")
    wait_for(lambda: not ffmpeg_children(), timeout=5)
    wait_for(lambda: Task.objects.get(pk=task.pk).status == "cancelled", timeout=10)
    media = Media.objects.get(id=media["id"])
    assert media.status != "ready" and media.hls is None
    assert not default_storage.exists(f"tenants/{tenant.id}/media/{media.id}/hls/master.m3u8")


@override_settings(TRANSCODE_PRESET="veryslow")
def test_deleting_a_media_mid_transcode_leaves_no_objects(tenant, worker, tmp_path, api_upload, api):
    media = api_upload(make_clip(tmp_path / "long.mp4", size="640x360", seconds=30, fps=25))
    task = Task.objects.get(media_id=media["id"], type="VideoTranscoding")
    prefix = f"tenants/{tenant.id}/media/{media['id']}/"
    # Deleted once segments are being uploaded while ffmpeg runs.
    wait_for(lambda: default_storage.listdir(f"{prefix}hls/360p/")[1], timeout=90)
    assert api.delete(f"/api/v1/media/{media['id']}").status_code == 204
    wait_for(lambda: Task.objects.get(pk=task.pk).status == "cancelled", timeout=10)
    wait_for(lambda: not ffmpeg_children(), timeout=5)
    wait_for(lambda: stored_keys(prefix) == [], timeout=10)


@pytest.fixture
def api_upload(api):
    def upload_file(path, **fields):
        with open(path, "rb") as fh:
            response = api.post("/api/v1/media", {"file": fh, **fields}, format="multipart")
        assert response.status_code == 201, response.json()
        return response.json()

    return upload_file
