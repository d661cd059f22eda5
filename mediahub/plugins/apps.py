from django.apps import AppConfig


class PluginsConfig(AppConfig):
    name = "mediahub.plugins"
    label = "plugins"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mediahub.events.outbox import subscribe
        from mediahub.media import playback
        from mediahub.plugins import services, tasktypes  # noqa: F401 - registers PluginExecution
        from mediahub.plugins.builtins.transcription import caption_tracks, transcript_text
        from mediahub.search.text import register_text_source

        for event_type in services.TRIGGER_EVENTS:
            subscribe(event_type, services.on_media_event)
        playback.register_subtitle_source(caption_tracks)
        register_text_source(transcript_text)
