from collections.abc import Mapping

from rest_framework import serializers


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
