"""Probing with ffprobe and with the PyAV fallback; display sizes with rotation and anamorphic pixels."""

import subprocess

import pytest
from django.conf import settings
from django.test import override_settings

from mediahub.media import probe
from mediahub.media.inspection import sniff
from mediahub.transcoding.ladder import plan_renditions
from tenants.defaults import DEFAULT_HLS_LADDER
from tests.media_files import make_clip


@pytest.fixture(scope="module")
def rotated_clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("probe")
    clip = make_clip(folder / "clip.mp4", size="320x180", seconds=1)
    rotated = folder / "rotated.mp4"
    subprocess.run(
        [
            settings.FFMPEG_BINARY,
            "-v",
            "error",
            "-i",
            clip,
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
            rotated,
        ],
        check=True,
    )
    return rotated


def test_ffprobe_and_pyav_agree(rotated_clip):
    with_ffprobe = probe.probe_file(rotated_clip)
    with override_settings(FFPROBE_BINARY=""):
        with_pyav = probe.probe_file(rotated_clip)
    for info in (with_ffprobe, with_pyav):
        video = probe.video_stream(info)
        assert (video["codec"], video["width"], video["height"], video["rotation"]) == ("h264", 320, 180, 90)
        assert probe.display_size(video) == (180, 320)
        assert probe.audio_stream(info)["codec"] == "aac"
        assert info["duration"] == pytest.approx(1, abs=0.1)
    assert with_ffprobe["codecs"] == with_pyav["codecs"]


def test_rotated_phone_video_gets_portrait_renditions(rotated_clip):
    video = probe.video_stream(probe.probe_file(rotated_clip))
    planned = plan_renditions(DEFAULT_HLS_LADDER, probe.display_size(video), has_audio=True)
    assert [(r.width, r.height) for r in planned] == [(180, 320)]


def test_anamorphic_pixels_are_shown_wide():
    stream = {"width": 720, "height": 576, "sar": "64:45", "rotation": 0}
    assert probe.display_size(stream) == (1024, 576)
    assert probe.display_size({**stream, "sar": "0:1"}) == (720, 576)


@pytest.mark.parametrize("probe_binary", ["ffprobe", ""])
def test_garbage_is_a_probe_error(tmp_path, probe_binary):
    path = tmp_path / "junk.mkv"
    path.write_bytes(b"\x1a\x45\xdf\xa3" + b"\x00garbage" * 100)
    binary = settings.FFPROBE_BINARY if probe_binary else ""
    with override_settings(FFPROBE_BINARY=binary), pytest.raises(probe.ProbeError):
        probe.probe_file(path)


def test_sniffing_by_magic_bytes():
    assert sniff(b"\x89PNG\r\n\x1a\n....") == "image"
    assert sniff(b"\x00\x00\x00\x20ftypisom") == "av"
    assert sniff(b"\x00\x00\x00\x18ftypheic") == "image"
    assert sniff(b"%PDF-1.7\n") == "document"
    assert sniff("plain text, ünïcode".encode()) == "document"
    assert sniff(bytes(range(256)) * 4) is None
