from importlib import import_module

from django.apps import AppConfig
from django.conf import settings


class TasksConfig(AppConfig):
    name = "tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mediahub.metrics import SCRAPE_REGISTRY
        from tasks import maintenance
        from tasks.metrics import TaskCollector
        from tasks.scheduler import register_periodic

        for module in settings.TASK_TYPE_MODULES:
            import_module(module)
        register_periodic("tasks.sweep", settings.TASK_SWEEP_INTERVAL_SECONDS, maintenance.sweep)
        register_periodic("tasks.reap", settings.TASK_REAP_INTERVAL_SECONDS, maintenance.reap)
        SCRAPE_REGISTRY.register(TaskCollector())
