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
        IMPORTING = "importing"  # a URL import is fetching the original

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
    # BlurHash of the image (or of the video's poster), painted by pages before the image loads.
    placeholder = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    # The media an FFmpegCommand made this one from (its first input).
    derived_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="derivatives"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "media"
        indexes = [models.Index(fields=["tenant", "-created_at"])]
        constraints = [
            # One media per content and tenant: a repeated upload answers with the existing one.
            models.UniqueConstraint(
                fields=["tenant", "sha256"], condition=~models.Q(sha256=""), name="media_unique_sha256"
            )
        ]

    def __str__(self) -> str:
        return self.title or self.filename


class DirectUpload(TenantOwned):
    """A direct-to-storage upload in progress: the client PUTs the bytes to presigned URLs, then
    completes it, and it becomes a Media (whose id and storage key are reserved here)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    media_id = models.UUIDField(default=uuid.uuid4, editable=False)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField()
    key = models.CharField(max_length=1024)
    # S3 multipart upload id; blank for a single presigned PUT.
    multipart_upload_id = models.CharField(max_length=1024, blank=True)
    part_size = models.BigIntegerField(null=True, blank=True)
    # What the client asked for the media; applied when the upload completes.
    title = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    auto_transcode = models.BooleanField(null=True, blank=True)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"upload {self.id} ({self.filename})"
