"""Issue 8's smaller holes, each over a real HTTP server: downloads typed by content, opaque tokens,
no server paths in errors, direct-upload URLs that die at completion, quotas, bounded metadata,
secret-free idempotent replays."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote, urlsplit

import pytest
import requests
from django.test import override_settings

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


@pytest.fixture
def local_storage(tmp_path):
    storages = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "storage"), "allow_overwrite": True},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        yield tmp_path / "storage"


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
