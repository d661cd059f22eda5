"""The ``mediahub`` command-line client, run as a subprocess against the live test server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyte
import pytest
import requests
from django.db import transaction
from standardwebhooks import Webhook

import tests.tasktypes  # noqa: F401 - TestEcho
from mediahub.media import services as media_services
from mediahub.media import storage
from mediahub.media.models import Media
from mediahub.search.models import Embedding
from tasks import services as task_services
from tasks import states as task_states
from tasks.context import TaskContext
from tenants.services import issue_api_key
from tests.media_files import make_clip
from tests.services import free_port
from tests.task_helpers import queue_worker
from tests.waiting import wait_for
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

CLI = [sys.executable, "-m", "mediahub.cli"]


@pytest.fixture
def key(tenant) -> str:
    return issue_api_key(tenant=tenant, name="cli", scopes=["admin"]).key


@pytest.fixture
def cli_env(live_server, key, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAHUB_")}
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        MEDIAHUB_URL=live_server.url,
        MEDIAHUB_API_KEY=key,
        PYTHONUNBUFFERED="1",
    )
    return env


def run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)


def run_json(env: dict[str, str], *args: str) -> dict:
    done = run(env, *args, "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


def clips(folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    # distinct bytes per file (a comment), so the server's dedupe sees different files
    return [
        make_clip(
            folder / f"clip{i:02d}.mp4",
            size="160x90",
            seconds=1,
            audio=False,
            extra=("-metadata", f"comment={i}"),
        )
        for i in range(count)
    ]


PART = 5 * 1024 * 1024  # S3's smallest part


def multipart_above(monkeypatch, threshold: int) -> None:
    """The server hands out multipart uploads above ``threshold`` bytes, in 5 MiB parts."""
    monkeypatch.setattr(storage, "DIRECT_MULTIPART_THRESHOLD", threshold)
    monkeypatch.setattr(storage, "part_size_for", lambda size: PART)


def noise_wav(path: Path) -> Path:
    """About 11 MB of 16-bit stereo noise: three 5 MiB parts, and a real audio file."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(44_100)
        out.writeframes(os.urandom(2 * PART + 1_000_000))
    return path


