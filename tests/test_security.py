"""Issue 8's smaller holes, each over a real HTTP server: downloads typed by content, opaque tokens,
no server paths in errors, direct-upload URLs that die at completion, quotas, bounded metadata,
secret-free idempotent replays."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

import pytest
import requests
from django.core.management import CommandError, call_command

from mediahub.media import playback
from mediahub.media.models import Media
from tenants.services import issue_api_key

pytestmark = pytest.mark.django_db(transaction=True)

EVIL_HTML = b"<!doctype html><html><body><script>fetch('/api/v1/tenant')</script></body></html>\n"
EVIL_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>\n'


class Api:
    """requests against the live server with one tenant's key."""

    def __init__(self, base: str, key: str):
        self.base, self.headers = base, {"Authorization": f"Bearer {key}"}

    def __call__(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        return requests.request(method, f"{self.base}/api/v1{path}", headers=self.headers, **kwargs)

    def upload(self, name: str, content: bytes, **data) -> requests.Response:
        return self("POST", "/media", files={"file": (name, content)}, data=data)


@pytest.fixture
def http(live_server, tenant) -> Api:
    return Api(live_server.url, issue_api_key(tenant=tenant, name="test", scopes=["admin"]).key)


def decoded(token: str) -> bytes:
    """What a reader of the token sees once base64 is undone (a signed token shows its JSON)."""
    token = unquote(token)
    try:
        return base64.urlsafe_b64decode(token.split(":")[0] + "=" * (-len(token.split(":")[0]) % 4))
    except (binascii.Error, ValueError):
        return b""


# --- item 6: downloads typed by content ---


@pytest.mark.parametrize(("name", "content"), [("page.html", EVIL_HTML), ("icon.svg", EVIL_SVG)])
def test_active_formats_are_plain_text_attachments_on_s3(http, name, content):
    created = http.upload(name, content)
    assert created.status_code == 201, created.text
    assert created.json()["type"] == "document" and created.json()["content_type"] == "text/plain"
    redirect = http("GET", f"/media/{created.json()['id']}/download")
    assert redirect.status_code == 302
    served = requests.get(redirect.headers["Location"], timeout=30)
    assert served.status_code == 200 and served.content == content
    assert served.headers["Content-Type"].startswith("text/plain")
    assert served.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(("name", "content"), [("page.html", EVIL_HTML), ("icon.svg", EVIL_SVG)])
def test_local_files_are_typed_by_content_sandboxed_and_not_sniffed(http, local_storage, name, content):
    created = http.upload(name, content)
    assert created.status_code == 201, created.text
    redirect = http("GET", f"/media/{created.json()['id']}/download")
    location = redirect.headers["Location"]
    assert "/api/v1/files/" in location
    served = requests.get(location, timeout=30)
    assert served.status_code == 200 and served.content == content
    assert served.headers["Content-Type"].startswith("text/plain")
    assert served.headers["Content-Disposition"].startswith("attachment")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == "sandbox"


# --- item 7: opaque tokens, no server paths ---


def test_playback_and_file_tokens_show_no_ids_or_storage_keys(http, tenant, local_storage):
    created = http.upload("page.html", EVIL_HTML).json()
    media = Media.objects.get(id=created["id"])
    file_token = urlsplit(http("GET", f"/media/{media.id}/download").headers["Location"]).path.split("/")[-2]
    playback_token = playback.make_token(media)
    for token in (file_token, playback_token):
        for secret in (str(tenant.id), str(media.id), media.original_key, tenant.id.hex):
            assert secret not in token
            assert secret.encode() not in decoded(token)
    assert playback.read_token(playback_token) == {"m": str(media.id), "t": str(tenant.id)}
    assert playback.read_token(playback_token[:-4] + "AAAA") is None
    # A file token is no playback token, and the other way round.
    assert playback.read_token(file_token) is None
    assert requests.get(f"{http.base}/api/v1/files/{playback_token}/x.html", timeout=30).status_code == 403


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00broken" * 200),
        ("clip.mkv", b"\x1a\x45\xdf\xa3" + b"\x00garbage" * 200),
        ("doc.pdf", b"%PDF-1.7\n" + b"garbage\n" * 200),
    ],
)
def test_upload_errors_show_no_server_paths(http, name, content):
    response = http.upload(name, content)
    assert response.status_code == 415, response.text
    message = response.json()["error"]["message"]
    assert "/tmp" not in message and ".upload" not in message and "file:" not in message, message


# --- item 4: bounded metadata ---


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    "metadata",
    [
        "[" * 200_000 + "]" * 200_000,  # once a RecursionError and a 500
        '{"a":' * 200_000,
        nested(33),
        '{"big": "' + "x" * 70_000 + '"}',
    ],
)
def test_deep_or_large_metadata_is_a_400_naming_the_field(http, metadata):
    upload = http.upload("notes.txt", b"some words\n", metadata=metadata)
    assert upload.status_code == 400, upload.text
    assert upload.json()["error"]["details"]["metadata"]
    created = http.upload("notes.txt", b"some words\n", metadata=nested(32))
    assert created.status_code == 201, created.text

    json_headers = {**http.headers, "Content-Type": "application/json"}
    patch = requests.patch(
        f"{http.base}/api/v1/media/{created.json()['id']}",
        data='{"metadata": ' + metadata + "}",
        headers=json_headers,
        timeout=30,
    )
    assert patch.status_code == 400, patch.text
    task = requests.post(
        f"{http.base}/api/v1/tasks",
        data='{"type": "EmbeddingGeneration", "payload": {}, "metadata": ' + metadata + "}",
        headers=json_headers,
        timeout=30,
    )
    assert task.status_code == 400, task.text


