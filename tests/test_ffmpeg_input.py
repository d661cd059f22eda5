"""The ffmpeg input fence (mediahub.media.ffmpeg_input): playlists and other reference formats are
refused at upload, and no ffprobe/ffmpeg run on tenant input can be made to read another file or
open a socket, checked with a canary FIFO and a local listener."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings

from mediahub.media import ffmpeg_input, probe
from mediahub.media.models import Media
from tasks import services as task_services
from tasks.models import Task
from tenants.services import issue_api_key
from tests.media_files import make_clip
from tests.task_helpers import wait_for


class Canary:
    """A FIFO standing in for another tenant's file: records whether anything opened it to read
    (a regular file's atime is not reliable on every mount), then serves ``payload``."""

    def __init__(self, path: Path, payload: bytes):
        self.path, self.payload = path, payload
        self.opened = threading.Event()
        self._closing = False
        os.mkfifo(path)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            fd = os.open(self.path, os.O_WRONLY)  # blocks until a reader opens the FIFO
            if self._closing:
                os.close(fd)
                return
            self.opened.set()
            try:
                os.write(fd, self.payload)
            except BrokenPipeError:
                pass
            finally:
                os.close(fd)

    def close(self) -> None:
        self._closing = True
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # lets the blocked writer see it
        self._thread.join(timeout=5)
        os.close(fd)


class Listener:
    """A TCP listener on loopback that records every connection."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def traps(tmp_path_factory):
    folder = tmp_path_factory.mktemp("victim")
    segment = folder / "segment.ts"
    subprocess.run(
        [settings.FFMPEG_BINARY, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x48:d=1"]
        + ["-c:v", "mpeg2video", str(segment)],
        check=True,
    )
    canary = Canary(folder / "canary.ts", segment.read_bytes())
    listener = Listener()
    yield canary, listener
    canary.close()
    listener.close()


def smuggled_playlists(canary: Canary, listener: Listener) -> dict[str, bytes]:
    """Reference files an attacker names ``x.mp4``: each would make ffmpeg read the canary or call
    the listener."""
    net = f"http://127.0.0.1:{listener.port}"
    hls = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXTINF:1.0,\n{}\n#EXT-X-ENDLIST\n"
    return {
        "hls-file": hls.format(f"file://{canary.path}").encode(),
        "hls-http": hls.format(f"{net}/seg.ts").encode(),
        "hls-bom": b"\xef\xbb\xbf\n" + hls.format(canary.path).encode(),
        "dash": (
            '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
            'mediaPresentationDuration="PT1S" minBufferTime="PT1S">\n<Period><AdaptationSet '
            'mimeType="video/mp2t"><Representation id="1" bandwidth="1000">'
            f"<BaseURL>{net}/seg.ts</BaseURL></Representation></AdaptationSet></Period></MPD>\n"
        ).encode(),
        "ffconcat": f"ffconcat version 1.0\nfile '{canary.path}'\n".encode(),
        "concat": f"file '{canary.path}'\nfile '{net}/seg.ts'\n".encode(),
        "sdp": (
            "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\n"
            f"m=video {listener.port} RTP/AVP 96\na=rtpmap:96 H264/90000\n"
        ).encode(),
        "rtsp": f"rtsp://127.0.0.1:{listener.port}/live\n".encode(),
        "rtp": f"rtp://127.0.0.1:{listener.port}\n".encode(),
        "m3u": f"#EXTM3U\n#EXTINF:1,victim\n{canary.path}\n".encode(),
        "pls": f"[playlist]\nFile1={canary.path}\nNumberOfEntries=1\n".encode(),
    }


REFUSED = [
    "hls-file",
    "hls-http",
    "hls-bom",
    "dash",
    "ffconcat",
    "concat",
    "sdp",
    "rtsp",
    "rtp",
    "m3u",
    "pls",
]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", REFUSED)
def test_reference_formats_are_refused_with_415_whatever_their_name(api, traps, kind):
    canary, listener = traps
    content = smuggled_playlists(canary, listener)[kind]
    for name in ("x.mp4", f"x.{kind.split('-')[0]}"):
        response = api.post("/api/v1/media", {"file": ContentFile(content, name=name)}, format="multipart")
        assert response.status_code == 415, (name, response.json())
        assert response.json()["error"]["code"] == "unsupported_media_type"
    assert not Media.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["list.m3u", "list.m3u8", "radio.pls", "stream.sdp", "show.mpd", "a.ffconcat"]
)
def test_playlist_file_names_are_refused_even_with_plain_text_inside(api, name):
    response = api.post(
        "/api/v1/media", {"file": ContentFile(b"just words\n", name=name)}, format="multipart"
    )
    assert response.status_code == 415


@pytest.mark.parametrize(
    "demuxer", ["hls", "dash", "concat", "sdp", "rtsp", "rtp", "image2", "image2pipe", "tty", "lavfi", ""]
)
def test_the_fence_never_names_a_reference_sequence_or_device_demuxer(demuxer):
    with pytest.raises(ffmpeg_input.RefusedInput):
        ffmpeg_input.input_args("/w/source", demuxer)
    with pytest.raises(ffmpeg_input.RefusedInput):
        ffmpeg_input.media_demuxer({"format": demuxer})


def test_input_arguments_name_the_demuxer_and_limit_protocols(tmp_path):
    args = ffmpeg_input.input_args(tmp_path / "source", "mov")
    assert args == [
        "-f", "mov", "-format_whitelist", "mov", "-protocol_whitelist", "file,pipe",
        "-enable_drefs", "0", "-i", f"file:{tmp_path}/source",
    ]  # fmt: skip
    assert ffmpeg_input.input_args("s", "matroska")[:6] == [
        "-f", "matroska", "-format_whitelist", "matroska", "-protocol_whitelist", "file,pipe",
    ]  # fmt: skip
    # Media inspected before the demuxer was recorded: derived from the probed format.
    assert ffmpeg_input.media_demuxer({"format": "matroska,webm"}) == "matroska"
    assert ffmpeg_input.media_demuxer({"format": "PNG"}) == "png_pipe"


@pytest.mark.parametrize("probe_binary", ["ffprobe", ""])
def test_image_sequence_and_tty_inputs_are_not_probed(tmp_path, probe_binary):
    """Files that only the image2 sequence reader or the tty demuxer would open: plain ffprobe
    reads them (so the check below means something), the fenced probe refuses them."""
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in (1, 2, 3):
        subprocess.run(
            [settings.FFMPEG_BINARY, "-v", "error", "-f", "lavfi", "-i", "color=red:s=16x16:d=0.04"]
            + ["-frames:v", "1", str(frames / f"img{i:03d}.png")],
            check=True,
        )
    sequence = frames / "img%03d.png"
    ansi = tmp_path / "art.ans"
    ansi.write_bytes(b"\x1b[31mhello\x1b[0m\r\n" * 50)
    for path, demuxer in ((sequence, "image2"), (ansi, "tty")):
        plain = subprocess.run(
            [settings.FFPROBE_BINARY, "-v", "error", "-show_entries", "format=format_name", "-of", "csv=p=0"]
            + [str(path)],
            capture_output=True,
            check=True,
        )
        assert plain.stdout.decode().strip() == demuxer
        binary = settings.FFPROBE_BINARY if probe_binary else ""
        with override_settings(FFPROBE_BINARY=binary), pytest.raises(probe.ProbeError):
            probe.probe_file(path)


@pytest.mark.django_db(transaction=True)
def test_a_smuggled_playlist_never_makes_a_worker_read_a_file_or_open_a_socket(
    live_server, tenant, worker, traps, tmp_path
):
    canary, listener = traps
    playlists = smuggled_playlists(canary, listener)

    # The traps work: plain ffprobe, as before this fence, follows the playlist into the canary.
    (tmp_path / "x.mp4").write_bytes(playlists["hls-file"])
    subprocess.run([settings.FFPROBE_BINARY, "-v", "quiet", str(tmp_path / "x.mp4")], timeout=30, check=False)
    assert canary.opened.wait(10)
    canary.opened.clear()

    # 1. Upload over HTTP: refused at inspection, which probes nothing it would follow.
    key = issue_api_key(tenant=tenant, name="attacker", scopes=["admin"]).key
    for kind, content in playlists.items():
        response = requests.post(
            f"{live_server.url}/api/v1/media",
            headers={"Authorization": f"Bearer {key}"},
            files={"file": ("x.mp4", content)},
            timeout=30,
        )
        assert response.status_code == 415, (kind, response.text)

    # 2. A playlist that replaced an inspected original in storage (a media row from before the
    # fence, or a second PUT to a direct-upload URL): the transcoding worker still names the
    # recorded demuxer, so it reads nothing else.
    clip = make_clip(tmp_path / "clip.mp4", size="160x90", seconds=1)
    tasks = []
    for kind in ("hls-file", "hls-http", "dash", "ffconcat"):
        with open(clip, "rb") as fh:
            created = requests.post(
                f"{live_server.url}/api/v1/media",
                headers={"Authorization": f"Bearer {key}"},
                files={"file": (f"{kind}.mp4", fh.read() + kind.encode())},  # distinct sha256
                data={"auto_transcode": "false"},
                timeout=30,
            ).json()
        media = Media.objects.get(id=created["id"])
        assert media.probe["demuxer"] == "mov"
        default_storage.delete(media.original_key)
        default_storage.save(media.original_key, ContentFile(playlists[kind]))
        if kind == "ffconcat":  # a row inspected before the demuxer was recorded
            Media.objects.filter(pk=media.pk).update(
                probe={**media.probe, "demuxer": None, "format": "concat"}
            )
        task = task_services.create_task(
            tenant=tenant, type_name="VideoTranscoding", payload={"media_id": str(media.id)}
        )
        tasks.append((task, media.id))

    for task, media_id in tasks:
        wait_for(lambda t=task: Task.objects.get(pk=t.pk).status in ("completed", "failed"), timeout=120)
        task.refresh_from_db()
        assert task.status == "failed", task.result
        assert Media.objects.get(pk=media_id).status == "failed"
    assert not canary.opened.is_set(), "a worker opened the canary file"
    assert listener.connections == 0, "a worker connected to the listener"
