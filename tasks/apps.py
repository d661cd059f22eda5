from importlib import import_module

from django.apps import AppConfig
from django.conf import settings


class TasksConfig(AppConfig):
    name = "tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mediahub.metrics import SCRAPE_REGISTRY
        from tasks import actors  # noqa: F401 - declares an actor for each type, now and when registered
        from tasks.metrics import TaskCollector

        for module in settings.TASK_TYPE_MODULES:
            import_module(module)
        SCRAPE_REGISTRY.register(TaskCollector())
