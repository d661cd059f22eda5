"""Liveness, readiness and metrics; no authentication."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mediahub.api.errors import error_body

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    import dramatiq

    broker = dramatiq.get_broker()
    if settings.BROKER_URL.startswith("amqp"):
        # A fresh connection: the broker's cached one may predate an outage.
        import pika

        params = pika.URLParameters(settings.BROKER_URL)
        params.socket_timeout = params.blocked_connection_timeout = 2
        params.connection_attempts = 1
        pika.BlockingConnection(params).close()
    else:
        broker.client.ping()


def check_redis() -> None:
    from mediahub.redis import get_redis

    get_redis().ping()


def check_storage() -> None:
    default_storage.exists(".readyz")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "redis": check_redis,
    "storage": check_storage,
}


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    down = []
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # any failure means "not ready", whatever the driver raises
            logger.warning("readiness check %s failed: %s", name, exc)
            down.append(name)
    if down:
        response = JsonResponse(
            error_body(
                "dependency_unavailable", f"Not ready: {', '.join(down)} unreachable.", {"down": down}
            ),
            status=503,
        )
        response["Retry-After"] = "5"
        return response
    return JsonResponse({"status": "ready", "checks": {name: "ok" for name in CHECKS}})


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
