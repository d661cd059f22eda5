"""Prometheus metrics of the API processes.

Under gunicorn each worker process counts on its own; with ``PROMETHEUS_MULTIPROC_DIR`` set (as
``manage.py up`` and the deploy files do) the values are shared through files in that folder and
``/metrics`` reports the sum over all workers.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

HTTP_REQUESTS = Counter(
    "mediahub_http_requests_total",
    "HTTP requests answered, by method, route and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "mediahub_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


# Collectors that compute their values at scrape time (e.g. task gauges read from the database);
# they are per cluster, not per process, so they stay out of the multiprocess files.
SCRAPE_REGISTRY = CollectorRegistry()


def render() -> bytes:
    """The metrics in Prometheus text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry) + generate_latest(SCRAPE_REGISTRY)
    return generate_latest(DEFAULT_REGISTRY) + generate_latest(SCRAPE_REGISTRY)
