import pytest

from mediahub.media.models import Media
from mediahub.plugins.models import PluginConfig, PluginResult
from mediahub.plugins.services import configure

pytestmark = pytest.mark.django_db


def test_media_page_shows_transcript_storyboard_and_loudness(admin_client, tenant):
    media = Media.objects.create(tenant=tenant, type="video", status="ready", filename="talk.mp4")
    results = {
        "transcription": {"audio": True, "text": "The quick brown fox.", "segments": []},
        "storyboard": {"thumbnails": 6, "interval_seconds": 2.0, "files": ["sprite.jpg"]},
        "loudness": {
            "audio": True,
            "integrated_lufs": -23.1,
            "loudness_range_lu": 0.4,
            "true_peak_dbfs": None,
        },
    }
    for plugin, result in results.items():
        PluginResult.objects.create(
            tenant=tenant, media=media, plugin=plugin, status="completed", result=result
        )

    html = admin_client.get(f"/admin/media/media/{media.id}/change/").content.decode()
    assert "The quick brown fox." in html
    assert "sprite.jpg" in html and "6 thumbnails, one every 2.0 s" in html
    assert "-23.1 LUFS" in html and "0.4 LU" in html


def test_plugin_configs_are_listed_with_secrets_masked(admin_client, tenant):
    configure(tenant=tenant, name="word_count", enabled=True, config={"token": "hidden-token-value"})
    listing = admin_client.get("/admin/plugins/pluginconfig/")
    assert listing.status_code == 200 and b"word_count" in listing.content
    detail = admin_client.get(f"/admin/plugins/pluginconfig/{PluginConfig.objects.get().pk}/change/")
    assert detail.status_code == 200
    assert b"hidden-token-value" not in detail.content and b"********" in detail.content
