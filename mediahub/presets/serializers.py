from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mediahub.api.schema import NO_NUL_PATTERN, NOT_BLANK_PATTERN
from mediahub.api.serializers import StrictFieldsMixin
from mediahub.images.ops import image_ops_problem
from mediahub.presets.models import Preset
from tenants.serializers import LadderRungSerializer, validate_unique_rungs

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
PARAM_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
CONTENT_FIELD = {Preset.Kind.COMMAND: "command", Preset.Kind.LADDER: "ladder", Preset.Kind.IMAGE: "ops"}


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": NOT_BLANK_PATTERN},
            {"type": "array", "items": {"type": "string", "pattern": NO_NUL_PATTERN}, "minItems": 1},
        ],
        "nullable": True,
    }
)
class CommandField(serializers.Field):
    """ffmpeg arguments: one string (split like a shell would) or a list of strings."""

    def to_internal_value(self, data: Any) -> str | list[str]:
        if isinstance(data, str) and data.strip() and "\x00" not in data:
            return data
        if (
            isinstance(data, list)
            and data
            and all(isinstance(arg, str) and "\x00" not in arg for arg in data)
        ):
            return data
        raise serializers.ValidationError("Must be a non-empty string or a list of strings, without NUL.")

    def to_representation(self, value: Any) -> Any:
        return value


class PresetSerializer(serializers.ModelSerializer):
    # Present only for the preset's own kind (see ``to_representation``): not required in the schema.
    command = CommandField(allow_null=True, required=False)
    params = serializers.DictField(child=serializers.CharField(allow_null=True), required=False)
    ladder = LadderRungSerializer(many=True, allow_null=True, required=False)
    ops = serializers.CharField(required=False)

    class Meta:
        model = Preset
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "command",
            "params",
            "ladder",
            "ops",
            "output_extension",
            "system",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, preset: Preset) -> dict[str, Any]:
        data = super().to_representation(preset)
        # Only the content of the preset's own kind (API.md: ``command | ladder | ops``).
        for kind, field in CONTENT_FIELD.items():
            if kind != preset.kind:
                data.pop(field)
        if preset.kind != Preset.Kind.COMMAND:
            data.pop("params")
        return data


class PresetWriteSerializer(StrictFieldsMixin, serializers.Serializer):
    """POST (name, kind and its content required) and PATCH (merged with the stored preset first)."""

    name = serializers.RegexField(NAME_PATTERN, max_length=64)
    description = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")
    kind = serializers.ChoiceField(choices=Preset.Kind.choices)
    command = CommandField(required=False, allow_null=True)
    params = serializers.DictField(
        child=serializers.CharField(max_length=256, allow_null=True), required=False, default=dict
    )
    # The list may be null, its rungs may not (many=True would let both be).
    ladder = serializers.ListSerializer(
        child=LadderRungSerializer(), required=False, allow_null=True, allow_empty=False
    )
    ops = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    output_extension = serializers.RegexField(
        r"^[a-z0-9]{1,8}$", required=False, allow_blank=True, default=""
    )

    def validate_params(self, params: dict[str, Any]) -> dict[str, Any]:
        if len(params) > 16 or not all(re.fullmatch(PARAM_PATTERN, name) for name in params):
            raise serializers.ValidationError("At most 16 parameters, named like start or max_width.")
        return params

    def validate_ladder(self, ladder: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        return validate_unique_rungs(ladder) if ladder else ladder

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        content = CONTENT_FIELD[data["kind"]]
        errors = {}
        if not data.get(content):
            errors[content] = [f"Required for a {data['kind']} preset."]
        for field in CONTENT_FIELD.values():
            if field != content and data.get(field):
                errors[field] = [f"Not part of a {data['kind']} preset."]
        if data["kind"] == Preset.Kind.COMMAND:
            if not data.get("output_extension"):
                errors["output_extension"] = ["Required for a command preset."]
        elif data.get("params"):
            errors["params"] = ["Only command presets take parameters."]
        if data["kind"] == Preset.Kind.IMAGE and data.get("ops"):
            problem = image_ops_problem(data["ops"])
            if problem:
                errors["ops"] = [problem]
        if errors:
            raise serializers.ValidationError(errors)
        return data
