from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PresetsConfig(AppConfig):
    name = "mediahub.presets"
    label = "presets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mediahub.presets.selectors import check_ladder_name
        from mediahub.presets.system import sync_system_presets
        from tenants.serializers import LADDER_NAME_CHECKS

        LADDER_NAME_CHECKS.append(check_ladder_name)

        # The built-in presets are defined in code; every migrate brings their rows up to date.
        post_migrate.connect(sync_system_presets, sender=self)
