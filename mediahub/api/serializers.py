import json
from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework import serializers

# Free-form JSON a client sends (metadata, task payloads) is stored, indexed and sent out in every
# event: keep it small and shallow (deep nesting also exhausts recursion in encoders).
JSON_MAX_DEPTH = 32
JSON_MAX_BYTES = 64 * 1024


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests (a scalar is 0, ``[]``/``{}`` 1), without recursing."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


class BoundedJSONField(serializers.JSONField):
    """JSON nested at most ``max_depth`` levels and at most ``max_bytes`` once serialized;
    ``object_only`` requires an object, ``from_text`` also takes it as JSON text (a multipart field)."""

    def __init__(
        self,
        *,
        object_only: bool = False,
        from_text: bool = False,
        max_depth: int = JSON_MAX_DEPTH,
        max_bytes: int = JSON_MAX_BYTES,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.object_only, self.from_text = object_only, from_text
        self.max_depth, self.max_bytes = max_depth, max_bytes

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and self.from_text:
            if len(data) > self.max_bytes:
                raise serializers.ValidationError(f"At most {self.max_bytes} bytes of JSON.")
            try:
                data = json.loads(data)
            except (ValueError, RecursionError) as exc:
                raise serializers.ValidationError("Must be a JSON object.") from exc
        if self.object_only and not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        if json_depth(data) > self.max_depth:
            raise serializers.ValidationError(f"JSON may nest at most {self.max_depth} levels.")
        if len(json.dumps(data, separators=(",", ":")).encode()) > self.max_bytes:
            raise serializers.ValidationError(f"At most {self.max_bytes} bytes of JSON.")
        return super().to_internal_value(data)


class StrictFieldsMixin:
    """Rejects fields the serializer does not accept, so a typo is a 400 instead of silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = set(data) - writable
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in sorted(unknown)})
        return super().to_internal_value(data)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="snake_case error code, e.g. invalid_input, not_found.")
    message = serializers.CharField()
    details = serializers.DictField(help_text="For invalid input: the fields and what is wrong with them.")


class ErrorSerializer(serializers.Serializer):
    """The one error shape of every non-2xx answer."""

    error = ErrorDetailSerializer()
