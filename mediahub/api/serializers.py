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