# --- item 3: quotas ---


def test_a_tenant_may_lower_its_limits_but_never_raise_them_above_the_operators_quota(http, tenant):
    def patch_limits(limits):
        return http("PATCH", "/tenant", json={"settings": {"limits": limits}})

    raised = patch_limits({"max_upload_bytes": {"video": 10**30}, "max_image_pixels": 10**12})
    assert raised.status_code == 400, raised.text
    assert set(raised.json()["error"]["details"]["settings"]["limits"]) == {
        "max_upload_bytes.video",
        "max_image_pixels",
    }
    lowered = patch_limits({"max_upload_bytes": {"document": 1000}})
    assert lowered.status_code == 200
    assert lowered.json()["settings"]["limits"]["max_upload_bytes"]["document"] == 1000
    assert lowered.json()["quotas"]["max_upload_bytes"]["document"] == 200 * 1024**2
    assert http.upload("notes.txt", b"x" * 1001).status_code == 413

    # The operator raises the quota; the tenant may then go up to it, not beyond.
    call_command("set_quota", tenant.slug, "max_upload_bytes.document=5000000000", stdout=io.StringIO())
    assert patch_limits({"max_upload_bytes": {"document": 5_000_000_000}}).status_code == 200
    assert patch_limits({"max_upload_bytes": {"document": 5_000_000_001}}).status_code == 400

    # A preference stored above the quota (before quotas existed, or the quota was lowered since)
    # is capped where it is enforced.
    call_command("set_quota", tenant.slug, "max_upload_bytes.document=2000", stdout=io.StringIO())
    tenant.refresh_from_db()
    assert tenant.settings["limits"]["max_upload_bytes"]["document"] == 5_000_000_000
    assert tenant.effective_settings["limits"]["max_upload_bytes"]["document"] == 2000
    assert http.upload("notes.txt", b"y" * 2001).status_code == 413
    assert http.upload("notes.txt", b"y" * 1999).status_code == 201
    with pytest.raises(CommandError):
        call_command("set_quota", tenant.slug, "max_upload_bytes.podcast=1", stdout=io.StringIO())


# --- item 2: direct-upload URLs die at completion ---


def direct_upload(http: Api, data: bytes) -> tuple[dict, requests.Response]:
    ticket = http("POST", "/media/uploads", json={"filename": "direct.png", "size_bytes": len(data)})
    assert ticket.status_code == 201, ticket.text
    ticket = ticket.json()
    put = requests.put(ticket["url"], data=data, timeout=30)
    assert put.status_code == 200, put.text
    done = http("POST", f"/media/uploads/{ticket['upload_id']}/complete", json={})
    assert done.status_code == 201, done.text
    return ticket, done


@pytest.fixture
def png(tmp_path) -> bytes:
    from PIL import Image

    Image.new("RGB", (32, 32), "red").save(tmp_path / "red.png")
    return (tmp_path / "red.png").read_bytes()


def swap_after_completion(http: Api, png: bytes, expect_put) -> None:
    ticket, done = direct_upload(http, png)
    expires = datetime.fromisoformat(ticket["expires_at"].replace("Z", "+00:00"))
    assert expires - datetime.now(UTC) <= timedelta(hours=1, minutes=1)
    script = (b"<script>alert(1)</script>" + b" " * len(png))[: len(png)]  # same size as signed
    second = requests.put(ticket["url"], data=script, timeout=30)
    assert second.status_code in expect_put, second.text
    media = Media.objects.get(id=done.json()["id"])
    served = requests.get(http("GET", f"/media/{media.id}/download").headers["Location"], timeout=30)
    assert served.content == png and media.sha256 == hashlib.sha256(png).hexdigest()
    assert not http("POST", f"/media/uploads/{ticket['upload_id']}/complete", json={}).ok


def test_a_direct_upload_put_url_cannot_replace_the_completed_original_on_s3(http, png):
    # S3 itself cannot revoke a presigned URL: the PUT lands on a staging key nothing refers to.
    swap_after_completion(http, png, expect_put=(200, 403))


def test_a_local_direct_upload_url_is_single_use(http, local_storage, png):
    swap_after_completion(http, png, expect_put=(403,))


def test_an_object_replaced_during_completion_is_refused(http, png, monkeypatch):
    from mediahub.media import storage

    ticket = http("POST", "/media/uploads", json={"filename": "race.png", "size_bytes": len(png)}).json()
    assert requests.put(ticket["url"], data=png, timeout=30).status_code == 200
    real_download = storage.ObjectStore.download_version

    def download_then_swap(store, key, path, version):
        real_download(store, key, path, version)  # the version that is hashed and inspected ...
        swapped = (b"<script>" + b" " * len(png))[: len(png)]
        assert requests.put(ticket["url"], data=swapped, timeout=30).status_code == 200  # ... is replaced

    monkeypatch.setattr(storage.ObjectStore, "download_version", download_then_swap)
    done = http("POST", f"/media/uploads/{ticket['upload_id']}/complete", json={})
    assert done.status_code == 409 and done.json()["error"]["code"] == "upload_changed"
    assert not Media.objects.exists()
