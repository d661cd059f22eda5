from rest_framework import serializers

from mediahub.api.serializers import BoundedJSONField, StrictFieldsMixin
from mediahub.plugins.services import TRIGGER_EVENTS


class PluginSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    media_types = serializers.ListField(child=serializers.CharField())
    config_schema = serializers.JSONField()
    secret_fields = serializers.ListField(child=serializers.CharField())
    run_on = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    config = serializers.JSONField(help_text='Secret fields are shown as "********".')


class PluginListSerializer(serializers.Serializer):
    plugins = PluginSerializer(many=True)


class PluginConfigWriteSerializer(StrictFieldsMixin, serializers.Serializer):
    enabled = serializers.BooleanField()
    config = BoundedJSONField(object_only=True, required=False, default=dict)
    run_on = serializers.ListField(
        child=serializers.ChoiceField(choices=TRIGGER_EVENTS), required=False, allow_null=True
    )


class PluginExecuteSerializer(StrictFieldsMixin, serializers.Serializer):
    media_id = serializers.UUIDField()
    config = BoundedJSONField(object_only=True, required=False)
