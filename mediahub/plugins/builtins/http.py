"""The extension point for a tenant's own service: POST ``{media, download_url, callback}`` to its
URL, signed like our webhooks (Standard Webhooks), through the same outbound-address guard, and keep
the JSON reply as the result. A ``202`` reply means "later": the service POSTs the result to
``callback`` and the run completes then."""

from __future__ import annotations

import json
from typing import Any

from django.core import signing as django_signing
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from mediahub import outbound
from mediahub.errors import Conflict, NotFound
from mediahub.media import playback, storage
from mediahub.media.models import Media
from mediahub.media.serializers import event_data as media_data
from mediahub.plugins import registry, services
from mediahub.plugins.base import Plugin, PluginContext
from mediahub.plugins.models import PluginResult
from mediahub.webhooks import signing, transport
from tasks.errors import PermanentError, TransientError

USER_AGENT = "mediahub-plugins/1.0"
CALLBACK_SALT = "mediahub.plugins.http-callback"
# A service may answer (or call back) this long after the request.
CALLBACK_MAX_AGE_SECONDS = 7 * 24 * 3600
DOWNLOAD_URL_TTL_SECONDS = 24 * 3600
REPLY_LIMIT_BYTES = 256 * 1024
AWAITING_CALLBACK = "awaiting_callback"


class HttpPlugin(Plugin):
    name = "http"
    description = (
        "Hands the media to the tenant's own HTTP service (signed like webhooks) and keeps its "
        "JSON reply or callback."
    )
    media_types = ("video", "audio", "image", "document")
    run_on = ("media.created",)
    secret_fields = ("secret",)
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["url", "secret"],
        "properties": {
            "url": {"type": "string", "pattern": "^https?://", "maxLength": 2000},
            # A Standard Webhooks secret: whsec_ + base64 of at least 24 random bytes.
            "secret": {"type": "string", "pattern": "^whsec_[A-Za-z0-9+/]{32,}={0,2}$"},
            "timeout_seconds": {"type": "number", "minimum": 1, "maximum": 60, "default": 10},
        },
    }

    def run(self, ctx: PluginContext, media: Media, config: dict[str, Any]) -> dict[str, Any]:
        task_id = str(ctx.task.task.pk)
        base = playback.base_url(None)
        body = json.dumps(
            {
                "media": media_data(media),
                "download_url": storage.get_store().url(
                    media.original_key, base_url=base, ttl=DOWNLOAD_URL_TTL_SECONDS
                ),
                "callback": callback_url(base, task_id, media),
            },
            cls=DjangoJSONEncoder,
            separators=(",", ":"),
        ).encode()
        headers = {**signing.signed_headers([config["secret"]], task_id, body), "user-agent": USER_AGENT}
        outcome = transport.post(config["url"], body, headers, config["timeout_seconds"], REPLY_LIMIT_BYTES)
        if outcome.error.startswith("Refused"):
            raise PermanentError(outcome.error)
        if (
            outcome.response_status is None
            or outcome.response_status >= 500
            or outcome.response_status == 429
        ):
            # Timeouts, unreachable services and server errors: the engine retries with backoff.
            raise TransientError(f"The service failed: {outcome.error or f'HTTP {outcome.response_status}'}")
        if outcome.response_status >= 300:
            raise PermanentError(f"The service refused the media: HTTP {outcome.response_status}.")
        reply = _json_or_text(outcome.response_body)
        if outcome.response_status == 202:
            return {AWAITING_CALLBACK: True, "reply": reply}
        return {"status": outcome.response_status, "reply": reply}

    def check_config(self, config: dict[str, Any]) -> dict[str, list[str]]:
        if "url" not in config:
            return {}
        try:
            outbound.check_url(config["url"])
        except outbound.OutboundRefused as exc:
            return {"url": [str(exc)]}
        return {}

    def result_status(self, result: dict[str, Any]) -> str:
        return AWAITING_CALLBACK if result.get(AWAITING_CALLBACK) else "completed"


def callback_url(base: str, task_id: str, media: Media) -> str:
    token = django_signing.dumps({"t": task_id, "m": str(media.id)}, salt=CALLBACK_SALT)
    return f"{base}/api/v1/plugins/http/callbacks/{token}"


def receive_callback(token: str, reply: Any) -> PluginResult:
    """The service's later answer to a run that got ``202``: it becomes the run's result."""
    try:
        claims = django_signing.loads(token, salt=CALLBACK_SALT, max_age=CALLBACK_MAX_AGE_SECONDS)
    except django_signing.BadSignature:
        raise NotFound("Unknown or expired callback.") from None
    with transaction.atomic():
        row = (
            PluginResult.objects.select_for_update()
            .select_related("media__tenant")
            .filter(media_id=claims["m"], plugin=HttpPlugin.name, task_id=claims["t"])
            .first()
        )
        if row is None:
            raise NotFound("Unknown or expired callback.")
        if row.status != AWAITING_CALLBACK:
            raise Conflict(f"This run is {row.status}; it takes no callback.", code="callback_not_expected")
        return services.complete_later(row, registry.find_plugin(HttpPlugin.name), {"reply": reply})


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text
