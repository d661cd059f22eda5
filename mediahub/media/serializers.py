from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mediahub.api.serializers import BoundedJSONField, StrictFieldsMixin
from mediahub.media import playback, storage
from mediahub.media.models import Media
from tenants.defaults import HLS_SEGMENT_TYPES


class RenditionSerializer(serializers.Serializer):
    name = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    bandwidth = serializers.IntegerField()
    codecs = serializers.CharField()


class HlsSerializer(serializers.Serializer):
    master_url = serializers.URLField()
    complete = serializers.BooleanField(help_text="False while only a first rendition plays.")
    segment_type = serializers.ChoiceField(choices=HLS_SEGMENT_TYPES)
    renditions = RenditionSerializer(many=True)


class EmbeddingStateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["none", "pending", "current", "stale", "failed"])
    model = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)


class PluginRunSerializer(serializers.Serializer):
    """The latest run of one plugin on a media (rows written by ``mediahub.plugins``)."""

    status = serializers.CharField()
    result = serializers.JSONField(allow_null=True)
    error = serializers.CharField()
    updated_at = serializers.DateTimeField()


class MediaSerializer(serializers.ModelSerializer):
    """The media object of API.md; links are absolute (from the request, else ``PUBLIC_URL``)."""

    hls = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    plugins = serializers.SerializerMethodField()
    embedding = serializers.SerializerMethodField()
    derived_from = serializers.UUIDField(
        source="derived_from_id", read_only=True, allow_null=True, help_text="The media it was made from."
    )

    class Meta:
        model = Media
        fields = [
            "id",
            "type",
            "status",
            "filename",
            "content_type",
            "size_bytes",
            "sha256",
            "title",
            "description",
            "metadata",
            "duration_seconds",
            "width",
            "height",
            "probe",
            "hls",
            "thumbnail_url",
            "plugins",
            "embedding",
            "placeholder",
            "derived_from",
            "error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _base_url(self) -> str:
        return playback.base_url(self.context.get("request"))

    @extend_schema_field(HlsSerializer(allow_null=True))
    def get_hls(self, media: Media) -> dict[str, Any] | None:
        if not media.hls:
            return None
        renditions = [
            {key: rendition.get(key) for key in ("name", "width", "height", "bandwidth", "codecs")}
            for rendition in media.hls["renditions"]
        ]
        return {
            "master_url": playback.master_url(media, self._base_url()),
            # Rows written before fast start existed only ever held a complete ladder.
            "complete": media.hls.get("complete", True),
            "segment_type": media.hls.get("segment_type", "mpegts"),
            "renditions": renditions,
        }

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_thumbnail_url(self, media: Media) -> str | None:
        if not media.poster_key:
            return None
        return storage.get_store().url(
            media.poster_key,
            base_url=self._base_url(),
            ttl=settings.PLAYBACK_URL_TTL_SECONDS,
            content_type="image/jpeg",
        )

    @extend_schema_field(EmbeddingStateSerializer)
    def get_embedding(self, media: Media) -> dict[str, Any]:
        # ``media.embedding`` is the row mediahub.search keeps (a reverse relation: no import).
        state = getattr(media, "embedding", None)
        if state is None:
            return {"status": "none", "model": None, "updated_at": None}
        value = {"status": state.status, "model": state.model or None, "updated_at": state.embedded_at}
        return EmbeddingStateSerializer(value).data

    @extend_schema_field(serializers.DictField(child=PluginRunSerializer()))
    def get_plugins(self, media: Media) -> dict[str, Any]:
        return {row.plugin: PluginRunSerializer(row).data for row in media.plugin_results.all()}


def with_represented_rows(media: QuerySet[Media]) -> QuerySet[Media]:
    """``media`` with the rows of other apps that ``MediaSerializer`` shows (the embedding state
    mediahub.search keeps, the plugin results), fetched along: no query per media of a list. The
    embedding's vector and text stay unread; only its state is shown."""
    return (
        media.select_related("embedding")
        .prefetch_related("plugin_results")
        .defer("embedding__vector", "embedding__text", "embedding__search_vector")
    )


def event_data(media: Media) -> dict[str, Any]:
    """The ``data`` of ``media.*`` events: the API representation (links built on ``PUBLIC_URL``)."""
    return MediaSerializer(media).data


class DuplicateMediaSerializer(MediaSerializer):
    duplicate = serializers.BooleanField(help_text="True when the tenant already had this file.")

    class Meta(MediaSerializer.Meta):
        fields = [*MediaSerializer.Meta.fields, "duplicate"]


class MediaUploadSerializer(StrictFieldsMixin, serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, use_url=False)
    title = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    metadata = BoundedJSONField(object_only=True, from_text=True, required=False, default=dict)
    auto_transcode = serializers.BooleanField(required=False, allow_null=True, default=None)


class MediaUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    title = serializers.CharField(max_length=500, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    metadata = BoundedJSONField(object_only=True, from_text=True, required=False)


_TOKEN = r"[A-Za-z0-9!#$&^_.+-]"
# RFC 6838 type/subtype names, with optional parameters (``; codecs=avc1``).
_NAME = rf"[A-Za-z0-9]{_TOKEN}{{0,126}}"
CONTENT_TYPE_PATTERN = rf"^{_NAME}/{_NAME}(?: *; *{_TOKEN}+={_TOKEN}+)*$"


class DirectUploadCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    filename = serializers.CharField(max_length=1000)
    size_bytes = serializers.IntegerField(min_value=1)
    # Sent on to storage as the object's Content-Type: a media type, not arbitrary text.
    content_type = serializers.RegexField(
        CONTENT_TYPE_PATTERN,
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
    )
    title = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    metadata = BoundedJSONField(object_only=True, from_text=True, required=False, default=dict)
    auto_transcode = serializers.BooleanField(required=False, allow_null=True, default=None)


class PartSerializer(StrictFieldsMixin, serializers.Serializer):
    part_number = serializers.IntegerField(min_value=1, max_value=10_000)
    etag = serializers.CharField(max_length=200)


class PartUrlSerializer(serializers.Serializer):
    part_number = serializers.IntegerField()
    url = serializers.URLField()


class DirectUploadSerializer(serializers.Serializer):
    upload_id = serializers.UUIDField()
    url = serializers.URLField(required=False)
    parts = PartUrlSerializer(many=True, required=False)
    part_size = serializers.IntegerField(required=False)
    expires_at = serializers.DateTimeField()


class DirectUploadCompleteSerializer(StrictFieldsMixin, serializers.Serializer):
    parts = PartSerializer(many=True, required=False, default=list)
