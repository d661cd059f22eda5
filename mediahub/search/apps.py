from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "mediahub.search"
    label = "search"

    def ready(self) -> None:
        from mediahub.events.outbox import subscribe
        from mediahub.search import services, tasktypes  # noqa: F401 - registers EmbeddingGeneration

        # Embedding follows the media's life without mediahub.media knowing of search.
        subscribe("media.created", services.on_media_created)
        subscribe("media.updated", services.on_media_updated)
