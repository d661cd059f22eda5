from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "mediahub.imports"
    label = "imports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mediahub.imports import tasktypes  # noqa: F401 - registers ImportMedia
