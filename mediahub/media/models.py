import uuid

from django.db import models
from django.utils import timezone

from tenants.models import TenantOwned


class Media(TenantOwned):
    class Type(models.TextChoices):
        VIDEO = "video"
        AUDIO = "audio"
        IMAGE = "image"
        DOCUMENT = "document"

    class Status(models.TextChoices):
        UPLOADED = "uploaded"
        PROCESSING = "processing"
        READY = "ready"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=16, choices=Type.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    probe = models.JSONField(default=dict, blank=True)
    # Storage key of the original upload, under the tenant's prefix.
    original_key = models.CharField(max_length=1024, blank=True)
    # {"master_key": ..., "renditions": [{name, width, height, bandwidth, codecs, playlist_key}]}
    hls = models.JSONField(null=True, blank=True)
    poster_key = models.CharField(max_length=1024, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "media"
        indexes = [
            models.Index(fields=["tenant", "-created_at"]),
            models.Index(fields=["tenant", "sha256"]),
        ]

    def __str__(self) -> str:
        return self.title or self.filename
