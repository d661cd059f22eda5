"""The ``PluginExecution`` task type: one plugin run on one media."""

from __future__ import annotations

from typing import Any

from mediahub.errors import Invalid
from mediahub.media.models import Media
from mediahub.media.tasktypes import MediaTaskType, named_media
from mediahub.plugins import registry, services
from mediahub.plugins.base import Plugin, PluginContext
from tasks.context import TaskContext
from tasks.errors import PermanentError, TaskError
from tasks.models import Task
from tasks.registry import register
from tenants.models import Tenant


@register
class PluginExecution(MediaTaskType):
    name = services.TASK_TYPE
    queue = "plugins"
    payload_schema = {
        "type": "object",
        "required": ["plugin", "media_id"],
        "additionalProperties": False,
        "properties": {
            "plugin": {"type": "string", "maxLength": 64},
            "media_id": {"type": "string"},
            "config": {"type": "object"},
        },
    }
    default_timeout_seconds = 3600
    default_max_retries = 3
    # Transcription holds a core for a while: one tenant cannot take every plugin worker.
    max_per_tenant = 4

    def validate_payload(self, tenant: Tenant, payload: dict[str, Any], media: Media | None) -> None:
        plugin = registry.find_plugin(payload["plugin"])
        if plugin is None:
            names = ", ".join(p.name for p in registry.all_plugins())
            raise _invalid("plugin", f"Unknown plugin {payload['plugin']!r}; available: {names}.")
        if media is None:
            raise _invalid("media_id", "No such media.")
        problem = services.media_problem(plugin, media)
        if problem:
            raise _invalid("media_id", problem)
        try:
            services.effective_config(tenant, plugin, payload.get("config"))
        except Invalid as exc:
            raise Invalid({"payload": exc.details}) from None

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        plugin = _plugin(ctx.task)
        media = named_media(ctx.tenant, ctx.payload["media_id"])
        if media is None:
            raise PermanentError("The media no longer exists.")
        try:
            config = services.effective_config(ctx.tenant, plugin, ctx.payload.get("config"))
        except Invalid as exc:  # the tenant's config changed since
            raise PermanentError(f"Invalid plugin config: {exc.details}") from None
        services.record(media, plugin.name, "processing", task_id=ctx.task.pk)
        ctx.set_phase("running")
        try:
            return plugin.run(PluginContext(ctx, media, plugin.name), media, config)
        except TaskError:
            raise
        except Exception as exc:
            # A plugin's own bug or refusal: the task fails with its message, the worker lives on.
            raise PermanentError(f"The {plugin.name} plugin failed: {type(exc).__name__}: {exc}") from exc

    def on_completed(self, task: Task) -> None:
        self._finish(task)

    def on_failed(self, task: Task) -> None:
        self._finish(task)

    def on_cancelled(self, task: Task) -> None:
        self._finish(task)

    def _finish(self, task: Task) -> None:
        plugin = registry.find_plugin(task.payload.get("plugin", ""))
        if plugin is not None and task.media is not None:
            services.finish(task.media, plugin, task)


def _plugin(task: Task) -> Plugin:
    plugin = registry.find_plugin(task.payload["plugin"])
    if plugin is None:
        raise PermanentError(f"The plugin {task.payload['plugin']!r} is no longer installed.")
    return plugin


def _invalid(field: str, message: str) -> Invalid:
    return Invalid({"payload": {field: [message]}})
