from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from tenants.models import TenantOwned


class PluginConfig(TenantOwned):
    """A tenant's settings for one plugin. Secret config fields live only in ``secrets`` (a Fernet
    token of their JSON, see ``mediahub.crypto``), never in ``config``."""

    plugin = models.CharField(max_length=64)
    enabled = models.BooleanField(default=False)
    config = models.JSONField(default=dict, blank=True)
    secrets = models.TextField(blank=True, default="")
    # The events that start the plugin; null means the plugin's own default.
    run_on = ArrayField(models.CharField(max_length=64), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plugin"]
        constraints = [models.UniqueConstraint(fields=["tenant", "plugin"], name="plugin_config_unique")]

    def __str__(self) -> str:
        return f"{self.plugin} ({'enabled' if self.enabled else 'disabled'})"


class PluginResult(TenantOwned):
    """The latest run of a plugin on a media: ``media.plugins[plugin]`` of the API."""

    media = models.ForeignKey("media.Media", on_delete=models.CASCADE, related_name="plugin_results")
    plugin = models.CharField(max_length=64)
    # pending, processing, completed, failed, cancelled; or awaiting_callback (the http plugin).
    status = models.CharField(max_length=32)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    task_id = models.UUIDField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plugin"]
        constraints = [models.UniqueConstraint(fields=["media", "plugin"], name="plugin_result_unique")]

    def __str__(self) -> str:
        return f"{self.plugin} on {self.media_id}: {self.status}"
