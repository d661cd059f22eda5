"""FFmpegCommand end to end: a real worker, the jailed ffmpeg, SeaweedFS S3 and the media ingest."""

import json
import subprocess

import pytest
from django.conf import settings

from mediahub.media import storage
from mediahub.media.models import Media
from mediahub.webhooks.models import Event
from tasks.models import Task
from tests.media_files import make_clip
from tests.task_helpers import queue_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker():
    with queue_worker({"ffmpeg_commands"}, threads=2) as running:
        yield running


@pytest.fixture
def source(api, tmp_path):
    """A 3 s 640x360 clip with sound, uploaded without transcoding."""
    path = make_clip(tmp_path / "My talk.mp4", size="640x360", seconds=3, fps=10)
    with open(path, "rb") as fh:
        response = api.post("/api/v1/media", {"file": fh, "auto_transcode": "false"}, format="multipart")
    assert response.status_code == 201, response.json()
    return response.json()


def run_command(api, payload: dict, timeout: float = 120) -> Task:
    response = api.post("/api/v1/tasks", {"type": "FFmpegCommand", "payload": payload}, format="json")
    assert response.status_code == 201, response.json()
    task_id = response.json()["id"]
    return wait_for(
        lambda: (t := Task.objects.get(pk=task_id)).status in ("completed", "failed") and t, timeout=timeout
    )


def probe_output(media: Media, tmp_path) -> dict:
    path = tmp_path / f"out-{media.id}"
    storage.get_store().download_file(media.original_key, path)
    completed = subprocess.run(
        [settings.FFPROBE_BINARY, "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        timeout=60,
        check=True,
    )
    return json.loads(completed.stdout)


def streams(info: dict) -> dict[str, dict]:
    return {s["codec_type"]: s for s in info["streams"]}


# preset → (media type, expected codecs by stream type, check of the probe)
PRESETS = {
    "mp4-720p": ("video", {"video": "h264", "audio": "aac"}, "mov,mp4"),
    "webm-720p": ("video", {"video": "vp9", "audio": "opus"}, "matroska,webm"),
    "audio-mp3": ("audio", {"audio": "mp3"}, "mp3"),
    "audio-aac": ("audio", {"audio": "aac"}, "mov,mp4"),
    "gif-preview": ("image", {"video": "gif"}, "gif"),
    "thumbnail-jpg": ("image", {"video": "mjpeg"}, "jpeg_pipe"),
    "clip": ("video", {"video": "h264", "audio": "aac"}, "mov,mp4"),
}


@pytest.mark.slow
def test_every_system_preset_makes_a_probed_derived_media(api, tenant, worker, source, tmp_path):
    for name, (media_type, codecs, format_name) in PRESETS.items():
        payload = {"preset": name, "input_media_id": source["id"]}
        if name == "clip":
            payload["params"] = {"start": 1, "duration": "1.5"}
        task = run_command(api, payload)
        assert task.status == "completed", (name, task.error)
        assert task.progress == 100
        media = Media.objects.get(id=task.result["media_id"])
        assert str(media.derived_from_id) == source["id"]
        assert media.type == media_type, name
        assert media.filename == f"My talk-{name}.{task.result['output_name'].rsplit('.', 1)[1]}"
        info = probe_output(media, tmp_path)
        assert info["format"]["format_name"].startswith(format_name.split(",")[0]), (name, info["format"])
        found = {kind: stream["codec_name"] for kind, stream in streams(info).items()}
        assert found == codecs, (name, found)
        if name in ("mp4-720p", "webm-720p"):
            assert (streams(info)["video"]["width"], streams(info)["video"]["height"]) == (640, 360)
        if name == "clip":
            assert 1.3 <= float(info["format"]["duration"]) <= 1.8
        if name == "gif-preview":
            assert int(streams(info)["video"]["width"]) == 480
    # Each output announced itself; none was sent to transcoding.
    created = Event.objects.filter(tenant=tenant, type="media.created").count()
    assert created == 1 + len(PRESETS)
    assert not Task.objects.filter(type="VideoTranscoding").exists()


def test_two_inputs_overlay_and_wildcards(api, tenant, worker, source, tmp_path):
    logo = make_clip(tmp_path / "logo.mp4", size="64x64", seconds=3, fps=10, audio=False)
    with open(logo, "rb") as fh:
        logo_media = api.post(
            "/api/v1/media", {"file": fh, "auto_transcode": "false"}, format="multipart"
        ).json()
    command = [
        "-i", "${INPUT_FILE_1}", "-i", "${INPUT_FILE_2}",
        "-filter_complex", "[0:v][1:v]overlay=x=main_w-overlay_w-10:y=10[v]",
        "-map", "[v]", "-map", "0:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy",
        "-metadata", "title=${INPUT_FILE_BASE} ${DATE_YEAR}", "-metadata", "comment=${TIMESTAMP_SECONDS}",
        "${OUTPUT_FILE}",
    ]  # fmt: skip
    payload = {
        "command": command,
        "input_media_ids": [source["id"], logo_media["id"]],
        "output_name": "mix.mkv",
    }
    task = run_command(api, payload)
    assert task.status == "completed", task.error
    media = Media.objects.get(id=task.result["media_id"])
    assert (
        media.filename == "mix.mkv" and media.type == "video" and str(media.derived_from_id) == source["id"]
    )
    info = probe_output(media, tmp_path)
    tags = {k.lower(): v for k, v in info["format"]["tags"].items()}
    assert tags["title"].startswith("My_talk 20") and tags["comment"].isdigit()
    assert (streams(info)["video"]["width"], streams(info)["video"]["height"]) == (640, 360)
    assert task.result["sandbox"]["network"] != "" and "ffmpeg" in task.result["seconds"]
    assert api.get(f"/api/v1/media/{media.id}").json()["derived_from"] == source["id"]
    assert api.get(f"/api/v1/media/{media.id}/download").status_code == 302


def test_auto_transcode_when_asked(api, worker, source):
    payload = {
        "command": "-i ${INPUT_FILE} -t 1 -c:v libx264 -preset ultrafast -c:a aac ${OUTPUT_FILE}",
        "input_media_id": source["id"],
        "auto_transcode": True,
    }
    task = run_command(api, payload)
    assert task.status == "completed", task.error
    media = Media.objects.get(id=task.result["media_id"])
    assert Task.objects.filter(type="VideoTranscoding", media=media).exists()


def test_lavfi_only_command_and_a_failing_one(api, worker):
    task = run_command(
        api, {"command": "-f lavfi -i sine=d=1 -c:a libmp3lame ${OUTPUT_FILE}", "output_name": "b.mp3"}
    )
    assert task.status == "completed", task.error
    assert Media.objects.get(id=task.result["media_id"]).derived_from_id is None

    failing = run_command(api, {"command": "-f lavfi -i sine=d=1 -c:a no_such_codec ${OUTPUT_FILE}"})
    assert failing.status == "failed" and "ffmpeg failed" in failing.error
