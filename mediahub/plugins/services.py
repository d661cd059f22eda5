"""Business rules of plugins: per-tenant config (secrets encrypted), starting runs by hand or on
events, and recording each run's outcome on the media."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from mediahub import crypto
from mediahub.errors import Invalid, NotFound
from mediahub.events.models import Event
from mediahub.events.outbox import emit
from mediahub.media.models import Media
from mediahub.media.serializers import PluginRunSerializer
from mediahub.media.serializers import event_data as media_data
from mediahub.media.tasktypes import named_media
from mediahub.plugins import registry
from mediahub.plugins.base import Plugin, media_has_audio
from mediahub.plugins.models import PluginConfig, PluginResult
from tasks.models import Task
from tasks.services import create_task
from tasks.validation import schema_errors
from tenants.models import Tenant

logger = logging.getLogger(__name__)

TASK_TYPE = "PluginExecution"
MASK = "********"
# The events a plugin may run on.
TRIGGER_EVENTS = ("media.created", "media.ready")


def get_plugin(name: str) -> Plugin:
    plugin = registry.find_plugin(name)
    if plugin is None:
        raise NotFound(f"No plugin named {name!r}.")
    return plugin


# --- config ---


def _stored(tenant: Tenant, plugin: Plugin) -> PluginConfig | None:
    return PluginConfig.objects.for_tenant(tenant).filter(plugin=plugin.name).first()


def _values(row: PluginConfig | None) -> dict[str, Any]:
    """The stored config with its secrets decrypted."""
    if row is None:
        return {}
    secrets = json.loads(crypto.decrypt(row.secrets.encode())) if row.secrets else {}
    return {**row.config, **secrets}


def _defaults(plugin: Plugin) -> dict[str, Any]:
    properties = plugin.config_schema.get("properties", {})
    return {name: spec["default"] for name, spec in properties.items() if "default" in spec}


def _masked(plugin: Plugin, config: dict[str, Any]) -> dict[str, Any]:
    return {key: MASK if key in plugin.secret_fields else value for key, value in config.items()}


def _check(plugin: Plugin, config: Any, *, complete: bool, field: str = "config") -> None:
    """Raise a 400 naming ``field.<name>`` for every value the plugin's schema refuses; unless
    ``complete``, required fields may be missing (a disabled plugin's partial config)."""
    schema = plugin.config_schema
    if not complete:
        schema = {key: value for key, value in schema.items() if key != "required"}
    errors = schema_errors(schema, config) or plugin.check_config(config)
    if errors:
        raise Invalid({field: errors})


def run_on(plugin: Plugin, row: PluginConfig | None) -> list[str]:
    return list(row.run_on) if row is not None and row.run_on is not None else list(plugin.run_on)


def plugin_listing(tenant: Tenant) -> list[dict[str, Any]]:
    """``GET /plugins``: every plugin with the tenant's settings (secrets masked)."""
    rows = {row.plugin: row for row in PluginConfig.objects.for_tenant(tenant)}
    return [_described(plugin, rows.get(plugin.name)) for plugin in registry.all_plugins()]


def _described(plugin: Plugin, row: PluginConfig | None) -> dict[str, Any]:
    return {
        "name": plugin.name,
        "description": plugin.description,
        "media_types": list(plugin.media_types),
        "config_schema": plugin.config_schema,
        "secret_fields": list(plugin.secret_fields),
        "run_on": run_on(plugin, row),
        "enabled": bool(row and row.enabled),
        "config": _masked(plugin, _values(row)),
    }


def configure(
    *, tenant: Tenant, name: str, enabled: bool, config: dict[str, Any], run_on: list[str] | None = None
) -> dict[str, Any]:
    """``PUT /plugins/{name}/config``. A secret left out (or sent back as ``"********"``) keeps its
    stored value, so a client may send back what ``GET /plugins`` showed."""
    plugin = get_plugin(name)
    if run_on is not None:  # events among TRIGGER_EVENTS (the serializer's choices)
        run_on = sorted(set(run_on), key=TRIGGER_EVENTS.index)
    with transaction.atomic():
        row = PluginConfig.objects.for_tenant(tenant).select_for_update().filter(plugin=name).first()
        stored = _values(row)
        merged = dict(config)
        for key in plugin.secret_fields:
            if merged.get(key, MASK) == MASK:
                merged.pop(key, None)
                if key in stored:
                    merged[key] = stored[key]
        _check(plugin, merged, complete=enabled)
        secrets = {key: merged.pop(key) for key in plugin.secret_fields if key in merged}
        row = row or PluginConfig(tenant=tenant, plugin=name)
        row.enabled, row.config, row.run_on = enabled, merged, run_on
        row.secrets = crypto.encrypt(json.dumps(secrets).encode()).decode() if secrets else ""
        row.save()
    return _described(plugin, row)


def effective_config(
    tenant: Tenant, plugin: Plugin, override: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What a run uses: the plugin's defaults, the tenant's config, then the run's own ``override``."""
    config = {**_defaults(plugin), **_values(_stored(tenant, plugin)), **(override or {})}
    _check(plugin, config, complete=True)
    return config


# --- runs ---


def media_problem(plugin: Plugin, media: Media) -> str | None:
    """Why ``plugin`` cannot take ``media``, or None."""
    if media.type not in plugin.media_types:
        return f"The {plugin.name} plugin takes {' or '.join(plugin.media_types)} media, not {media.type}."
    if plugin.needs_audio and media_has_audio(media) is False:
        return f"The {plugin.name} plugin needs audio; this media has no audio stream."
    return None


def execute(*, tenant: Tenant, name: str, media_id: Any, config: dict[str, Any] | None = None) -> Task:
    """``POST /plugins/{name}/execute``: a ``PluginExecution`` task; errors name the body's fields."""
    get_plugin(name)
    payload: dict[str, Any] = {"plugin": name, "media_id": str(media_id)}
    if config is not None:
        payload["config"] = config
    try:
        return create_task(tenant=tenant, type_name=TASK_TYPE, payload=payload)
    except Invalid as exc:
        payload_errors = exc.details.get("payload")
        if isinstance(payload_errors, dict):  # name the body's own fields (media_id, config)
            raise Invalid(payload_errors) from None
        raise


def start_on_event(tenant: Tenant, event_type: str, media: Media) -> list[Task]:
    """Start every plugin the tenant enabled for ``event_type`` that takes ``media``. Runs inside
    the transaction of the event; a plugin whose config became invalid is skipped (and logged),
    never a reason to fail the change that emitted the event."""
    started = []
    for row in PluginConfig.objects.for_tenant(tenant).filter(enabled=True):
        plugin = registry.find_plugin(row.plugin)
        if plugin is None or event_type not in run_on(plugin, row) or media_problem(plugin, media):
            continue
        try:
            with transaction.atomic():
                started.append(
                    create_task(
                        tenant=tenant,
                        type_name=TASK_TYPE,
                        payload={"plugin": plugin.name, "media_id": str(media.id)},
                    )
                )
        except Invalid as exc:
            logger.warning(
                "plugin %s not started on %s of media %s: %s", plugin.name, event_type, media.id, exc
            )
    return started


def on_media_event(event: Event) -> None:
    """The automatic trigger: an outbox subscriber of the events plugins run on."""
    media = named_media(event.tenant, event.data.get("id"))
    if media is not None:
        start_on_event(event.tenant, event.type, media)


# --- outcomes ---


def _result_data(row: PluginResult) -> dict[str, Any]:
    return PluginRunSerializer(row).data


def record(
    media: Media,
    plugin: str,
    status: str,
    *,
    result: dict[str, Any] | None = None,
    error: str = "",
    task_id: Any = None,
) -> PluginResult:
    row, _ = PluginResult.objects.update_or_create(
        media=media,
        plugin=plugin,
        defaults={
            "tenant_id": media.tenant_id,
            "status": status,
            "result": result,
            "error": error,
            "task_id": task_id,
            "updated_at": timezone.now(),
        },
    )
    return row


def finish(media: Media, plugin: Plugin, task: Task) -> None:
    """The task of a run ended: put its outcome on the media and emit ``plugin.completed`` or
    ``plugin.failed`` (inside the engine's transaction)."""
    if task.status == Task.Status.COMPLETED:
        status = plugin.result_status(task.result or {})
        row = record(media, plugin.name, status, result=task.result, task_id=task.pk)
        if status == "completed":
            plugin.on_completed(media, task.result or {})
            emit(media.tenant, "plugin.completed", event_data(media, row))
    elif task.status == Task.Status.FAILED:
        row = record(media, plugin.name, "failed", error=task.error, task_id=task.pk)
        emit(media.tenant, "plugin.failed", event_data(media, row))
    else:
        record(media, plugin.name, task.status, error=task.error, task_id=task.pk)


def complete_later(waiting: PluginResult, plugin: Plugin, result: dict[str, Any]) -> PluginResult:
    """A run that waited (e.g. for a callback) has its result now."""
    media = waiting.media
    with transaction.atomic():
        row = record(media, plugin.name, "completed", result=result, task_id=waiting.task_id)
        plugin.on_completed(media, result)
        emit(media.tenant, "plugin.completed", event_data(media, row))
    return row


def event_data(media: Media, row: PluginResult) -> dict[str, Any]:
    return {
        "plugin": row.plugin,
        "task": str(row.task_id) if row.task_id else None,
        **_result_data(row),
        "media": media_data(media),
    }
