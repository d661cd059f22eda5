from django.apps import AppConfig
from django.conf import settings


class WebhooksConfig(AppConfig):
    name = "mediahub.webhooks"
    label = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Declares the delivery actor in every process, so workers (and ``manage.py up``, which
        # starts one worker command per declared queue) know the ``webhooks`` queue.
        from mediahub.webhooks import actors  # noqa: F401
        from mediahub.webhooks.delivery import purge_old_events, sweep_deliveries
        from tasks.scheduler import register_periodic

        register_periodic("webhooks.sweep", settings.WEBHOOKS_SWEEP_INTERVAL_SECONDS, sweep_deliveries)
        register_periodic("webhooks.purge", 3600, purge_old_events)
