import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.http import QueryDict
from rest_framework import serializers

# In a JSON body a field's value has the JSON type the schema gives it: DRF would also take "5" for
# an integer, 1 for a boolean or 7 for a string.
_JSON_TYPES: tuple[tuple[type[serializers.Field], type | tuple[type, ...], str], ...] = (
    (serializers.BooleanField, bool, "Must be true or false."),
    (serializers.IntegerField, int, "Must be an integer."),
    (serializers.FloatField, (int, float), "Must be a number."),
    (serializers.CharField, str, "Must be a string."),
)

# Free-form JSON a client sends (metadata, task payloads) is stored, indexed and sent out in every
# event: keep it small and shallow (deep nesting also exhausts recursion in encoders).
JSON_MAX_DEPTH = 32
JSON_MAX_BYTES = 64 * 1024


def json_shape(value: Any) -> tuple[int, bool]:
    """How deeply ``value`` nests (a scalar is 0, ``[]``/``{}`` 1), and whether a key or a string
    in it holds NUL (PostgreSQL's jsonb refuses it); without recursing."""
    deepest, nul, stack = 0, False, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            nul = nul or any("\x00" in key for key in item)
            children = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            nul = nul or (isinstance(item, str) and "\x00" in item)
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest, nul


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
        depth, nul = json_shape(data)
        if depth > self.max_depth:
            raise serializers.ValidationError(f"JSON may nest at most {self.max_depth} levels.")
        if nul:
            raise serializers.ValidationError("JSON keys and strings may not contain NUL (\\u0000).")
        if len(json.dumps(data, separators=(",", ":")).encode()) > self.max_bytes:
            raise serializers.ValidationError(f"At most {self.max_bytes} bytes of JSON.")
        return super().to_internal_value(data)


class StrictFieldsMixin:
    """Rejects fields the serializer does not accept, so a typo is a 400 instead of silently
    ignored, and (in JSON bodies) values of another JSON type than the field's."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = set(data) - writable
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in sorted(unknown)})
            if not isinstance(data, QueryDict):  # form fields are all text
                wrong = {
                    name: [message]
                    for name, value in data.items()
                    if (message := _type_error(self.fields[name], value))
                }
                if wrong:  # reported with the other fields' errors
                    try:
                        super().to_internal_value({k: v for k, v in data.items() if k not in wrong})
                    except serializers.ValidationError as exc:
                        raise serializers.ValidationError({**exc.detail, **wrong}) from None
                    raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


def _type_error(field: serializers.Field, value: object) -> str | None:
    if value is None:
        return None  # the field's own allow_null decides
    for kind, types, message in _JSON_TYPES:
        if isinstance(field, kind):
            wrong = not isinstance(value, types) or (
                kind is not serializers.BooleanField and isinstance(value, bool)
            )
            return message if wrong else None
    return None


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="snake_case error code, e.g. invalid_input, not_found.")
    message = serializers.CharField()
    details = serializers.DictField(help_text="For invalid input: the fields and what is wrong with them.")


class ErrorSerializer(serializers.Serializer):
    """The one error shape of every non-2xx answer."""

    error = ErrorDetailSerializer()
