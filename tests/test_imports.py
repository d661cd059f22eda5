"""POST /media/import: a real loopback HTTP server, the outbound-address guard, a real worker."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mediahub.events.models import Event
from mediahub.media.models import Media
from tasks.models import Task
from tests.media_files import make_clip
from tests.task_helpers import queue_worker, wait_for
from tests.test_outbound import EMBEDDING_PRIVATE, fake_dns

pytestmark = pytest.mark.django_db(transaction=True)


class FileServer:
    """Serves ``files`` by path, ``redirects`` as 302s, and ``/slow`` a byte at a time."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(self.path)
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.end_headers()
                elif self.path == "/slow":
                    self.send_response(200)
                    self.send_header("Content-Length", "1000000")
                    self.end_headers()
                    for _ in range(1000):
                        self.wfile.write(b"\x00")
                        self.wfile.flush()
                        time.sleep(0.05)
                elif self.path in server.files:
                    body = server.files[self.path]
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_error(404)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def server():
    running = FileServer()
    running.thread.start()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


@pytest.fixture
def worker():
    with queue_worker({"imports"}, threads=2) as running:
        yield running


@pytest.fixture
def private_allowed(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = True  # the server listens on loopback


@pytest.fixture
def clip_bytes(tmp_path):
    return make_clip(tmp_path / "talk.mp4", size="320x180", seconds=2).read_bytes()


def start(api, url: str, **fields) -> dict:
    response = api.post("/api/v1/media/import", {"url": url, **fields}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "importing" and body["task"]
    return body


def settled(body: dict, timeout: float = 60) -> Task:
    return wait_for(
        lambda: (t := Task.objects.get(pk=body["task"])).status in ("completed", "failed") and t,
        timeout=timeout,
    )


def test_import_from_a_loopback_server(api, tenant, worker, server, private_allowed, clip_bytes):
    server.files["/videos/talk.mp4"] = clip_bytes
    server.redirects["/short"] = "/videos/talk.mp4"
    body = start(api, server.url("/short"), title="Talk", metadata={"source": "web"})
    assert body["filename"] == "short" and body["title"] == "Talk"
    assert Task.objects.get(pk=body["task"]).type == "ImportMedia"

    task = settled(body)
    assert task.status == "completed", task.error
    assert task.result == {"media_id": body["id"], "duplicate": False, "size_bytes": len(clip_bytes)}
    media = Media.objects.get(id=body["id"])
    assert (media.type, media.status, media.title, media.metadata) == (
        "video",
        "processing",
        "Talk",
        {"source": "web"},
    )
    assert media.width == 320 and media.duration_seconds == pytest.approx(2, abs=0.2)
    assert server.requests == ["/short", "/videos/talk.mp4"]  # the redirect was followed (and re-checked)
    # Typed and auto-transcoded like an upload, and announced once it is a media.
    assert Task.objects.filter(type="VideoTranscoding", media=media).exists()
    assert Event.objects.filter(tenant=tenant, type="media.created", data__id=body["id"]).count() == 1
    assert api.get(f"/api/v1/media/{media.id}/download").status_code == 302

    # The same file again: the import ends with the existing media, its placeholder removed.
    again = start(api, server.url("/videos/talk.mp4"), auto_transcode=False)
    task = settled(again)
    assert task.status == "completed", task.error
    assert task.result["duplicate"] is True and task.result["media_id"] == body["id"]
    assert not Media.objects.filter(id=again["id"]).exists()


@pytest.mark.parametrize(
    "path, message",
    [("/missing.mp4", "The server answered 404."), ("/notes.txt", "")],
)
def test_a_failing_url_ends_failed_with_a_readable_error(api, worker, server, private_allowed, path, message):
    server.files["/notes.txt"] = b"\x00\x01 not a media file at all" * 10
    body = start(api, server.url(path))
    task = settled(body)
    assert task.status == "failed"
    media = Media.objects.get(id=body["id"])
    assert media.status == "failed" and media.error == task.error
    assert message in media.error and "Traceback" not in media.error
    assert api.get(f"/api/v1/media/{body['id']}").json()["error"] == media.error


def test_size_cap_and_timeout(api, tenant, worker, server, private_allowed, clip_bytes, settings):
    server.files["/big.mp4"] = clip_bytes
    tenant.settings = {"limits": {"max_upload_bytes": {"video": 1000, "audio": 1000}}}
    tenant.save()
    task = settled(start(api, server.url("/big.mp4")))
    assert task.status == "failed" and "limit of 1000 bytes" in task.error

    settings.IMPORT_TIMEOUT_SECONDS = 1.0
    started = time.monotonic()
    task = settled(start(api, server.url("/slow")))
    assert task.status == "failed" and "longer than 1 s" in task.error
    assert time.monotonic() - started < 30


def test_private_targets_are_refused_when_not_allowed(api, worker, server, settings, clip_bytes):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = False
    server.files["/talk.mp4"] = clip_bytes
    for url in (server.url("/talk.mp4"), "https://127.0.0.1/x.mp4", "https://169.254.169.254/latest",
                "https://[::ffff:10.0.0.1]/x", "ftp://example.com/x.mp4", "file:///etc/passwd"):  # fmt: skip
        response = api.post("/api/v1/media/import", {"url": url}, format="json")
        assert response.status_code == 400, url
        assert "url" in response.json()["error"]["details"]
    # A name is checked after resolution, at connect time: the media ends failed, nothing fetched.
    body = start(api, "https://localhost/talk.mp4")
    task = settled(body)
    assert task.status == "failed" and "non-public address" in task.error
    assert Media.objects.get(id=body["id"]).status == "failed"
    assert server.requests == []


def test_bad_import_bodies(api):
    for body in (
        {},
        {"url": ""},
        {"url": "https://example.com/a.mp4", "colour": 1},
        {"url": 5, "metadata": 3},
    ):
        response = api.post("/api/v1/media/import", body, format="json")
        assert response.status_code == 400, body


@pytest.mark.parametrize("address", EMBEDDING_PRIVATE)
def test_ipv6_forms_embedding_a_private_ipv4_are_refused(api, settings, address):
    """Every IPv6 trick of the outbound guard (NAT64, 6to4, IPv4-compatible, Teredo, mapped)."""
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = False
    response = api.post("/api/v1/media/import", {"url": f"https://[{address}]/x.mp4"}, format="json")
    assert response.status_code == 400, address
    assert "url" in response.json()["error"]["details"]


def test_a_name_resolving_to_an_ipv6_trick_fails_at_connect_time(api, worker, settings, monkeypatch):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = False
    fake_dns(monkeypatch, "cdn.example", ["64:ff9b::a9fe:a9fe"])  # the metadata service via NAT64
    body = start(api, "https://cdn.example/talk.mp4")
    task = settled(body)
    assert task.status == "failed" and "non-public address" in task.error
