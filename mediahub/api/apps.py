from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "mediahub.api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mediahub.api.idempotency import purge_expired
        from tasks.scheduler import register_periodic

        register_periodic("api.purge_idempotency_records", 3600, purge_expired)
