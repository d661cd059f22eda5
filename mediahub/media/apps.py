from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "mediahub.media"
    label = "media"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mediahub.media import schema  # noqa: F401 - registers the OpenAPI playback token scheme
