"""The API's gunicorn worker (mediahub.gunicorn_worker) as a real gunicorn: slow clients do not
starve the API and are answered 408; gunicorn's own errors come back in API.md's JSON shape."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings
from django.db import connection

from tenants.services import issue_api_key
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4  # far fewer threads than slow clients
SLOW_CLIENTS = 20
TIMEOUT = 4.0  # SLOW_REQUEST_TIMEOUT_SECONDS of the server under test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn(django_db_setup):
    """gunicorn with the production config, one worker of THREADS threads, on the test database."""
    port = free_port()
    database = urlsplit(settings.DATABASE_URL)._replace(path="/" + connection.settings_dict["NAME"])
    # Unset, not empty: prometheus_client takes an empty folder name as the current directory.
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {
        "PORT": str(port),
        "DATABASE_URL": database.geturl(),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": str(THREADS),
        "GUNICORN_ACCESS_LOG": "false",
        "SLOW_REQUEST_TIMEOUT_SECONDS": str(TIMEOUT),
        "API_RATE_LIMIT_PER_MINUTE": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "python:mediahub.gunicorn_conf", "mediahub.wsgi"],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            assert process.poll() is None, process.stderr.read()
            return False

    try:
        wait_for(up, timeout=60, interval=0.2, what="gunicorn")
        yield base
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture
def server(gunicorn, tenant) -> tuple[str, str]:
    return gunicorn, issue_api_key(tenant=tenant, name="slow", scopes=["admin"]).key


class SlowClient(threading.Thread):
    """Sends ``prefix`` at once, then the rest of the request one byte every ``interval`` seconds,
    and keeps the answer."""

    def __init__(self, port: int, prefix: bytes, rest: bytes, interval: float):
        super().__init__(daemon=True)
        self.port, self.prefix, self.request, self.interval = port, prefix, rest, interval
        self.answer = b""
        self.stop = threading.Event()
        self.connected = threading.Event()

    def run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            self.connected.set()
            try:
                sock.sendall(self.prefix)
                for i in range(len(self.request)):
                    sock.sendall(self.request[i : i + 1])
                    if self.stop.wait(self.interval):
                        return
                    sock.setblocking(False)
                    try:
                        chunk = sock.recv(65536)
                    except BlockingIOError:
                        chunk = None
                    finally:
                        sock.setblocking(True)
                    if chunk is not None:  # answered (or closed) before the request was complete
                        self.answer = chunk + self._rest(sock)
                        return
            except OSError:
                return

    @staticmethod
    def _rest(sock: socket.socket) -> bytes:
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def slow_requests(port: int) -> list[bytes]:
    body = json.dumps({"settings": {"auto_transcode": False}}).encode()
    slow_body = (
        f"PATCH /api/v1/tenant HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    slow_headers = f"GET /api/v1/tenant HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Filler: {'a' * 200}\r\n\r\n"
    # Half send their headers at once and trickle the body, half trickle the headers themselves.
    return [slow_body + body if i % 2 else slow_headers.encode() for i in range(SLOW_CLIENTS)]


def test_twenty_slow_clients_do_not_starve_the_api_and_are_answered_408(server):
    base, key = server
    port = int(base.rsplit(":", 1)[1])
    clients = []
    for request in slow_requests(port):
        # PATCH senders send their headers in one go and trickle the body; GETs trickle headers.
        split = request.index(b"\r\n\r\n") + 4 if request.startswith(b"PATCH") else 0
        clients.append(SlowClient(port, request[:split], request[split:], interval=0.5))
    for client in clients:
        client.start()
    for client in clients:
        assert client.connected.wait(10)
    time.sleep(1)  # every slow client has sent part of its request

    latencies = []
    headers = {"Authorization": f"Bearer {key}"}
    for _ in range(20):
        started = time.monotonic()
        response = requests.get(f"{base}/api/v1/tenant", headers=headers, timeout=30)
        latencies.append(time.monotonic() - started)
        assert response.status_code == 200
    # With one thread held per slow client, these requests would wait for the slow ones to finish.
    assert statistics.median(latencies) < 0.5 and max(latencies) < TIMEOUT, latencies

    # The slow clients are cut off at the timeout, answered with API.md's error shape.
    wait_for(lambda: all(not c.is_alive() for c in clients), timeout=TIMEOUT * 4, what="slow clients cut off")
    answered = [c.answer for c in clients if c.answer]
    assert len(answered) >= SLOW_CLIENTS // 2, [c.answer for c in clients]
    for answer in answered:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), answer
        assert json.loads(body)["error"]["code"] == "request_timeout"


def raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in fields.items()}, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n", 400),
        (b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ],
)
def test_gunicorns_own_errors_are_json(server, request_bytes, status):
    base, _ = server
    code, headers, body = raw(int(base.rsplit(":", 1)[1]), request_bytes)
    assert code == status
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] and error["message"] and error["details"] == {}
