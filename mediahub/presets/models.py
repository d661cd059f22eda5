import uuid

from django.db import models
from django.utils import timezone

from tenants.models import Tenant


class PresetQuerySet(models.QuerySet):
    def visible_to(self, tenant: Tenant) -> "PresetQuerySet":
        """The tenant's own presets and the system ones."""
        return self.filter(models.Q(tenant=tenant) | models.Q(tenant__isnull=True))


class Preset(models.Model):
    """A named recipe a tenant reuses: an ffmpeg command, an HLS ladder or image transform ops.

    ``tenant`` is null for the built-in (system) presets, which every tenant sees and none changes.
    """

    class Kind(models.TextChoices):
        COMMAND = "command"
        LADDER = "ladder"
        IMAGE = "image"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    name = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # kind=command: ffmpeg arguments (a string or a list) with wildcards; ``params`` maps each of
    # its ``${name}`` parameters to a default (null: required).
    command = models.JSONField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)
    # kind=ladder: HLS rungs, as in ``settings.hls_ladder``.
    ladder = models.JSONField(null=True, blank=True)
    # kind=image: transform ops in the path syntax of ``/media/{id}/transform/{ops}``.
    ops = models.TextField(blank=True)
    output_extension = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PresetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="preset_unique_tenant_name"),
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(tenant__isnull=True), name="preset_unique_system_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def system(self) -> bool:
        return self.tenant_id is None
