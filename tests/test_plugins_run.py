"""PluginExecution on a real worker with real ffmpeg and S3: the built-ins' outputs, the media's
``plugins`` entry, events, failures."""

import json
import subprocess

import m3u8
import pytest
import webvtt
from django.conf import settings
from PIL import Image

from mediahub.media import storage
from mediahub.media.models import Media
from mediahub.plugins.base import plugin_prefix
from mediahub.webhooks.models import Event
from tasks.models import Task
from tests.media_files import make_clip
from tests.task_helpers import queue_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def upload(api):
    def upload_file(path, **fields):
        with open(path, "rb") as fh:
            response = api.post(
                "/api/v1/media", {"file": fh, "auto_transcode": "false", **fields}, format="multipart"
            )
        assert response.status_code == 201, response.json()
        return Media.objects.get(pk=response.json()["id"])

    return upload_file


@pytest.fixture
def execute(api):
    def run(name: str, media: Media, timeout: float = 120, **config) -> Task:
        body = {"media_id": str(media.id), **({"config": config} if config else {})}
        response = api.post(f"/api/v1/plugins/{name}/execute", body, format="json")
        assert response.status_code == 201, response.json()
        return settled(response.json()["id"], timeout)

    return run


def settled(task_id, timeout: float = 120) -> Task:
    return wait_for(
        lambda: (t := Task.objects.get(pk=task_id)).status in ("completed", "failed") and t, timeout=timeout
    )


def stored(media: Media, plugin: str, name: str, tmp_path):
    path = tmp_path / f"{plugin}-{name}"
    storage.get_store().download_file(plugin_prefix(media.tenant_id, media.id, plugin) + name, path)
    return path


def ffmpeg(*args: str) -> None:
    subprocess.run([settings.FFMPEG_BINARY, "-v", "error", "-y", *args], check=True)


def test_entry_point_plugin_runs_and_its_result_reaches_task_media_and_events(
    api, tenant, plugins_worker, upload, execute, tmp_path
):
    media = upload(make_clip(tmp_path / "a.mp4"), title="a talk about plugins", description="on workers")
    body = {"enabled": False, "config": {"minimum_length": 3, "token": "a-long-token"}}
    assert api.put("/api/v1/plugins/word_count/config", body, format="json").status_code == 200

    task = execute("word_count", media)
    assert task.status == "completed", task.error
    assert task.result == {"words": 4, "has_token": True, "files": ["words.json"]}
    assert json.loads(stored(media, "word_count", "words.json", tmp_path).read_text())[0] == "talk"

    entry = api.get(f"/api/v1/media/{media.id}").json()["plugins"]["word_count"]
    assert entry["status"] == "completed" and entry["result"] == task.result and entry["updated_at"]
    event = Event.objects.get(type="plugin.completed")
    assert event.data["plugin"] == "word_count" and event.data["task"] == str(task.id)
    assert event.data["media"]["id"] == str(media.id)


def test_an_enabled_plugin_runs_on_upload(api, plugins_worker, upload, tmp_path):
    assert api.put("/api/v1/plugins/word_count/config", {"enabled": True}, format="json").status_code == 200
    media = upload(make_clip(tmp_path / "a.mp4"), title="started by media.created")
    task = settled(Task.objects.get(type="PluginExecution", media=media).pk)
    assert task.status == "completed" and task.result["words"] == 3


def test_a_plugin_that_raises_fails_its_task_and_the_worker_lives_on(
    api, plugins_worker, upload, execute, tmp_path
):
    media = upload(make_clip(tmp_path / "a.mp4"), title="one two")
    failed = execute("word_count", media, fail=True)
    assert failed.status == "failed" and failed.retry_count == 0
    assert "word_count was told to fail" in failed.error
    assert api.get(f"/api/v1/media/{media.id}").json()["plugins"]["word_count"]["status"] == "failed"
    assert Event.objects.get(type="plugin.failed").data["error"] == failed.error
    assert execute("word_count", media).status == "completed"


