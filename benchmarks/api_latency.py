"""GET /api/v1/tenant under 20 concurrent clients for 30 s, against mediahub as ``make run`` starts it.

The server is ``manage.py up`` in a fresh temporary MEDIAHUB_DATA (embedded PostgreSQL and Redis,
gunicorn with several workers, DEBUG off, access log off), on a free loopback port. The load comes
from ``wrk`` when installed (``apt-get install wrk``), else from a bounded Python load generator
(threads with keep-alive connections). Prints p50/p95/p99 latency and requests per second.

    .venv/bin/python benchmarks/api_latency.py [--clients 20] [--seconds 30] [--workers 4]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH = "/api/v1/tenant"
# Prints the percentiles wrk's own summary lacks (p95) in a line this script parses.
WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.6f %.6f %.6f %d\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, latency:percentile(50) / 1e6, latency:percentile(95) / 1e6,
    latency:percentile(99) / 1e6, summary.duration))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, port: int, workers: int) -> tuple[subprocess.Popen, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "BROKER_URL") and not k.startswith("S3_")
    }
    # The rate limit check runs (one Redis call per request) but never refuses: 429s would be
    # cheaper than real answers.
    env.update(
        MEDIAHUB_DATA=str(data_dir),
        PORT=str(port),
        WEB_CONCURRENCY=str(workers),
        GUNICORN_ACCESS_LOG="false",
        DEBUG="false",
        API_RATE_LIMIT_PER_MINUTE="1000000000",
    )
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = ""
    deadline = time.monotonic() + 300
    for line in server.stdout:
        output += line
        found = re.search(r"API key\s+(mh_live_\S+)", line)
        if found:
            threading.Thread(target=lambda: server.stdout.read(), daemon=True).start()  # keep draining
            return server, found[1]
        if time.monotonic() > deadline:
            break
    stop_server(server)
    raise SystemExit(f"mediahub did not start:\n{output}")


def stop_server(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(90)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def run_wrk(url: str, key: str, clients: int, seconds: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_REPORT)
    threads = min(clients, os.cpu_count() or 1)
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s", "-s", script.name,
         "-H", f"Authorization: Bearer {key}", url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    os.unlink(script.name)
    requests, errors, p50, p95, p99, duration_us = re.search(r"RESULT (.*)", result.stdout)[1].split()
    return {
        "tool": "wrk",
        "requests": int(requests),
        "errors": int(errors),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "rps": int(requests) / (int(duration_us) / 1e6),
    }


def run_python(port: int, key: str, clients: int, seconds: int) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                connection.request("GET", PATH, headers={"Authorization": f"Bearer {key}"})
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                connection.close()
                ok = False
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "tool": "python threads",
        "requests": len(latencies) + errors[0],
        "errors": errors[0],
        "p50": cuts[49],
        "p95": cuts[94],
        "p99": cuts[98],
        "rps": len(latencies) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 1), help="gunicorn workers")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="mh-bench-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}{PATH}"
    server, key = start_server(data_dir, port, args.workers)
    try:
        # Warm-up: every gunicorn worker opens its database connection.
        for _ in range(50):
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
            urllib.request.urlopen(request, timeout=10).read()
        if shutil.which("wrk"):
            result = run_wrk(url, key, args.clients, args.seconds)
        else:
            result = run_python(port, key, args.clients, args.seconds)
    finally:
        stop_server(server)
        shutil.rmtree(data_dir, ignore_errors=True)

    print(
        f"GET {PATH}: {args.clients} clients, {args.seconds} s, {args.workers} gunicorn workers "
        f"(x {os.environ.get('GUNICORN_THREADS', '4')} threads), load from {result['tool']}, "
        f"{os.cpu_count()} cores"
    )
    print(f"  requests {result['requests']}  errors {result['errors']}  throughput {result['rps']:.0f} req/s")
    print(
        f"  latency p50 {result['p50'] * 1000:.1f} ms  p95 {result['p95'] * 1000:.1f} ms  "
        f"p99 {result['p99'] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
