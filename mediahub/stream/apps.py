from django.apps import AppConfig


class StreamConfig(AppConfig):
    name = "mediahub.stream"
    label = "stream"

    def ready(self) -> None:
        from mediahub.events.outbox import ANY, subscribe_many
        from mediahub.stream.live import publish_on_commit

        subscribe_many(ANY, publish_on_commit)
