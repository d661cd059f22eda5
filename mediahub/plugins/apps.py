from django.apps import AppConfig


class PluginsConfig(AppConfig):
    name = "mediahub.plugins"
    label = "plugins"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mediahub.media import playback
        from mediahub.plugins import tasktypes  # noqa: F401 - registers PluginExecution
        from mediahub.plugins.builtins.transcription import caption_tracks

        playback.register_subtitle_source(caption_tracks)
