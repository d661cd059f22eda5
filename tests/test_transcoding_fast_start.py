"""Fast first playback and fMP4 segments, with a real worker, ffmpeg, SeaweedFS S3 and HTTP playback."""

import stat
import subprocess

import m3u8
import pytest
import requests
from django.conf import settings
from django.test import override_settings

from mediahub.webhooks.models import Event
from tasks.models import Task
from tenants.services import issue_api_key
from tests.hls_checks import check_hls, ffprobe_streams
from tests.media_files import make_clip
from tests.task_helpers import wait_for
from tests.test_media_transcoding import upload, wait_until_settled

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ladder_gate(tmp_path):
    """An ffmpeg that holds every ladder encode (the commands with a filter graph) until the test
    opens the gate, so what plays before the ladder is done can be checked without a race. The copy
    of the source runs at once; ffmpeg itself runs unchanged."""
    gate = tmp_path / "gate"
    script = tmp_path / "ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        f'case "$*" in *-filter_complex*) while [ ! -e "{gate}" ]; do sleep 0.05; done;; esac\n'
        f'exec "{settings.FFMPEG_BINARY}" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    with override_settings(FFMPEG_BINARY=str(script)):
        yield gate


def media_body(live_server, key, media_id) -> dict:
    response = requests.get(
        f"{live_server.url}/api/v1/media/{media_id}", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def event_times(media_id) -> dict[str, object]:
    events = Event.objects.filter(type__startswith="media.", data__id=str(media_id)).order_by("created_at")
    return {event.type: event.created_at for event in events}


def test_standard_h264_is_playable_by_copy_before_the_ladder_then_complete(
    live_server, tenant, worker, ladder_gate, tmp_path
):
    key = issue_api_key(tenant=tenant, name="fast", scopes=["admin"]).key
    source = make_clip(tmp_path / "standard.mp4", size="1280x720", seconds=6, fps=25, extra=("-g", "50"))
    created = upload(live_server.url, key, source)

    body = wait_for(lambda: (b := media_body(live_server, key, created["id"]))["hls"] and b, timeout=120)
    task = Task.objects.get(media_id=created["id"], type="VideoTranscoding")
    assert task.status == "processing"  # the ladder is held at the gate
    assert body["status"] == "processing"
    assert body["hls"]["complete"] is False
    [first] = body["hls"]["renditions"]
    assert (first["name"], first["width"], first["height"]) == ("source", 1280, 720)
    # ffmpeg writes no CODECS for a copy: derived from the probed profile and level.
    assert first["codecs"] == "avc1.42e01f,mp4a.40.2"  # Constrained Baseline 3.1 (x264 ultrafast)

    # Master, the first variant and every segment over HTTP with no header; ffprobe decodes it.
    early_master = body["hls"]["master_url"]
    master = m3u8.loads(requests.get(early_master, timeout=10).text)
    [variant] = master.playlists
    early_variant = variant.uri
    check_hls(early_master, segment_type="mpegts", expected_variants=1, duration=6)
    streams = ffprobe_streams(early_master)
    assert sorted((s["codec_type"], s.get("height")) for s in streams) == [("audio", None), ("video", 720)]

    ladder_gate.touch()
    media = wait_until_settled(created["id"])
    assert media.status == "ready", media.error
    body = media_body(live_server, key, created["id"])
    assert body["hls"]["complete"] is True
    assert [r["name"] for r in body["hls"]["renditions"]] == ["720p", "480p", "360p"]
    check_hls(body["hls"]["master_url"], segment_type="mpegts", expected_variants=3, duration=6)

    # A player that loaded the early master keeps playing its variant.
    playlist = m3u8.loads(requests.get(early_variant, timeout=10).text)
    assert playlist.segments and all(requests.get(s.uri, timeout=10).ok for s in playlist.segments)

    result = Task.objects.get(pk=task.pk).result
    assert result["first_playable"]["method"] == "remux"
    assert result["first_playable"]["reason"] is None
    times = event_times(created["id"])
    assert times["media.playable"] < times["media.ready"]
    playable = Event.objects.get(type="media.playable", data__id=created["id"])
    assert playable.data["hls"]["complete"] is False


@pytest.mark.parametrize(
    "name, extra, reason",
    [
        ("hevc.mp4", ("-c:v", "libx265", "-x265-params", "log-level=error"), "not H.264"),
        ("tenbit.mp4", ("-pix_fmt", "yuv420p10le"), "High 10"),
    ],
)
def test_non_standard_input_gets_its_lowest_rung_first(
    live_server, tenant, worker, tmp_path, name, extra, reason
):
    key = issue_api_key(tenant=tenant, name="fast", scopes=["admin"]).key
    source = make_clip(tmp_path / name, size="854x480", seconds=3, fps=10, extra=extra)
    created = upload(live_server.url, key, source)
    media = wait_until_settled(created["id"])
    assert media.status == "ready", media.error

    first = Task.objects.get(media=media, type="VideoTranscoding").result["first_playable"]
    assert first["method"] == "fast_rung" and first["rendition"] == "360p"
    assert reason in first["reason"]
    playable = Event.objects.get(type="media.playable", data__id=str(media.id))
    assert [r["name"] for r in playable.data["hls"]["renditions"]] == ["360p"]
    times = event_times(media.id)
    assert times["media.playable"] < times["media.ready"]
    # The rung made first is part of the ladder, encoded once; the rest share one decode.
    assert [r["name"] for r in media.hls["renditions"]] == ["480p", "360p"]
    assert Task.objects.get(media=media, type="VideoTranscoding").result["encoded"] == ["480p"]


def test_fast_start_off_publishes_only_the_whole_ladder(live_server, tenant, worker, tmp_path):
    tenant.settings = {**tenant.settings, "fast_start": False}
    tenant.save()
    key = issue_api_key(tenant=tenant, name="fast", scopes=["admin"]).key
    created = upload(live_server.url, key, make_clip(tmp_path / "clip.mp4", seconds=2))
    media = wait_until_settled(created["id"])
    assert media.status == "ready", media.error
    assert Task.objects.get(media=media, type="VideoTranscoding").result["first_playable"] is None
    assert not Event.objects.filter(type="media.playable", data__id=str(media.id)).exists()


def test_fmp4_segments_play_and_validate(live_server, tenant, worker, tmp_path):
    tenant.settings = {**tenant.settings, "hls_segment_type": "fmp4"}
    tenant.save()
    key = issue_api_key(tenant=tenant, name="fmp4", scopes=["admin"]).key
    source = make_clip(tmp_path / "clip.mp4", size="854x480", seconds=5, fps=10, extra=("-g", "20"))
    created = upload(live_server.url, key, source)
    media = wait_until_settled(created["id"])
    assert media.status == "ready", media.error
    body = media_body(live_server, key, media.id)
    assert body["hls"]["segment_type"] == "fmp4"
    check_hls(body["hls"]["master_url"], segment_type="fmp4", expected_variants=2, duration=5)
    # The early copy was fMP4 too.
    early = media.hls["early"][0]
    assert early["name"] == "source"
    text = requests.get(body["hls"]["master_url"], timeout=10).text
    assert "#EXT-X-VERSION:7" in text
    completed = subprocess.run(
        [settings.FFPROBE_BINARY, "-v", "error", "-count_packets", "-show_entries", "stream=nb_read_packets",
         "-of", "csv=p=0", body["hls"]["master_url"]],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 0 and all(int(n) > 0 for n in completed.stdout.split())
