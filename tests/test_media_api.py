"""Uploads, probing, hostile input, CRUD, download, direct uploads and tenant isolation (no worker)."""

import hashlib
import io
import os
import subprocess

import pytest
import requests
from django.conf import settings
from django.core.files.storage import default_storage
from pypdf import PdfWriter

from mediahub.media import storage
from mediahub.media.inspection import MediaTooLarge
from mediahub.media.models import Media
from mediahub.media.uploads import HashingUploadHandler, safe_filename
from mediahub.webhooks.models import Event
from tasks.models import Task
from tests.media_files import make_clip, make_png_bomb

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4")


def raw_upload(client, filename: str, content: bytes, **fields):
    """A multipart POST built by hand, so the file name reaches the server exactly as given."""
    boundary = "mediahubtestboundary"
    body = io.BytesIO()
    for name, value in fields.items():
        body.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    body.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    body.write(content + f"\r\n--{boundary}--\r\n".encode())
    return client.generic(
        "POST", "/api/v1/media", body.getvalue(), content_type=f"multipart/form-data; boundary={boundary}"
    )


def upload(client, path, **fields):
    return raw_upload(client, os.path.basename(path), path.read_bytes(), **fields)


def test_video_upload_is_probed_stored_and_announced(api, tenant, clip):
    response = upload(api, clip, title="Clip", auto_transcode="false", metadata='{"camera": "a"}')
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["type"] == "video" and body["status"] == "uploaded" and body["duplicate"] is False
    assert (body["width"], body["height"]) == (320, 180)
    assert body["duration_seconds"] == pytest.approx(2, abs=0.2)
    assert body["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert body["size_bytes"] == clip.stat().st_size
    assert body["content_type"] == "video/mp4" and body["metadata"] == {"camera": "a"}
    assert {"h264", "aac"} <= set(body["probe"]["codecs"])
    media = Media.objects.get(id=body["id"])
    assert media.original_key == f"tenants/{tenant.id}/media/{media.id}/original/clip.mp4"
    assert default_storage.size(media.original_key) == clip.stat().st_size
    assert not Task.objects.filter(media=media, type="VideoTranscoding").exists()
    event = Event.objects.get(tenant=tenant, type="media.created")
    assert event.data["id"] == body["id"]


def test_same_file_again_is_a_duplicate(api, clip):
    first = upload(api, clip, auto_transcode="false").json()
    again = upload(api, clip, auto_transcode="false")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"] and again.json()["duplicate"] is True
    assert Media.objects.count() == 1


def test_video_upload_starts_transcoding_in_the_same_transaction(api, clip):
    body = upload(api, clip).json()
    assert body["status"] == "processing"
    task = Task.objects.get(media_id=body["id"], type="VideoTranscoding")
    assert task.payload == {"media_id": body["id"]}


def test_image_and_pdf_are_ready_at_once(api, tmp_path):
    from PIL import Image

    Image.new("RGB", (64, 48), "red").save(tmp_path / "red.png")
    image = upload(api, tmp_path / "red.png").json()
    assert (image["type"], image["status"], image["width"], image["height"]) == ("image", "ready", 64, 48)
    assert image["content_type"] == "image/png"
    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(100, 100)
    pdf = io.BytesIO()
    writer.write(pdf)
    document = raw_upload(api, "report.bin", pdf.getvalue()).json()
    assert (document["type"], document["content_type"]) == ("document", "application/pdf")
    assert document["probe"]["pages"] == 3
    assert not Task.objects.exclude(type="EmbeddingGeneration").exists()


@pytest.mark.parametrize(
    "content",
    [b"", os.urandom(200_000)],
    ids=["zero-bytes", "random-bytes"],
)
def test_undecodable_content_is_415(api, content):
    response = raw_upload(api, "movie.mp4", content)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert not Media.objects.exists()


def test_truncated_mp4_is_415(api, clip):
    data = clip.read_bytes()
    response = raw_upload(api, "cut.mp4", data[: len(data) // 2])
    assert response.status_code == 415
    assert "decoded" in response.json()["error"]["message"]


def test_container_without_audio_or_video_is_415(api, tmp_path):
    (tmp_path / "sub.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    subprocess.run(
        [
            settings.FFMPEG_BINARY,
            "-v",
            "error",
            "-i",
            tmp_path / "sub.srt",
            "-c:s",
            "srt",
            tmp_path / "s.mkv",
        ],
        check=True,
    )
    response = raw_upload(api, "video.mp4", (tmp_path / "s.mkv").read_bytes())
    assert response.status_code == 415
    assert "neither a video nor an audio stream" in response.json()["error"]["message"]


def test_audio_only_mp4_is_audio(api, tmp_path):
    path = make_clip(tmp_path / "voice.mp4", video=False)
    body = upload(api, path, auto_transcode="false").json()
    assert body["type"] == "audio" and body["width"] is None


def test_png_bomb_is_413_without_decoding(api, tmp_path):
    response = upload(api, make_png_bomb(tmp_path / "bomb.png"))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "image_too_large"


def test_video_above_the_tenant_dimension_limit_is_413(api, tmp_path):
    path = make_clip(tmp_path / "8k.mp4", size="7680x4320", seconds=0.1, fps=10, audio=False)
    response = upload(api, path)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "dimensions_too_large"
    assert response.json()["error"]["details"]["max_video_dimension"] == 3840


def test_file_over_the_type_limit_is_413(api, tenant, clip):
    tenant.settings = {"limits": {"max_upload_bytes": {"video": 10_000}}}
    tenant.save()
    response = upload(api, clip)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert not Media.objects.exists()


def test_upload_handler_stops_reading_at_the_limit():
    limits = {"video": 100_000, "audio": 50_000, "image": 10_000, "document": 10_000}
    handler = HashingUploadHandler(lambda: limits)
    handler.new_file("file", "x.mp4", "video/mp4", None)
    chunk = b"\x00\x00\x00\x18ftypisom" + b"\x00" * (64 * 1024 - 12)
    received = 0
    with pytest.raises(MediaTooLarge):
        for _ in range(1000):
            handler.receive_data_chunk(chunk, received)
            received += len(chunk)
    assert received <= 100_000
    # A declared request length above every limit is refused before reading anything.
    with pytest.raises(MediaTooLarge):
        HashingUploadHandler(lambda: limits).handle_raw_input(None, {}, 10**9, b"b")


def test_path_traversal_names_are_sanitised(api, tenant, tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    body = raw_upload(api, "../../etc/passwd", (tmp_path / "x.png").read_bytes()).json()
    assert body["filename"] == "passwd"
    media = Media.objects.get(id=body["id"])
    assert media.original_key == f"tenants/{tenant.id}/media/{media.id}/original/passwd"
    assert safe_filename("..\\..\\boot.ini") == "boot.ini"
    assert safe_filename("a\x00b\x1b[31m.mp4") == "ab_31m.mp4"
    assert safe_filename("...") == "file"
    assert (
        safe_filename("x" * 300 + ".mp4").endswith(".mp4") and len(safe_filename("x" * 300 + ".mp4")) == 200
    )


def test_list_filters_update_and_errors(api, clip, tmp_path):
    from PIL import Image

    video = upload(api, clip, title="Holiday", auto_transcode="false").json()
    Image.new("RGB", (8, 8)).save(tmp_path / "pic.png")
    image = upload(api, tmp_path / "pic.png").json()
    listing = api.get("/api/v1/media").json()
    assert [m["id"] for m in listing["media"]] == [image["id"], video["id"]] and listing["total"] == 2
    assert [m["id"] for m in api.get("/api/v1/media?type=video").json()["media"]] == [video["id"]]
    assert [m["id"] for m in api.get("/api/v1/media?q=holi").json()["media"]] == [video["id"]]
    assert [m["id"] for m in api.get("/api/v1/media?q=pic.png").json()["media"]] == [image["id"]]
    assert api.get("/api/v1/media?created_after=2999-01-01T00:00:00Z").json()["total"] == 0
    assert api.get("/api/v1/media?type=hologram").status_code == 400
    assert api.get("/api/v1/media?created_before=yesterday").status_code == 400

    patched = api.patch(f"/api/v1/media/{video['id']}", {"title": "New", "metadata": {"a": 1}}, format="json")
    assert patched.status_code == 200 and patched.json()["title"] == "New"
    bad = api.patch(f"/api/v1/media/{video['id']}", {"metadata": [1]}, format="json")
    assert bad.status_code == 400 and "metadata" in bad.json()["error"]["details"]
    missing = api.post("/api/v1/media", {"title": "no file"}, format="multipart")
    assert missing.status_code == 400 and "file" in missing.json()["error"]["details"]


def test_download_redirects_to_a_working_presigned_url(api, clip):
    body = upload(api, clip, auto_transcode="false").json()
    response = api.get(f"/api/v1/media/{body['id']}/download")
    assert response.status_code == 302
    fetched = requests.get(response["Location"], timeout=10)
    assert fetched.status_code == 200 and fetched.content == clip.read_bytes()


def test_delete_removes_objects_cancels_tasks_and_announces(
    api, tenant, clip, django_capture_on_commit_callbacks
):
    body = upload(api, clip).json()
    media = Media.objects.get(id=body["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/media/{body['id']}").status_code == 204
    assert not default_storage.exists(media.original_key)
    assert set(Task.objects.filter(payload__media_id=body["id"]).values_list("status", flat=True)) == {
        "cancelled"
    }
    assert Event.objects.filter(tenant=tenant, type="media.deleted", data__id=body["id"]).exists()
    assert api.get(f"/api/v1/media/{body['id']}").status_code == 404


def test_other_tenant_sees_nothing(api, other_api, clip):
    body = upload(api, clip, auto_transcode="false").json()
    for path in ["", "/download", "/hls/master.m3u8", "/hls/360p/index.m3u8"]:
        response = other_api.get(f"/api/v1/media/{body['id']}{path}")
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert other_api.patch(f"/api/v1/media/{body['id']}", {"title": "x"}, format="json").status_code == 404
    assert other_api.delete(f"/api/v1/media/{body['id']}").status_code == 404
    assert other_api.get("/api/v1/media").json()["total"] == 0


def test_read_key_cannot_upload(tenant, clip):
    from tests.conftest import client_for

    response = upload(client_for(tenant, ["read"]), clip)
    assert response.status_code == 403


def test_direct_upload_single_put(api, clip):
    data = clip.read_bytes()
    ticket = api.post(
        "/api/v1/media/uploads",
        {
            "filename": "direct.mp4",
            "size_bytes": len(data),
            "content_type": "video/mp4",
            "auto_transcode": False,
        },
        format="json",
    )
    assert ticket.status_code == 201, ticket.json()
    ticket = ticket.json()
    put = requests.put(ticket["url"], data=data, headers={"Content-Type": "video/mp4"}, timeout=10)
    assert put.status_code == 200, put.text
    done = api.post(f"/api/v1/media/uploads/{ticket['upload_id']}/complete", {}, format="json")
    assert done.status_code == 201, done.json()
    assert done.json()["type"] == "video" and done.json()["filename"] == "direct.mp4"
    assert done.json()["sha256"] == hashlib.sha256(data).hexdigest()
    again = api.post(f"/api/v1/media/uploads/{ticket['upload_id']}/complete", {}, format="json")
    assert again.status_code == 409


def test_direct_upload_multipart_and_size_check(api, other_api, clip, monkeypatch):
    monkeypatch.setattr(storage, "DIRECT_MULTIPART_THRESHOLD", 1000)
    data = clip.read_bytes()
    ticket = api.post(
        "/api/v1/media/uploads", {"filename": "big.mp4", "size_bytes": len(data)}, format="json"
    ).json()
    assert [p["part_number"] for p in ticket["parts"]] == [1]
    put = requests.put(ticket["parts"][0]["url"], data=data, timeout=10)
    assert put.status_code == 200, put.text
    complete_url = f"/api/v1/media/uploads/{ticket['upload_id']}/complete"
    assert other_api.post(complete_url, {}, format="json").status_code == 404
    # Bodies the schema allows that do not fit this upload conflict with it (409), not a 400.
    wrong_etag = {"parts": [{"part_number": 1, "etag": "x"}]}
    for body, code in (({}, "parts_required"), (wrong_etag, "invalid_parts")):
        conflict = api.post(complete_url, body, format="json")
        assert conflict.status_code == 409 and conflict.json()["error"]["code"] == code, conflict.json()
    parts = [{"part_number": 1, "etag": put.headers["ETag"]}]
    done = api.post(complete_url, {"parts": parts}, format="json")
    assert done.status_code == 201, done.json()
    assert done.json()["size_bytes"] == len(data)

    short = api.post(
        "/api/v1/media/uploads", {"filename": "short.mp4", "size_bytes": len(data) + 5}, format="json"
    ).json()
    etag = requests.put(short["parts"][0]["url"], data=data, timeout=10).headers["ETag"]
    mismatch = api.post(
        f"/api/v1/media/uploads/{short['upload_id']}/complete",
        {"parts": [{"part_number": 1, "etag": etag}]},
        format="json",
    )
    assert mismatch.status_code == 409 and mismatch.json()["error"]["code"] == "size_mismatch"


def test_direct_upload_rejects_bad_input(api):
    assert api.post("/api/v1/media/uploads", {"filename": "x"}, format="json").status_code == 400
    huge = api.post("/api/v1/media/uploads", {"filename": "x", "size_bytes": 10**15}, format="json")
    assert huge.status_code == 413
    for content_type in ("video/mp4; codecs=avc1", "video/mp4\n"):  # surrounding whitespace is trimmed
        typed = {"filename": "x.mp4", "size_bytes": 10**8, "content_type": content_type}
        assert api.post("/api/v1/media/uploads", typed, format="json").status_code == 201
    # JSON types as the schema gives them, and no field the schema does not name.
    for body, field in (
        ({"filename": "x", "size_bytes": 1, "auto_transcode": 0}, "auto_transcode"),
        ({"filename": "x", "size_bytes": "1"}, "size_bytes"),
        ({"filename": "x", "size_bytes": 1, "titel": "typo"}, "titel"),
        ({"filename": "a\x00b", "size_bytes": 1}, "filename"),
        ({"filename": "x", "size_bytes": 1, "metadata": {"a\x00": 1}}, "metadata"),  # jsonb refuses NUL
        ({"filename": "x", "size_bytes": 1, "metadata": {"a": ["\x00"]}}, "metadata"),
        ({"filename": "x", "size_bytes": 10**8, "content_type": "\\\x13"}, "content_type"),  # was a 503
        ({"filename": "x", "size_bytes": 1, "content_type": "video/ mp4"}, "content_type"),
    ):
        refused = api.post("/api/v1/media/uploads", body, format="json")
        assert refused.status_code == 400 and field in refused.json()["error"]["details"], body


def test_media_json_bodies_refuse_unknown_fields(api, clip):
    video = upload(api, clip, auto_transcode="false").json()
    patched = api.patch(f"/api/v1/media/{video['id']}", {"titel": "typo"}, format="json")
    assert patched.status_code == 400 and "titel" in patched.json()["error"]["details"]
    ticket = api.post("/api/v1/media/uploads", {"filename": "x.mp4", "size_bytes": 5}, format="json").json()
    complete_url = f"/api/v1/media/uploads/{ticket['upload_id']}/complete"
    extra = {"part_number": 1, "etag": "e", "x": 1}
    for body, field in (({"part": []}, "part"), ({"parts": [extra]}, "parts")):
        refused = api.post(complete_url, body, format="json")
        assert refused.status_code == 400 and field in refused.json()["error"]["details"], body
    form = upload(api, clip, colour="blue")
    assert form.status_code == 400 and "colour" in form.json()["error"]["details"]


def test_idempotent_upload_replays_the_first_response(api, clip):
    boundary = "b"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n\r\n'.encode()
        + clip.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def post():
        return api.generic(
            "POST",
            "/api/v1/media",
            body,
            content_type=f"multipart/form-data; boundary={boundary}",
            HTTP_IDEMPOTENCY_KEY="upload-1",
        )

    first, again = post(), post()
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.json()["duplicate"] is False
    assert again["Idempotent-Replayed"] == "true"
    assert Media.objects.count() == 1


def test_storage_outage_is_503_with_retry_after(api, clip, settings):
    from tests.services import free_port

    storages = {**settings.STORAGES, "default": {**settings.STORAGES["default"]}}
    storages["default"]["OPTIONS"] = {
        **storages["default"]["OPTIONS"],
        "endpoint_url": f"http://127.0.0.1:{free_port()}",  # nothing listens there
    }
    settings.STORAGES = storages
    response = upload(api, clip, auto_transcode="false")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "dependency_unavailable" and response["Retry-After"] == "5"
    assert not Media.objects.exists()


def test_playback_tokens_open_one_media_for_a_limited_time(api, client, tenant, settings):
    from mediahub.media import playback

    def ready_media(name):
        hls = {"master_key": "k", "renditions": [
            {"name": "360p", "width": 640, "height": 360, "bandwidth": 900000, "codecs": "avc1.64001e",
             "playlist_key": "k/360p/index.m3u8"},
        ]}  # fmt: skip
        return Media.objects.create(tenant=tenant, type="video", status="ready", filename=name, hls=hls)

    first, second = ready_media("a.mp4"), ready_media("b.mp4")
    token = playback.make_token(first)
    master = client.get(f"/api/v1/media/{first.id}/hls/master.m3u8", {"token": token})
    assert master.status_code == 200 and master["Content-Type"] == "application/vnd.apple.mpegurl"
    text = master.content.decode()
    assert "RESOLUTION=640x360" in text and 'CODECS="avc1.64001e"' in text
    assert f"http://testserver/api/v1/media/{first.id}/hls/360p/index.m3u8?token=" in text
    # The token opens its own media only, and nothing else of the tenant.
    assert client.get(f"/api/v1/media/{second.id}/hls/master.m3u8", {"token": token}).status_code == 404
    assert client.get(f"/api/v1/media/{first.id}", {"token": token}).status_code == 401
    assert client.get(f"/api/v1/media/{first.id}/hls/master.m3u8").status_code == 401
    settings.PLAYBACK_URL_TTL_SECONDS = -1
    expired = client.get(f"/api/v1/media/{first.id}/hls/master.m3u8", {"token": token})
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "unauthenticated"
