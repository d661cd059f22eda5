from django.contrib import admin
from django.utils.html import format_html

from mediahub.webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    """Endpoints with their health; secrets are never shown (they are encrypted anyway)."""

    list_display = ["url", "tenant", "health", "last_success_at", "consecutive_failures"]
    list_filter = ["active"]
    search_fields = ["url", "tenant__name"]
    exclude = ["secret_encrypted", "previous_secret_encrypted"]
    readonly_fields = [
        "tenant",
        "previous_secret_expires_at",
        "last_success_at",
        "consecutive_failures",
        "failing_since",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False  # an endpoint needs a secret, which the API issues

    @admin.display(description="health", ordering="consecutive_failures")
    def health(self, endpoint: Endpoint) -> str:
        """In words, not a tick: an active endpoint can still be failing every delivery."""
        if not endpoint.active:
            return format_html(
                '<span style="color:#ba2121">disabled</span>: {}', endpoint.disabled_reason or "-"
            )
        if endpoint.consecutive_failures:
            since = endpoint.failing_since.strftime("%Y-%m-%d %H:%M") if endpoint.failing_since else "?"
            return format_html(
                '<span style="color:#ba2121">failing</span>: {} in a row since {}',
                endpoint.consecutive_failures,
                since,
            )
        if endpoint.last_success_at is None:
            return "no delivery yet"
        return format_html('<span style="color:#447e36">{}</span>', "healthy")


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "started_at", "response_status", "duration_ms", "error", "response_body"]
    readonly_fields = fields  # type: ignore[assignment]
    extra = 0
    can_delete = False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "event_type", "endpoint", "status", "attempt", "response_status", "created_at"]
    list_filter = ["status", "event__type"]
    search_fields = ["id", "event__id", "endpoint__url"]
    list_select_related = ["event", "endpoint"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]

    @admin.display(ordering="event__type")
    def event_type(self, delivery: Delivery) -> str:
        return delivery.event.type

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["type", "tenant", "created_at", "id"]
    list_filter = ["type"]
    search_fields = ["id"]
    readonly_fields = ["id", "tenant", "type", "data", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False
