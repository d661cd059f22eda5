"""Liveness, readiness and metrics; no authentication, no rate limit."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mediahub import metrics
from mediahub.api.errors import error_body

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    if settings.BROKER_URL.startswith("amqp"):
        # A fresh connection: the broker's cached one may predate an outage.
        import pika

        params = pika.URLParameters(settings.BROKER_URL)
        params.socket_timeout = params.blocked_connection_timeout = 2
        params.connection_attempts = 1
        pika.BlockingConnection(params).close()
    else:
        import redis

        redis.Redis.from_url(settings.BROKER_URL, socket_timeout=2, socket_connect_timeout=2).ping()


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


class HealthView(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []


class HealthzView(HealthView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=["health"])
    def get(self, request: Request) -> Response:
        """The process is up."""
        return Response({"status": "ok"})


class ReadyzView(HealthView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT}, tags=["health"])
    def get(self, request: Request) -> Response:
        """Database, broker, Redis and storage are reachable; ``503`` names the ones that are not."""
        down = []
        for name, check in CHECKS.items():
            try:
                check()
            except Exception as exc:  # any failure means "not ready", whatever the driver raises
                logger.warning("readiness check %s failed: %s", name, exc)
                down.append(name)
        if down:
            body = error_body(
                "dependency_unavailable", f"Not ready: {', '.join(down)} unreachable.", {"down": down}
            )
            return Response(body, status=503, headers={"Retry-After": "5"})
        return Response({"status": "ready", "checks": {name: "ok" for name in CHECKS}})


class MetricsView(HealthView):
    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR}, tags=["health"])
    def get(self, request: Request) -> HttpResponse:
        """Prometheus text format."""
        return HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)
