"""What a web player on another origin needs: CORS, the right content types and byte ranges, on
local files and on S3 (SeaweedFS), and the JSON API's CORS decision."""

from urllib.parse import urlsplit

import pytest
import requests
from django.core.management import call_command
from django.test import override_settings

from mediahub.media import storage

ORIGIN = "https://player.example"
SEGMENTS = {"seg_00000.ts": "video/mp2t", "seg_00000.m4s": "video/iso.segment", "init.mp4": "video/mp4"}


def write_objects(tmp_path) -> dict[str, str]:
    """Stores one object of each kind the transcoder writes; returns name -> storage key."""
    keys = {}
    for name in [*SEGMENTS, "index.m3u8"]:
        path = tmp_path / name
        path.write_bytes(bytes(range(256)) * 4)
        key = f"tenants/t/media/m/hls/360p/{name}"
        storage.get_store().upload_file(path, key, storage.content_type_for(name))
        keys[name] = key
    return keys


@pytest.mark.usefixtures("local_storage")
class TestLocalFiles:
    def url(self, key: str) -> str:
        full = storage.get_store().url(key, base_url="http://testserver", ttl=60)
        return urlsplit(full).path

    def test_segments_are_typed_and_open_to_other_origins(self, client, tmp_path):
        keys = write_objects(tmp_path)
        for name, content_type in SEGMENTS.items():
            response = client.get(self.url(keys[name]), HTTP_ORIGIN=ORIGIN)
            assert response.status_code == 200
            assert response["Content-Type"] == content_type
            assert response["Access-Control-Allow-Origin"] == "*"
            assert response["Accept-Ranges"] == "bytes"
            assert response["X-Content-Type-Options"] == "nosniff"
        playlist = client.get(self.url(keys["index.m3u8"]))
        assert playlist["Content-Type"] == "application/vnd.apple.mpegurl"

    def test_byte_ranges(self, client, tmp_path):
        url = self.url(write_objects(tmp_path)["seg_00000.ts"])
        whole = bytes(range(256)) * 4
        cases = {"bytes=0-187": (0, 187), "bytes=1000-": (1000, 1023), "bytes=-24": (1000, 1023)}
        for header, (start, end) in cases.items():
            response = client.get(url, HTTP_RANGE=header, HTTP_ORIGIN=ORIGIN)
            assert response.status_code == 206, header
            assert response["Content-Range"] == f"bytes {start}-{end}/1024"
            assert int(response["Content-Length"]) == end - start + 1
            assert b"".join(response.streaming_content) == whole[start : end + 1]
            assert response["Content-Type"] == "video/mp2t"
            assert "Content-Range" in response["Access-Control-Expose-Headers"]
        outside = client.get(url, HTTP_RANGE="bytes=5000-6000")
        assert outside.status_code == 416 and outside["Content-Range"] == "bytes */1024"
        assert outside.json()["error"]["code"] == "range_not_satisfiable"

    def test_preflight_allows_range(self, client, tmp_path):
        url = self.url(write_objects(tmp_path)["init.mp4"])
        response = client.options(
            url,
            HTTP_ORIGIN=ORIGIN,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="range",
        )
        assert response.status_code == 204
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "Range" in response["Access-Control-Allow-Headers"]

    @override_settings(PLAYBACK_CORS_ORIGINS=["https://only.example"])
    def test_origins_can_be_restricted(self, client, tmp_path):
        url = self.url(write_objects(tmp_path)["seg_00000.ts"])
        allowed = client.get(url, HTTP_ORIGIN="https://only.example")
        assert (
            allowed["Access-Control-Allow-Origin"] == "https://only.example" and allowed["Vary"] == "Origin"
        )
        assert "Access-Control-Allow-Origin" not in client.get(url, HTTP_ORIGIN=ORIGIN)


def test_s3_bucket_cors_ranges_and_types(tmp_path):
    call_command("configure_storage")
    store = storage.get_store()
    assert store.configure_cors(["*"]) is False  # already in place: nothing rewritten
    keys = write_objects(tmp_path)
    for name, content_type in SEGMENTS.items():
        url = store.url(keys[name], base_url="http://unused", ttl=60)
        response = requests.get(url, headers={"Origin": ORIGIN, "Range": "bytes=0-187"}, timeout=10)
        assert response.status_code == 206
        assert response.headers["Content-Range"] == "bytes 0-187/1024"
        assert response.headers["Content-Type"] == content_type
        assert response.headers["Access-Control-Allow-Origin"] in ("*", ORIGIN)
        assert "Content-Range" in response.headers["Access-Control-Expose-Headers"]


@pytest.mark.django_db
@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example"])
def test_json_api_preflight_is_answered_for_allowed_origins_only(client):
    preflight = {
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization, idempotency-key, content-type",
    }
    allowed = client.options("/api/v1/media", HTTP_ORIGIN="https://app.example", **preflight)
    assert allowed.status_code == 200  # never 401: a preflight carries no key
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example"
    assert "idempotency-key" in allowed["Access-Control-Allow-Headers"]
    other = client.options("/api/v1/media", HTTP_ORIGIN=ORIGIN, **preflight)
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other
