from django.apps import AppConfig


class CommandsConfig(AppConfig):
    name = "mediahub.commands"
    label = "commands"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mediahub.commands import tasktypes  # noqa: F401 - registers FFmpegCommand
        from mediahub.commands.presets import check_command_preset
        from mediahub.presets.checks import register_check

        register_check("command", check_command_preset)
