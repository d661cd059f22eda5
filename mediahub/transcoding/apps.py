from django.apps import AppConfig


class TranscodingConfig(AppConfig):
    name = "mediahub.transcoding"
    label = "transcoding"

    def ready(self) -> None:
        from mediahub.transcoding import rerun, tasktypes  # noqa: F401 - register their task types
