"""GET /healthz latency while 20 clients trickle their requests a byte every 0.5 s, against gunicorn
with the production config (1 worker x 4 threads), once with the API's worker class
(``mediahub.gunicorn_worker.ApiWorker``) and once with plain ``gthread`` for comparison.

    .venv/bin/python benchmarks/slow_clients.py [--clients 20] [--requests 30]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float) -> float | None:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
    except (urllib.error.URLError, TimeoutError, OSError):
        return None
    return time.monotonic() - started


def trickle(port: int, stop: threading.Event) -> None:
    """Headers one byte every 0.5 s, reconnecting when cut off (as an attacker would)."""
    request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: {'a' * 100}\r\n\r\n".encode()
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                for i in range(len(request)):
                    sock.sendall(request[i : i + 1])
                    if stop.wait(0.5):
                        return
        except OSError:
            stop.wait(0.1)


def measure(worker_class: str, clients: int, requests: int, data_dir: str) -> dict[str, float]:
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "MEDIAHUB_DATA": data_dir,
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
        "GUNICORN_ACCESS_LOG": "false",
    }
    argv = [sys.executable, "-m", "gunicorn", "--config", "python:mediahub.gunicorn_conf"]
    argv += ["--worker-class", worker_class, "mediahub.wsgi"]
    server = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/healthz"
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 120
        while get(url, 5) is None:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.3)
        quiet = [get(url, 30) for _ in range(requests)]
        attackers = [threading.Thread(target=trickle, args=(port, stop), daemon=True) for _ in range(clients)]
        for thread in attackers:
            thread.start()
        time.sleep(2)
        loaded = [get(url, 10) for _ in range(requests)]
    finally:
        stop.set()
        server.terminate()
        server.wait(30)
    answered = [t for t in loaded if t is not None]
    return {
        "quiet_p50_ms": statistics.median([t for t in quiet if t is not None]) * 1000,
        "slow_p50_ms": statistics.median(answered) * 1000 if answered else float("nan"),
        "slow_max_ms": max(answered) * 1000 if answered else float("nan"),
        "failed": len(loaded) - len(answered),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mh-slow-") as data_dir:
        for worker_class in ("mediahub.gunicorn_worker.ApiWorker", "gthread"):
            figures = measure(worker_class, args.clients, args.requests, data_dir)
            print(
                f"{worker_class:40s} quiet p50 {figures['quiet_p50_ms']:.1f} ms | with {args.clients} slow"
                f" clients: p50 {figures['slow_p50_ms']:.1f} ms, max {figures['slow_max_ms']:.1f} ms,"
                f" {figures['failed']}/{args.requests} timed out (10 s)"
            )


if __name__ == "__main__":
    main()
