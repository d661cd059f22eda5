"""The embedded default without S3: local files behind signed, expiring mediahub URLs."""

from urllib.parse import urlsplit

import pytest
from PIL import Image

from mediahub.media.models import Media
from tests.test_media_api import upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_download_goes_through_a_signed_local_url(api, client, local_storage, tmp_path):
    Image.new("RGB", (16, 16), "blue").save(tmp_path / "blue.png")
    body = upload(api, tmp_path / "blue.png").json()
    media = Media.objects.get(id=body["id"])
    assert (local_storage / media.original_key).is_file()

    redirect = api.get(f"/api/v1/media/{body['id']}/download")
    assert redirect.status_code == 302 and redirect["Location"].startswith("http://testserver/api/v1/files/")
    response = client.get(path_of(redirect["Location"]))  # no API key needed
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (tmp_path / "blue.png").read_bytes()
    assert 'filename="blue.png"' in response["Content-Disposition"]

    assert path_of(redirect["Location"]).endswith("/blue.png")
    token_path, name = path_of(redirect["Location"]).rsplit("/", 1)
    tampered = client.get(f"{token_path[:-2]}xx/{name}")
    assert tampered.status_code == 403 and tampered.json()["error"]["code"] == "forbidden"


def test_direct_upload_to_the_local_put_endpoint(api, client, tmp_path):
    Image.new("RGB", (16, 16), "green").save(tmp_path / "green.png")
    data = (tmp_path / "green.png").read_bytes()
    ticket = api.post(
        "/api/v1/media/uploads", {"filename": "green.png", "size_bytes": len(data)}, format="json"
    ).json()
    assert "parts" not in ticket
    too_much = client.put(path_of(ticket["url"]), data + b"extra", content_type="application/octet-stream")
    assert too_much.status_code == 413
    put = client.put(path_of(ticket["url"]), data, content_type="application/octet-stream")
    assert put.status_code == 200
    # A PUT link does not read files, and a read link does not write.
    assert client.get(path_of(ticket["url"])).status_code == 403
    done = api.post(f"/api/v1/media/uploads/{ticket['upload_id']}/complete", {}, format="json")
    assert done.status_code == 201, done.json()
    assert done.json()["type"] == "image" and done.json()["size_bytes"] == len(data)


def test_delete_removes_the_local_files(api, local_storage, tmp_path, django_capture_on_commit_callbacks):
    Image.new("RGB", (16, 16), "white").save(tmp_path / "white.png")
    body = upload(api, tmp_path / "white.png").json()
    folder = (
        local_storage / "tenants" / str(Media.objects.get(id=body["id"]).tenant_id) / "media" / body["id"]
    )
    assert folder.is_dir()
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/media/{body['id']}").status_code == 204
    assert not folder.exists()
