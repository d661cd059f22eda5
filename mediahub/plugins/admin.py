from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from mediahub.media import playback, storage
from mediahub.media.admin import MediaAdmin
from mediahub.plugins.base import plugin_prefix
from mediahub.plugins.models import PluginConfig, PluginResult
from mediahub.plugins.services import MASK

TRANSCRIPT_PREVIEW_CHARS = 3000


@admin.register(PluginConfig)
class PluginConfigAdmin(admin.ModelAdmin):
    """Tenants configure plugins through the API (validated against each schema); operators see
    the configs here and may switch a plugin off."""

    list_display = ["plugin", "tenant", "enabled", "run_on", "updated_at"]
    list_filter = ["plugin", "enabled", "tenant"]
    list_select_related = ["tenant"]
    fields = ["tenant", "plugin", "enabled", "run_on", "config", "secret_fields", "updated_at"]
    readonly_fields = ["tenant", "plugin", "run_on", "config", "secret_fields", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="secrets")
    def secret_fields(self, row: PluginConfig) -> str:
        return MASK if row.secrets else "–"


class PluginResultInline(admin.TabularInline):
    """The media's plugin results: the transcript, a storyboard preview, the loudness figures."""

    model = PluginResult
    fields = ["plugin", "status", "summary", "error", "updated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "plugin result"

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="result")
    def summary(self, row: PluginResult) -> str:
        result = row.result or {}
        if result.get("audio") is False:
            return "no audio"
        if row.plugin == "transcription" and row.status == "completed":
            text = result.get("text", "")
            cut = text[:TRANSCRIPT_PREVIEW_CHARS] + ("…" if len(text) > TRANSCRIPT_PREVIEW_CHARS else "")
            return format_html(
                '<div style="max-width: 60em; white-space: pre-wrap">{}</div>', cut or "(silence)"
            )
        if row.plugin == "storyboard" and row.status == "completed":
            key = plugin_prefix(row.tenant_id, row.media_id, row.plugin) + "sprite.jpg"
            url = storage.get_store().url(
                key, base_url=playback.base_url(None), ttl=settings.PLAYBACK_URL_TTL_SECONDS
            )
            return format_html(
                '<img src="{}" alt="storyboard" style="max-width: 60em"><br>{} thumbnails, one every {} s',
                url,
                result.get("thumbnails"),
                result.get("interval_seconds"),
            )
        if row.plugin == "loudness" and row.status == "completed":
            figures = [
                ("Integrated", result.get("integrated_lufs"), "LUFS"),
                ("Loudness range", result.get("loudness_range_lu"), "LU"),
                ("True peak", result.get("true_peak_dbfs"), "dBFS"),
            ]
            rows = format_html_join(
                "",
                "<tr><th>{}</th><td>{} {}</td></tr>",
                ((n, "–" if v is None else v, u) for n, v, u in figures),
            )
            return format_html("<table>{}</table>", rows)
        return format_html("<code>{}</code>", str(result)[:500]) if result else "–"


# Media know nothing of plugins; plugins add their results to the media's admin page.
MediaAdmin.inlines = [*MediaAdmin.inlines, PluginResultInline]
