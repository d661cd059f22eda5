"""Webhook delivery benchmark: 1,000 events to one local receiver.

    .venv/bin/python benchmarks/webhooks.py [--events 1000] [--idle-events 200]

Runs on the same real services as the test suite (a fresh embedded PostgreSQL, a private RabbitMQ
vhost, a Redis key prefix; see ``tests/services.py``) with the default worker setup of the
``webhooks`` queue (``tasks.workers.worker_argv``, sized as ``manage.py up`` sizes it) in a
separate process. The receiver (same process as the producer) verifies every request with the
``standardwebhooks`` package. It reports:

- burst: N events emitted in one transaction (a batch); time from its start until every delivery
  has arrived and verified, and the event→delivery latency percentiles under that load;
- idle: events emitted one at a time, each after the previous one arrived, so workers are idle:
  event→delivery latency p50/p95 (event ``created_at`` to the receiver reading the request).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["OUTBOUND_ALLOW_PRIVATE_TARGETS"] = "true"

import tests.services  # noqa: E402, F401 - starts/points at the real services, like the tests
from tests.waiting import wait_for  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediahub.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--idle-events", type=int, default=200)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from standardwebhooks import Webhook

    from mediahub.webhooks import services
    from tenants.services import create_tenant
    from tests.webhook_receiver import Receiver

    receiver = Receiver().start()
    tenant, _ = create_tenant(name="Benchmark")
    endpoint, secret = services.create_endpoint(tenant=tenant, url=receiver.url, events=["*"])
    verifier = Webhook(secret)

    from django.conf import settings

    from tasks.workers import worker_argv

    argv = worker_argv(["webhooks"], settings.TASK_WORKER_PROCESSES, settings.TASK_WORKER_THREADS)
    worker = subprocess.Popen(
        argv,
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
        start_new_session=True,
    )
    try:
        # Warm-up: the worker is up once a first event arrives.
        emit_many(tenant, 1)
        wait_for(lambda: len(receiver.requests) == 1, timeout=120)
        receiver.requests.clear()

        burst = run_burst(tenant, receiver, verifier, args.events)
        idle = run_idle(tenant, receiver, verifier, args.idle_events)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
        receiver.stop()

    processes, threads = argv[argv.index("--processes") + 1], argv[argv.index("--threads") + 1]
    print(f"burst: {args.events} events, 1 receiver, {processes} worker process(es) x {threads} threads")
    print(f"  all delivered+verified {burst['total_seconds']:.2f} s  ({burst['rate']:.0f} deliveries/s)")
    print(f"  latency p50/p95/max   {fmt(burst['latencies'])}")
    print(f"idle: {args.idle_events} events one at a time")
    print(f"  latency p50/p95/max   {fmt(idle)}")


def emit_many(tenant, count: int) -> list:
    from django.db import transaction

    from mediahub.events.outbox import emit

    with transaction.atomic():
        return [emit(tenant, "media.created", {"id": f"bench-{n}", "n": n}) for n in range(count)]


def verified_latencies(receiver, verifier, events) -> list[float]:
    """Verify every request as a receiver would; latency = arrival - event created_at (ms)."""
    created = {str(event.id): event.created_at.timestamp() for event in events}
    latencies = []
    for request in receiver.requests:
        verifier.verify(request.body, request.headers)
        latencies.append((request.received_at - created[request.headers["webhook-id"]]) * 1000)
    return latencies


def run_burst(tenant, receiver, verifier, count: int) -> dict:
    receiver.requests.clear()
    started = time.time()
    events = emit_many(tenant, count)
    verified = 0
    # Verify while requests arrive, so "verified" is part of the measured time.
    lock = threading.Lock()

    def all_verified() -> bool:
        nonlocal verified
        with lock:
            while verified < len(receiver.requests):
                request = receiver.requests[verified]
                verifier.verify(request.body, request.headers)
                verified += 1
        return verified == count

    wait_for(all_verified, timeout=600, interval=0.01)
    finished = time.time()
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert ids == {str(e.id) for e in events}, "every event delivered exactly once"
    return {
        "total_seconds": finished - started,
        "rate": count / (finished - started),
        "latencies": verified_latencies(receiver, verifier, events),
    }


def run_idle(tenant, receiver, verifier, count: int) -> list[float]:
    receiver.requests.clear()
    events = []
    for n in range(count):
        events.extend(emit_many(tenant, 1))
        wait_for(lambda n=n: len(receiver.requests) == n + 1, timeout=60, interval=0.001)
    return verified_latencies(receiver, verifier, events)


def fmt(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"{statistics.median(ordered):.1f} / {p95:.1f} / {ordered[-1]:.1f} ms"


if __name__ == "__main__":
    main()
