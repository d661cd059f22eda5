from rest_framework import serializers

from mediahub.api.serializers import BoundedJSONField, StrictFieldsMixin
from mediahub.media.serializers import MediaSerializer


class MediaImportSerializer(StrictFieldsMixin, serializers.Serializer):
    url = serializers.CharField(max_length=2000)
    title = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    metadata = BoundedJSONField(object_only=True, from_text=True, required=False, default=dict)
    auto_transcode = serializers.BooleanField(required=False, allow_null=True, default=None)


class ImportingMediaSerializer(MediaSerializer):
    task = serializers.UUIDField(help_text="The ImportMedia task fetching the URL.")

    class Meta(MediaSerializer.Meta):
        fields = [*MediaSerializer.Meta.fields, "task"]