def test_loudness_of_a_minus_23_lufs_tone(plugins_worker, upload, execute, tmp_path):
    # A 1 kHz sine of amplitude 0.1 in one channel measures -23.0 LUFS (EBU Tech 3341).
    tone = tmp_path / "tone.wav"
    ffmpeg("-f", "lavfi", "-i", "aevalsrc=0.1*sin(2*PI*1000*t):s=48000:d=8", str(tone))
    task = execute("loudness", upload(tone))
    assert task.status == "completed", task.error
    assert task.result["integrated_lufs"] == pytest.approx(-23.0, abs=1.0)
    assert task.result["true_peak_dbfs"] == pytest.approx(-20.0, abs=1.0)
    assert task.result["loudness_range_lu"] == pytest.approx(0.0, abs=1.0)


def test_waveform_length_follows_points_per_second(plugins_worker, upload, execute, tmp_path):
    media = upload(make_clip(tmp_path / "a.mp4", seconds=3))
    task = execute("waveform", media, points_per_second=50)
    assert task.status == "completed", task.error
    peaks = json.loads(stored(media, "waveform", "waveform.json", tmp_path).read_text())
    assert peaks["length"] == task.result["length"]
    assert peaks["length"] == pytest.approx(3 * 50, abs=3)
    assert len(peaks["data"]) == 2 * peaks["length"] and peaks["bits"] == 8
    assert max(peaks["data"]) > 0 > min(peaks["data"])  # the sine's peaks, both ways


def test_storyboard_cues_cover_the_duration_and_the_sprite_has_the_right_size(
    plugins_worker, upload, execute, tmp_path
):
    media = upload(make_clip(tmp_path / "a.mp4", size="640x360", seconds=11, fps=10))
    task = execute("storyboard", media, interval_seconds=2, columns=4)
    assert task.status == "completed", task.error
    result = task.result
    assert (result["thumbnails"], result["columns"], result["rows"]) == (6, 4, 2)
    with Image.open(stored(media, "storyboard", "sprite.jpg", tmp_path)) as sprite:
        assert sprite.size == (4 * 160, 2 * 90) == (result["sprite_width"], result["sprite_height"])
    cues = webvtt.read(stored(media, "storyboard", "storyboard.vtt", tmp_path))
    assert len(cues) == 6
    assert cues[0].start_in_seconds == 0
    assert cues[-1].end_in_seconds == pytest.approx(media.duration_seconds, abs=0.01)
    assert all(a.end_in_seconds == b.start_in_seconds for a, b in zip(cues, cues[1:], strict=False))
    assert cues[5].text == "sprite.jpg#xywh=160,90,160,90"


def test_scenes_found_at_the_hard_cuts(plugins_worker, upload, execute, tmp_path):
    clip = tmp_path / "cuts.mp4"
    graph = (
        "testsrc2=s=320x180:r=10:d=2[a];mandelbrot=s=320x180:r=10,trim=duration=2[b];"
        "smptebars=s=320x180:r=10:d=2[c];[a][b][c]concat=n=3[v]"
    )
    ffmpeg(
        "-filter_complex",
        graph,
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(clip),
    )
    media = upload(clip)
    task = execute("scenes", media)
    assert task.status == "completed", task.error
    starts = [scene["start"] for scene in task.result["scenes"]]
    assert starts == pytest.approx([0, 2, 4], abs=0.15)
    chapters = webvtt.read(stored(media, "scenes", "chapters.vtt", tmp_path))
    assert [c.text for c in chapters] == ["Scene 1", "Scene 2", "Scene 3"]
    with Image.open(stored(media, "scenes", task.result["scenes"][1]["thumbnail"], tmp_path)) as thumb:
        assert thumb.width == 320


def test_media_whose_audio_was_unknown_gets_a_no_audio_result(plugins_worker, upload, execute, tmp_path):
    media = upload(make_clip(tmp_path / "silent.mp4", audio=False))
    Media.objects.filter(pk=media.pk).update(probe={})  # as if the upload had not been probed
    for plugin in ("waveform", "loudness"):
        task = execute(plugin, media)
        assert task.status == "completed", task.error
        assert task.result["audio"] is False and task.retry_count == 0


