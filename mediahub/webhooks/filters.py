import django_filters

from mediahub.events.outbox import EVENT_TYPES
from mediahub.webhooks.models import Delivery


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Delivery.Status.choices)
    event_type = django_filters.ChoiceFilter(field_name="event__type", choices=[(t, t) for t in EVENT_TYPES])
    event_id = django_filters.UUIDFilter()

    class Meta:
        model = Delivery
        fields = ["status", "event_type", "event_id"]
