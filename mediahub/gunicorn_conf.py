"""gunicorn settings, from the environment; used by ``manage.py up`` and the deploy files:
``gunicorn --config python:mediahub.gunicorn_conf mediahub.wsgi``."""

import os
import shutil

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# One process per core, with threads (benchmarks/api_latency.py on 2 cores: 2 workers answered
# ~570 req/s at p95 68 ms, 5 workers ~535 req/s at p95 103 ms).
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, os.cpu_count() or 1)))
# Threads per worker (gthread): a slow upload holds one thread, not a whole worker.
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
# gthread that buffers slow requests without holding a thread and answers its own errors in JSON.
worker_class = "mediahub.gunicorn_worker.ApiWorker"
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "true").lower() in ("1", "true", "yes") else None
errorlog = "-"
# Trust X-Forwarded-* only from these proxies (the variable gunicorn itself reads by default).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server) -> None:
    # Prometheus multiprocess mode: each worker writes its metrics to files in this folder; values
    # left by a previous run would be added to this one's.
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


control_socket_disable = True  # several instances (tests, benchmarks) share a machine
