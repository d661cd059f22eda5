from rest_framework import serializers

from mediahub.api.serializers import StrictFieldsMixin
from mediahub.images.services import MAX_EXPIRES_IN


class TransformUrlRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    ops = serializers.CharField(max_length=2000, help_text="Ops in path syntax: -/resize/800x/-/format/auto")
    expires_in = serializers.IntegerField(
        min_value=1,
        max_value=MAX_EXPIRES_IN,
        required=False,
        allow_null=True,
        help_text="Seconds; none: never.",
    )


class TransformUrlSerializer(serializers.Serializer):
    url = serializers.URLField()
    expires_at = serializers.DateTimeField(allow_null=True)


class SigningKeySerializer(serializers.Serializer):
    key_id = serializers.CharField(source="id")
    secret = serializers.CharField(help_text="HMAC-SHA256 key of signed transform URLs (README).")
    created_at = serializers.DateTimeField()