def test_the_cli_imports_no_django():
    code = (
        "import sys, mediahub.cli.app;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework', 'tasks', 'tenants')"
        " or m in ('mediahub.settings', 'mediahub.media')];"
        "assert not bad, bad"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr + done.stdout


def test_login_saves_a_private_config_that_later_commands_use(cli_env, live_server, key, tmp_path):
    env = {k: v for k, v in cli_env.items() if k not in ("MEDIAHUB_URL", "MEDIAHUB_API_KEY")}
    login = run_json(env, "login", "--url", live_server.url, "--api-key", key)
    saved = Path(login["config"])
    assert saved == tmp_path / "config" / "mediahub" / "config.json"
    assert saved.stat().st_mode & 0o777 == 0o600
    assert login["tenant"]["name"] == "Acme"
    assert run_json(env, "media", "ls") == {"media": [], "total": 0, "limit": 50, "offset": 0}
    # a flag beats the saved key
    refused = run(env, "--api-key", "mh_live_nope", "media", "ls")
    assert refused.returncode == 1 and "unauthenticated" in refused.stderr


def test_upload_killed_halfway_then_rerun_stores_every_file_once(cli_env, tenant, tmp_path, monkeypatch):
    files = clips(tmp_path / "clips", 12)
    ingested, active = [], [0]
    original = media_services.ingest_file

    def slow_ingest(*args, **kwargs):  # a slow server, so the client can be killed halfway
        active[0] += 1
        try:
            time.sleep(0.4)
            result = original(*args, **kwargs)
            ingested.append(result)
            return result
        finally:
            active[0] -= 1

    monkeypatch.setattr(media_services, "ingest_file", slow_ingest)
    journal = tmp_path / "journal.jsonl"
    argv = [
        "upload",
        str(tmp_path / "clips"),
        "--concurrency",
        "3",
        "--no-transcode",
        "--state",
        str(journal),
    ]
    first = subprocess.Popen([*CLI, *argv], env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: journal.exists() and journal.read_text().count('"step":"done"') >= 4, 60)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    # The server finishes what it had received (a body already read reaches ingest a moment later).
    quiet_since = [time.monotonic(), -1]

    def settled() -> bool:
        if active[0] or len(ingested) != quiet_since[1]:
            quiet_since[:] = [time.monotonic(), len(ingested)]
        return time.monotonic() - quiet_since[0] > 1.5

    wait_for(settled, 30, what="the server to finish what was sent")
    done_before = len(ingested)
    assert done_before < len(files)

    report = run_json(cli_env, *argv)
    counts = report["summary"]
    assert counts["failed"] == 0 and counts["uploaded"] + counts["duplicate"] + counts["skipped"] == 12
    assert counts["skipped"] >= 4
    # every file reached the server exactly once, and is one media
    assert len(ingested) == len(files)
    assert Media.objects.filter(tenant=tenant).count() == len(files)
    assert {r["media_id"] for r in report["files"]} == set(
        map(str, Media.objects.filter(tenant=tenant).values_list("id", flat=True))
    )
    # a third run sends nothing
    again = run_json(cli_env, *argv)
    assert again["summary"]["skipped"] == 12 and len(ingested) == len(files)


def test_large_files_go_through_direct_upload_with_parallel_parts(cli_env, tenant, tmp_path, monkeypatch):
    multipart_above(monkeypatch, 1_000_000)
    big = noise_wav(tmp_path / "big.wav")  # three parts
    small = make_clip(tmp_path / "small.mp4", size="160x90", seconds=1, audio=False)  # one PUT
    report = run_json(cli_env, "upload", str(big), str(small), "--direct-threshold", "1KB", "--no-transcode")
    assert [(f["status"], f["direct"]) for f in report["files"]] == [("uploaded", True), ("uploaded", True)]
    stored = Media.objects.get(tenant=tenant, filename="big.wav")
    assert stored.size_bytes == big.stat().st_size and stored.type == "audio"
    assert Media.objects.get(tenant=tenant, filename="small.mp4").type == "video"


def test_json_output_of_every_reading_command_parses(cli_env, tenant, tmp_path):
    clip = make_clip(tmp_path / "one.mp4", size="160x90", seconds=1, audio=False)
    uploaded = run_json(cli_env, "upload", str(clip), "--no-transcode", "--metadata", "k=v", "--title", "One")
    media_id = uploaded["files"][0]["media_id"]
    assert run_json(cli_env, "media", "get", media_id)["title"] == "One"
    assert run_json(cli_env, "media", "ls")["total"] == 1
    task = task_services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 1})
    assert run_json(cli_env, "tasks", "ls")["tasks"][0]["id"] == str(task.id)
    assert run_json(cli_env, "tasks", "get", str(task.id))["status"] == "pending"
    assert run_json(cli_env, "tasks", "cancel", str(task.id))["status"] == "cancelled"
    assert run_json(cli_env, "tasks", "retry", str(task.id))["status"] == "pending"
    assert "by_status" in run_json(cli_env, "tasks", "stats")
    download = run_json(cli_env, "media", "download", media_id, "-o", str(tmp_path / "copy.mp4"))
    assert Path(download["path"]).read_bytes() == clip.read_bytes()
    assert run_json(cli_env, "media", "rm", media_id) == {"deleted": [media_id]}
    # an error under --json is JSON too
    missing = run(cli_env, "media", "get", media_id, "--json")
    assert missing.returncode == 1 and json.loads(missing.stdout)["error"]["code"] == "not_found"


