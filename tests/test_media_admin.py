import pytest
from django.utils.html import escapejs

from mediahub.media.models import Media

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_media(tenant):
    return Media.objects.create(
        tenant=tenant,
        type="video",
        status="ready",
        filename="talk.mp4",
        size_bytes=2048,
        width=640,
        height=360,
        duration_seconds=4.0,
        probe={"format": "mov,mp4", "bit_rate": 500_000, "streams": [
            {"index": 0, "type": "video", "codec": "h264", "width": 640, "height": 360},
            {"index": 1, "type": "audio", "codec": "aac", "channels": 2},
        ]},
        hls={"master_key": "k", "renditions": [
            {"name": "360p", "width": 640, "height": 360, "bandwidth": 1020800,
             "codecs": "avc1.64001e,mp4a.40.2", "playlist_key": "k/360p/index.m3u8"},
        ]},
    )  # fmt: skip


def test_media_list_and_detail_with_player(admin_client, ready_media):
    listing = admin_client.get("/admin/media/media/")
    assert listing.status_code == 200 and b"talk.mp4" in listing.content
    detail = admin_client.get(f"/admin/media/media/{ready_media.id}/change/")
    html = detail.content.decode()
    assert detail.status_code == 200
    # A pinned copy of hls.js from the admin's own static files, never a CDN.
    assert "/static/mediahub/vendor/hls.min.js" in html and 'id="mediahub-player"' in html
    assert "cdn." not in html
    assert escapejs(f"/api/v1/media/{ready_media.id}/hls/master.m3u8?token=") in html
    assert "avc1.64001e,mp4a.40.2" in html and "h264" in html and "1020 kbit/s" in html


def test_admin_delete_action_removes_media(admin_client, ready_media):
    response = admin_client.post(
        "/admin/media/media/", {"action": "delete_with_storage", "_selected_action": [str(ready_media.id)]}
    )
    assert response.status_code == 302
    assert not Media.objects.exists()
