"""Ladder planning and ffmpeg command building, without running ffmpeg."""

from pathlib import Path

import pytest

from mediahub.media import hls
from mediahub.transcoding import ffmpeg
from mediahub.transcoding.ladder import plan_renditions
from tenants.defaults import DEFAULT_HLS_LADDER


def sizes(renditions):
    return [(r.name, r.width, r.height) for r in renditions]


def test_full_hd_source_gets_the_whole_ladder():
    planned = plan_renditions(DEFAULT_HLS_LADDER, (1920, 1080), has_audio=True)
    assert sizes(planned) == [
        ("1080p", 1920, 1080),
        ("720p", 1280, 720),
        ("480p", 852, 480),
        ("360p", 640, 360),
    ]
    assert [r.video_kbps for r in planned] == [5000, 2800, 1400, 800]
    assert all(r.audio_kbps == 128 for r in planned)


def test_never_upscales_a_small_source():
    planned = plan_renditions(DEFAULT_HLS_LADDER, (640, 360), has_audio=True)
    assert sizes(planned) == [("360p", 640, 360)]


def test_portrait_source_gets_portrait_renditions():
    planned = plan_renditions(DEFAULT_HLS_LADDER, (1080, 1920), has_audio=False)
    assert sizes(planned) == [
        ("1080p", 1080, 1920),
        ("720p", 720, 1280),
        ("480p", 480, 852),
        ("360p", 360, 640),
    ]
    assert all(r.audio_kbps is None for r in planned)


def test_tiny_source_keeps_one_rendition_at_its_own_even_size():
    planned = plan_renditions(DEFAULT_HLS_LADDER, (321, 181), has_audio=True)
    assert sizes(planned) == [("180p", 320, 180)]
    assert 100 <= planned[0].video_kbps < 800


def test_odd_and_anamorphic_sizes_stay_even_and_keep_the_aspect():
    for size in [(1919, 1081), (1440, 1080), (2048, 858), (720, 1280)]:
        for r in plan_renditions(DEFAULT_HLS_LADDER, size, has_audio=True):
            assert r.width % 2 == 0 and r.height % 2 == 0
            assert r.width / r.height == pytest.approx(size[0] / size[1], rel=0.02)
            assert r.width <= size[0] and r.height <= size[1]


def test_audio_only_source_gets_one_audio_rendition():
    planned = plan_renditions(DEFAULT_HLS_LADDER, None, has_audio=True)
    assert sizes(planned) == [("audio", None, None)]
    assert planned[0].audio_kbps == 128


def _job(renditions, has_audio=True, fps=30.0):
    return ffmpeg.HlsJob(
        source=Path("/w/source"),
        demuxer="mov",
        output_dir=Path("/w/hls"),
        renditions=renditions,
        has_audio=has_audio,
        fps=fps,
        preset="veryfast",
        segment_seconds=4,
    )


def _option(argv, name):
    return argv[argv.index(name) + 1]


def test_one_command_decodes_once_and_encodes_every_rung():
    planned = plan_renditions(DEFAULT_HLS_LADDER, (1920, 1080), has_audio=True)
    argv = ffmpeg.build_hls_command("ffmpeg", _job(planned))
    assert argv.count("-i") == 1
    graph = _option(argv, "-filter_complex")
    assert graph.startswith("[0:v:0]split=4")
    assert "scale=1920:1080" in graph and "scale=640:360" in graph
    assert _option(argv, "-var_stream_map") == (
        "v:0,a:0,name:1080p v:1,a:1,name:720p v:2,a:2,name:480p v:3,a:3,name:360p"
    )
    assert _option(argv, "-master_pl_name") == "master.m3u8"
    assert _option(argv, "-preset") == "veryfast"
    assert _option(argv, "-g") == "120" and _option(argv, "-keyint_min") == "120"
    assert _option(argv, "-sc_threshold") == "0"
    assert _option(argv, "-hls_time") == "4" and _option(argv, "-hls_playlist_type") == "vod"
    assert _option(argv, "-maxrate:v:1") == "2800k" and _option(argv, "-b:v:1") == "2800k"
    assert _option(argv, "-progress") == "pipe:1"
    assert argv[-1] == "/w/hls/%v/index.m3u8"


def test_quality_ladder_encodes_capped_crf_per_rung():
    from mediahub.presets.system import SYSTEM_PRESETS

    quality = next(p["ladder"] for p in SYSTEM_PRESETS if p["name"] == "ladder-quality")
    planned = plan_renditions(quality, (1280, 720), has_audio=True)
    assert [(r.name, r.crf) for r in planned] == [("720p", 22), ("480p", 23), ("360p", 24)]
    argv = ffmpeg.build_hls_command("ffmpeg", _job(planned))
    assert _option(argv, "-crf:v:0") == "22" and "-b:v:0" not in argv
    assert _option(argv, "-maxrate:v:0") == "3500k" and _option(argv, "-bufsize:v:0") == "7000k"
    # Markers of rungs without crf keep the shape they had before crf existed.
    assert "crf" not in plan_renditions(DEFAULT_HLS_LADDER, (640, 360), True)[0].as_dict()


def test_command_without_audio_maps_no_audio():
    planned = plan_renditions(DEFAULT_HLS_LADDER, (640, 360), has_audio=False)
    argv = ffmpeg.build_hls_command("ffmpeg", _job(planned, has_audio=False, fps=10))
    assert "0:a:0" not in argv and "-c:a" not in argv
    assert _option(argv, "-var_stream_map") == "v:0,name:360p"
    assert _option(argv, "-g") == "40"


def test_audio_only_command_has_no_video_filters():
    planned = plan_renditions(DEFAULT_HLS_LADDER, None, has_audio=True)
    argv = ffmpeg.build_hls_command("ffmpeg", _job(planned, fps=None))
    assert "-filter_complex" not in argv and "-c:v" not in argv
    assert _option(argv, "-var_stream_map") == "a:0,name:audio"
    assert _option(argv, "-b:a:0") == "128k"


def test_progress_tracker_reports_percentages():
    seen = []
    tracker = ffmpeg.ProgressTracker(20.0, seen.append)
    for line in [
        "frame=10",
        "out_time_us=5000000",
        "out_time_ms=10000000",
        "out_time_us=N/A",
        "progress=end",
    ]:
        tracker(line)
    assert seen == [25.0, 50.0, 100.0]


def test_master_playlist_round_trip():
    text = (
        "#EXTM3U\n#EXT-X-VERSION:3\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=1020800,RESOLUTION=640x360,CODECS="avc1.640016,mp4a.40.2"\n'
        "360p/index.m3u8\n\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=140800,CODECS="mp4a.40.2"\naudio/index.m3u8\n'
    )
    variants = hls.parse_master(text)
    assert variants == [
        {"uri": "360p/index.m3u8", "bandwidth": 1020800, "width": 640, "height": 360,
         "codecs": "avc1.640016,mp4a.40.2"},
        {"uri": "audio/index.m3u8", "bandwidth": 140800, "width": None, "height": None,
         "codecs": "mp4a.40.2"},
    ]  # fmt: skip
    renditions = [{"name": v["uri"].split("/")[0], **v} for v in variants]
    rebuilt = hls.build_master(renditions, lambda name: f"{name}/index.m3u8")
    assert hls.parse_master(rebuilt) == variants