def test_errors_are_one_line_with_their_code_never_a_traceback(cli_env, tenant, tmp_path):
    bad_key = run({**cli_env, "MEDIAHUB_API_KEY": "mh_live_wrong"}, "media", "ls")
    assert bad_key.returncode == 1 and "(unauthenticated)" in bad_key.stderr

    down = f"http://127.0.0.1:{free_port()}"
    unreachable = run({**cli_env, "MEDIAHUB_URL": down}, "tasks", "ls")
    assert unreachable.returncode == 1 and f"Could not reach {down}/api/v1/tasks" in unreachable.stderr

    tenant.settings = {"limits": {"max_upload_bytes": {"video": 10_000}}}
    tenant.save()
    clip = make_clip(tmp_path / "big.mp4", size="320x180", seconds=2)
    too_large = run(cli_env, "upload", str(clip), "--json")
    assert too_large.returncode == 1
    failed = json.loads(too_large.stdout)["files"][0]
    assert (failed["status"], failed["code"]) == ("failed", "file_too_large")
    assert all("Traceback" not in r.stderr for r in (bad_key, unreachable, too_large))


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def test_webhooks_listen_forwards_events_signed_the_standard_webhooks_way(cli_env, tenant, receiver):
    listener = subprocess.Popen(
        [*CLI, "webhooks", "listen", "--forward-to", receiver.url, "--events", "task.created", "--json"],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = json.loads(listener.stdout.readline())["ready"]  # printed once subscribed
        secret = ready["signing_secret"]
        assert secret.startswith("whsec_") and ready["forwarding_to"] == receiver.url
        task = task_services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 5})
        printed = json.loads(listener.stdout.readline())
        assert printed["event"]["type"] == "task.created" and printed["forward"]["status"] == 200
        request = wait_for(lambda: receiver.requests and receiver.requests[0], 30)
        payload = Webhook(secret).verify(request.body, request.headers)
        assert payload["type"] == "task.created" and payload["data"]["id"] == str(task.id)
        assert request.headers["webhook-id"] == printed["event"]["id"]
        with pytest.raises(Exception):  # noqa: B017 - any verification failure
            Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)
    finally:
        listener.send_signal(signal.SIGINT)
        assert listener.wait(20) == 0, listener.stderr.read()


def test_tasks_watch_draws_a_live_table_in_a_terminal(cli_env, tenant, tmp_path):
    screen = pyte.Screen(150, 30)
    feed = pyte.ByteStream(screen)
    primary, secondary = os.openpty()
    watcher = subprocess.Popen(
        [*CLI, "tasks", "watch", "--interval", "0.5"],
        env={**cli_env, "COLUMNS": "150", "LINES": "30", "TERM": "xterm-256color"},
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        close_fds=True,
    )
    os.close(secondary)
    frames: list[str] = []
    lock = threading.Lock()

    def read() -> None:
        while True:
            try:
                data = os.read(primary, 65536)
            except OSError:
                return
            if not data:
                return
            with lock:
                feed.feed(data)
                frames.append("\n".join(screen.display))

    threading.Thread(target=read, daemon=True).start()

    def frame_with(*words: str) -> str | None:
        with lock:
            return next((f for f in reversed(frames) if all(w in f for w in words)), None)

    try:
        wait_for(lambda: frame_with("0 running, 0 queued"), 60, what="the empty table")
        running = task_services.create_task(
            tenant=tenant, type_name="TestEcho", payload={"value": 1, "sleep": 30}
        )
        with transaction.atomic():
            started = task_states.transition(task_states.lock_task(running.id), "processing")
        queued = task_services.create_task(tenant=tenant, type_name="TestEcho", payload={"value": 2})
        frame = wait_for(lambda: frame_with(str(running.id), str(queued.id), "1 running, 1 queued"), 60)
        header = next(line for line in frame.splitlines() if "progress" in line)
        assert all(name in header for name in ("status", "eta", "queue", "media"))
        TaskContext(started, tmp_path).set_progress(40)  # what a worker does: row + live event
        frame = wait_for(lambda: frame_with(str(running.id), "40%"), 30)
        row = next(line for line in frame.splitlines() if str(running.id) in line)
        assert "processing" in row and "█" * 8 in row
        cells = [cell.strip() for cell in header.split("┃")[1:-1]]
        queued_row = next(line for line in frame.splitlines() if str(queued.id) in line)
        queued_cells = dict(zip(cells, (cell.strip() for cell in queued_row.split("│")[1:-1]), strict=True))
        assert (queued_cells["status"], queued_cells["queue"], queued_cells["eta"]) == ("pending", "1", "-")
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(20)
        os.close(primary)
    assert watcher.returncode == 0


