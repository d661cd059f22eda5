"""Playback as a person gets it: hls.js in headless Chromium, on a page of another origin, for
MPEG-TS and fMP4; and the admin's player with no network."""

import http.server
import threading
from functools import partial
from pathlib import Path

import pytest

from mediahub.media import playback
from tenants.services import issue_api_key
from tests.browser import PLAYED_PAST, block_outside_requests, chromium
from tests.media_files import make_clip
from tests.test_media_transcoding import upload, wait_until_settled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

HLSJS = Path(__file__).resolve().parent.parent / "mediahub/media/static/mediahub/vendor/hls.min.js"
PAGE = """<!doctype html><html><body>
<video muted playsinline width="480"></video>
<script src="/hls.min.js"></script>
<script>
  const video = document.querySelector("video");
  const hls = new Hls();
  hls.on(Hls.Events.MANIFEST_PARSED, (event, data) => { window.levels = data.levels.length; video.play(); });
  hls.on(Hls.Events.ERROR, (event, data) => {
    if (data.fatal) window.fatal = data.type + ": " + data.details;
  });
  hls.loadSource(new URLSearchParams(location.search).get("src"));
  hls.attachMedia(video);
</script></body></html>"""


@pytest.fixture
def other_origin(tmp_path):
    """A page server on 127.0.0.1 (the API runs on localhost: another origin) with hls.js."""
    assert HLSJS.is_file(), "hls.js is fetched by make install (deploy/fetch_assets.sh)"
    (tmp_path / "player.html").write_text(PAGE)
    (tmp_path / "hls.min.js").write_bytes(HLSJS.read_bytes())
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("segment_type", ["mpegts", "fmp4"])
def test_hlsjs_on_another_origin_plays_and_seeks(
    live_server, tenant, worker, other_origin, tmp_path, segment_type
):
    tenant.settings = {**tenant.settings, "hls_segment_type": segment_type}
    tenant.save()
    key = issue_api_key(tenant=tenant, name="browser", scopes=["admin"]).key
    clip = make_clip(tmp_path / "clip.mp4", size="854x480", seconds=8, fps=25, extra=("-g", "50"))
    media = wait_until_settled(upload(live_server.url, key, clip)["id"])
    assert media.status == "ready", media.error
    master = playback.master_url(media, live_server.url)
    assert not master.startswith(other_origin)

    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{other_origin}/player.html?src={master}")
        page.wait_for_function("() => window.fatal || window.levels", timeout=60_000)
        assert page.evaluate("window.fatal") is None
        assert page.evaluate("window.levels") == 2  # 480p and 360p
        page.wait_for_function(PLAYED_PAST, arg=3, timeout=90_000)
        assert page.evaluate("window.fatal") is None
        page.evaluate("document.querySelector('video').currentTime = 1.0")
        page.wait_for_function(
            "() => { const v = document.querySelector('video'); return window.fatal || (!v.seeking && "
            "v.currentTime > 1.2 && v.currentTime < 3); }",
            timeout=60_000,
        )
        assert page.evaluate("window.fatal") is None


def test_admin_player_plays_with_no_network(live_server, tenant, worker, admin_user, tmp_path):
    key = issue_api_key(tenant=tenant, name="admin-player", scopes=["admin"]).key
    clip = make_clip(tmp_path / "clip.mp4", size="640x360", seconds=6, fps=25, extra=("-g", "50"))
    media = wait_until_settled(upload(live_server.url, key, clip)["id"])
    assert media.status == "ready", media.error

    with chromium() as browser:
        page = browser.new_page()
        refused = block_outside_requests(page)
        page.goto(f"{live_server.url}/admin/login/?next=/admin/media/media/{media.id}/change/")
        page.fill("#id_username", admin_user.username)
        page.fill("#id_password", "password")
        page.click("input[type=submit]")
        page.wait_for_selector("#mediahub-player")
        assert page.get_attribute("#mediahub-player", "poster")
        page.evaluate("document.querySelector('#mediahub-player').play()")
        page.wait_for_function(PLAYED_PAST, arg=1.5, timeout=90_000)
        page.screenshot(path=str(tmp_path / "admin-player.png"))
        assert (tmp_path / "admin-player.png").stat().st_size > 10_000
    assert refused == []
