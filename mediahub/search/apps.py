from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "mediahub.search"
    label = "search"

    def ready(self) -> None:
        from mediahub.search import tasktypes  # noqa: F401 - registers EmbeddingGeneration