def test_a_429_is_retried_after_its_retry_after(cli_env):
    """A loopback server that rate-limits the first request (1 s), then answers."""
    answers = [(429, {"Retry-After": "1"}, {"error": {"code": "rate_limited", "message": "Slow down."}})]
    answers.append((200, {}, {"media": [], "total": 0, "limit": 50, "offset": 0}))
    seen: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            seen.append(time.monotonic())
            status, headers, body = answers.pop(0) if len(answers) > 1 else answers[0]
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {**headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {**cli_env, "MEDIAHUB_URL": f"http://127.0.0.1:{server.server_address[1]}"}
        assert run_json(env, "media", "ls")["total"] == 0
    finally:
        server.shutdown()
    assert len(seen) == 2 and seen[1] - seen[0] >= 0.9


def test_an_unfinished_multipart_upload_resumes_with_its_missing_parts(
    cli_env, tenant, tmp_path, monkeypatch, key
):
    multipart_above(monkeypatch, 1_000_000)
    clip = noise_wav(tmp_path / "big.wav")
    size = clip.stat().st_size
    # What a run killed after its first part left behind: the ticket and part 1 in the journal.
    ticket = requests.post(
        f"{cli_env['MEDIAHUB_URL']}/api/v1/media/uploads",
        json={"filename": "big.wav", "size_bytes": size, "content_type": "audio/x-wav"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    ).json()
    assert len(ticket["parts"]) == 3
    part_size = ticket["part_size"]
    first = requests.put(ticket["parts"][0]["url"], data=clip.read_bytes()[:part_size], timeout=30)
    stat = clip.stat()
    base = {"path": str(clip.resolve()), "size": size, "mtime_ns": stat.st_mtime_ns}
    journal = tmp_path / "journal.jsonl"
    journal.write_text(
        "\n".join(
            json.dumps(line)
            for line in (
                {**base, "step": "started"},
                {**base, "step": "direct", "content_type": "audio/x-wav", "url": None, **ticket},
                {**base, "step": "part", "part_number": 1, "etag": first.headers["ETag"]},
            )
        )
        + "\n"
    )
    report = run_json(cli_env, "upload", str(clip), "--direct-threshold", "1KB", "--state", str(journal))
    assert report["files"][0]["status"] == "uploaded"
    steps = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(step["part_number"] for step in steps if step["step"] == "part") == [1, 2, 3]  # 1 not again
    assert Media.objects.get(tenant=tenant).size_bytes == size


@pytest.mark.slow
def test_upload_wait_follows_the_transcode_to_ready(cli_env, tenant, tmp_path):
    clip = make_clip(tmp_path / "w.mp4", size="160x90", seconds=2)
    with queue_worker({"video_transcoding"}):
        report = run_json(cli_env, "upload", str(clip), "--wait")
    assert report["files"][0]["status"] == "uploaded"
    assert report["files"][0]["media_status"] == "ready"
    assert Media.objects.get(tenant=tenant).status == "ready"


def test_search_finds_an_uploaded_media(cli_env, tenant, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("Figures of the third quarter: revenue, costs and taxes.")
    with queue_worker({"embeddings"}):
        media_id = run_json(cli_env, "upload", str(notes), "--title", "Quarterly tax report")["files"][0][
            "media_id"
        ]
        wait_for(lambda: Embedding.objects.filter(media_id=media_id, status="current").exists(), 120)
    found = run_json(cli_env, "search", "tax report")
    assert found["results"][0]["media"]["id"] == media_id
    table = run(cli_env, "search", "tax report")
    assert (
        table.returncode == 0 and "Quarterly tax report" in table.stdout and "1 of 1 results" in table.stdout
    )
