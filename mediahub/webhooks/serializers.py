from rest_framework import serializers

from mediahub.api.serializers import StrictFieldsMixin
from mediahub.events.outbox import EVENT_TYPES
from mediahub.outbound import OutboundRefused, check_url
from mediahub.webhooks.models import Delivery, DeliveryAttempt, Endpoint

ALL_EVENTS = "*"


class EndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "events",
            "description",
            "active",
            "created_at",
            "disabled_reason",
            "last_success_at",
            "consecutive_failures",
        ]
        read_only_fields = fields


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(help_text="The signing secret (whsec_…); shown only in this response.")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]


class EndpointWriteSerializer(StrictFieldsMixin, serializers.Serializer):
    """What POST (url and events required) and PATCH (any subset) may set."""

    url = serializers.CharField(max_length=2000)
    events = serializers.ListField(child=serializers.CharField(max_length=64), allow_empty=False)
    description = serializers.CharField(max_length=500, allow_blank=True, required=False)
    active = serializers.BooleanField(required=False)

    def validate_url(self, url: str) -> str:
        try:
            check_url(url)
        except OutboundRefused as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return url

    def validate_events(self, events: list[str]) -> list[str]:
        if ALL_EVENTS in events:
            if len(events) > 1:
                raise serializers.ValidationError('"*" subscribes to every event and stands alone.')
            return events
        unknown = sorted(set(events) - set(EVENT_TYPES))
        if unknown:
            raise serializers.ValidationError(f"Unknown event types: {', '.join(unknown)}.")
        return sorted(set(events), key=EVENT_TYPES.index)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "started_at", "response_status", "duration_ms", "error", "response_body"]


class DeliverySerializer(serializers.ModelSerializer):
    event_type = serializers.CharField(source="event.type")
    attempts = DeliveryAttemptSerializer(many=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "attempt",
            "status",
            "response_status",
            "duration_ms",
            "error",
            "created_at",
            "next_attempt_at",
            "attempts",
        ]
        read_only_fields = fields
