from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "mediahub.webhooks"
    label = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Declares the delivery actor in every process, so workers (and ``manage.py up``, which
        # starts one worker command per declared queue) know the ``webhooks`` queue.
        from mediahub.events.outbox import ANY, subscribe_many
        from mediahub.webhooks import actors  # noqa: F401
        from mediahub.webhooks.delivery import deliver_to_subscribers

        subscribe_many(ANY, deliver_to_subscribers)