SENTENCE = "The quick brown fox jumps over the lazy dog. Plugins transcribe speech on the worker."


def speak(path, text: str = SENTENCE):
    subprocess.run(["espeak-ng", "-s", "140", "-w", str(path), text], check=True)
    return path


def test_transcription_of_spoken_words(api, plugins_worker, upload, execute, tmp_path):
    media = upload(speak(tmp_path / "speech.wav"))
    task = execute("transcription", media, timeout=300)
    assert task.status == "completed", task.error
    text = task.result["text"].lower()
    assert {"quick", "fox", "lazy", "dog"} <= set(text.replace(",", " ").replace(".", " ").split()), text
    assert task.result["segments"] and task.result["segments"][0]["start"] < 1
    captions = webvtt.read(stored(media, "transcription", "captions.vtt", tmp_path))
    assert "lazy dog" in " ".join(c.text for c in captions).lower()
    assert all(c.end_in_seconds <= media.duration_seconds + 0.5 for c in captions)
    transcript = json.loads(stored(media, "transcription", "transcript.json", tmp_path).read_text())
    assert transcript["segments"] == task.result["segments"]


def test_silent_audio_gives_an_empty_transcript(plugins_worker, upload, execute, tmp_path):
    silence = tmp_path / "silence.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "4", str(silence))
    task = execute("transcription", upload(silence), timeout=300)
    assert task.status == "completed", task.error
    assert task.result["text"] == "" and task.result["segments"] == []


@pytest.mark.slow
def test_captions_join_the_hls_master_and_the_transcript_feeds_search(api, tenant, tmp_path):
    clip = tmp_path / "talk.mp4"
    speech = speak(tmp_path / "speech.wav")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:r=10", "-i", str(speech), "-shortest", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip))  # fmt: skip
    with queue_worker({"plugins", "video_transcoding", "embeddings"}, threads=2):
        with open(clip, "rb") as fh:
            created = api.post("/api/v1/media", {"file": fh}, format="multipart").json()
        media = wait_for(
            lambda: (m := Media.objects.get(pk=created["id"])).status == "ready" and m, timeout=180
        )
        response = api.post(
            "/api/v1/plugins/transcription/execute", {"media_id": str(media.id)}, format="json"
        )
        task = settled(response.json()["id"], timeout=300)
        assert task.status == "completed", task.error
        # The transcript joins the media's search text: it is embedded again and found by its words.
        wait_for(
            lambda: (
                api.get(f"/api/v1/media/{media.id}").json()["embedding"]["status"] == "current"
                and not Task.objects.filter(type="EmbeddingGeneration", status__in=Task.OPEN).exists()
            ),
            timeout=180,
        )
    found = api.get("/api/v1/search", {"q": "lazy dog"}).json()["results"]
    assert found and found[0]["media"]["id"] == str(media.id)

    master_url = api.get(f"/api/v1/media/{media.id}").json()["hls"]["master_url"]
    master = m3u8.loads(api.get(master_url).content.decode())
    (subtitles,) = [m for m in master.media if m.type == "SUBTITLES"]
    assert subtitles.language == "en" and subtitles.group_id == "subs" and subtitles.name == "English"
    assert all(p.stream_info.subtitles == "subs" for p in master.playlists)
    playlist = m3u8.loads(api.__class__().get(subtitles.uri).content.decode())
    assert playlist.is_endlist and len(playlist.segments) == 1
    anonymous = api.__class__()  # the playback token in the URLs is all a player needs
    response = anonymous.get(playlist.segments[0].uri)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/vtt")
    vtt_text = response.content.decode()
    assert "X-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000" in vtt_text  # MPEG-TS segments
    captions = webvtt.from_string(vtt_text)
    assert "dog" in " ".join(c.text for c in captions).lower()
