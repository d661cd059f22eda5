import re
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mediahub.api.serializers import StrictFieldsMixin
from tenants.defaults import HLS_SEGMENT_TYPES, above_quota
from tenants.models import SCOPES, ApiKey, Tenant


class TenantSerializer(serializers.ModelSerializer):
    settings = serializers.SerializerMethodField()
    usage = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "settings", "quotas", "usage", "created_at"]

    quotas = serializers.SerializerMethodField(help_text="Operator-set ceilings of settings.limits.")

    def get_settings(self, tenant: Tenant) -> dict:
        return tenant.effective_settings

    def get_quotas(self, tenant: Tenant) -> dict:
        return tenant.quota

    def get_usage(self, tenant: Tenant) -> dict:
        from tenants.selectors import tenant_usage

        return tenant_usage(tenant=tenant)


class LadderRungSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.RegexField(r"^[A-Za-z0-9_-]{1,32}$")
    height = serializers.IntegerField(min_value=144, max_value=4320)
    video_bitrate = serializers.IntegerField(min_value=100, max_value=100_000, help_text="kbit/s")
    audio_bitrate = serializers.IntegerField(min_value=32, max_value=512, required=False, default=128)
    crf = serializers.IntegerField(
        min_value=0,
        max_value=51,
        required=False,
        help_text="Constant quality instead of a target bitrate; video_bitrate then caps it.",
    )


def validate_unique_rungs(ladder: list[dict]) -> list[dict]:
    names = [rung["name"] for rung in ladder]
    if len(set(names)) != len(names):
        raise serializers.ValidationError("Rung names must be unique.")
    return ladder


LADDER_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# Checks that a ladder name resolves, registered by the app that owns ladder presets (tenants
# imports no app above it). A check raises ``ValueError`` with the reason.
LADDER_NAME_CHECKS: list[Callable[[Tenant, str], None]] = []


@extend_schema_field(
    {
        "oneOf": [
            {"type": "array", "items": {"$ref": "#/components/schemas/LadderRung"}, "minItems": 1},
            {"type": "string", "pattern": LADDER_NAME, "description": "The name of a ladder preset."},
        ]
    }
)
class LadderSettingField(serializers.Field):
    """A list of rungs, or the name of a ladder preset (``ladder-quality``)."""

    def to_internal_value(self, data: Any) -> list[dict] | str:
        if isinstance(data, str):
            if not re.fullmatch(LADDER_NAME, data):
                raise serializers.ValidationError("Not a preset name.")
            tenant = self.context.get("tenant")
            for check in LADDER_NAME_CHECKS:
                try:
                    check(tenant, data)  # type: ignore[arg-type]
                except ValueError as exc:
                    raise serializers.ValidationError(str(exc)) from exc
            return data
        rungs = LadderRungSerializer(many=True, allow_empty=False).run_validation(data)
        return validate_unique_rungs(rungs)

    def to_representation(self, value: Any) -> Any:
        return value


class UploadLimitsSerializer(StrictFieldsMixin, serializers.Serializer):
    video = serializers.IntegerField(min_value=1, required=False)
    audio = serializers.IntegerField(min_value=1, required=False)
    image = serializers.IntegerField(min_value=1, required=False)
    document = serializers.IntegerField(min_value=1, required=False)


class LimitsSerializer(StrictFieldsMixin, serializers.Serializer):
    max_upload_bytes = UploadLimitsSerializer(required=False)
    max_video_dimension = serializers.IntegerField(min_value=144, max_value=16384, required=False)
    max_image_pixels = serializers.IntegerField(min_value=1, required=False)
    max_image_dimension = serializers.IntegerField(min_value=16, max_value=100_000, required=False)
    max_transform_dimension = serializers.IntegerField(min_value=16, max_value=16_384, required=False)


class TenantSettingsSerializer(StrictFieldsMixin, serializers.Serializer):
    """What PATCH /tenant may change. With a ``tenant`` in the context (the API), ``limits`` may
    lower the tenant's quota, never raise it."""

    auto_transcode = serializers.BooleanField(required=False)
    auto_embed = serializers.BooleanField(required=False)
    strip_metadata = serializers.BooleanField(required=False)
    hls_ladder = LadderSettingField(required=False)
    fast_start = serializers.BooleanField(required=False)
    hls_segment_type = serializers.ChoiceField(choices=HLS_SEGMENT_TYPES, required=False)
    limits = LimitsSerializer(required=False)

    def validate_limits(self, limits: dict) -> dict:
        tenant = self.context.get("tenant")
        if tenant is None:
            return limits
        above = above_quota(limits, tenant.quota)
        if above:
            raise serializers.ValidationError(
                {
                    field: [f"At most {ceiling}: the quota set by the operator."]
                    for field, ceiling in above.items()
                }
            )
        return limits


class QuotasSerializer(LimitsSerializer):
    """The operator's ceilings (admin, ``manage.py set_quota``): the shape of ``limits``."""


class TenantUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    settings = TenantSettingsSerializer()


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"]


class ApiKeyCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=SCOPES), allow_empty=False, max_length=len(SCOPES)
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_expires_at(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("Must be in the future.")
        return value


class IssuedApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The secret; shown only in this response.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
