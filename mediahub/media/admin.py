from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html, format_html_join

from mediahub.media import playback, services, storage
from mediahub.media.models import DirectUpload, Media


@admin.register(Media)
class MediaAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "tenant",
        "type",
        "status",
        "size",
        "dimensions",
        "duration",
        "embedding_status",
        "created_at",
    ]
    list_filter = ["status", "type", "tenant"]
    list_select_related = ["tenant", "embedding"]
    search_fields = ["id", "title", "filename", "sha256"]
    ordering = ["-created_at"]
    readonly_fields = [
        "id",
        "tenant",
        "type",
        "status",
        "filename",
        "content_type",
        "size_bytes",
        "sha256",
        "duration_seconds",
        "width",
        "height",
        "probe_summary",
        "renditions",
        "original_key",
        "poster_key",
        "error",
        "created_at",
        "updated_at",
    ]
    fields = ["title", "description", "metadata", *readonly_fields]  # what a PATCH may change
    actions = ["delete_with_storage"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # media arrive through the API

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        # The stock bulk delete would leave stored objects and open tasks behind.
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request: HttpRequest, media: Media, form, change: bool) -> None:
        # Through the API's service, not a bare save: a change emits media.updated, and search
        # embeds the media again, exactly as after a PATCH.
        data = form.cleaned_data
        services.update_media(
            media=Media.objects.get(pk=media.pk),
            title=data["title"],
            description=data["description"],
            metadata=data["metadata"],
        )

    def delete_model(self, request: HttpRequest, media: Media) -> None:
        services.delete_media(media=media)

    @admin.action(description="Delete selected media and their stored files")
    def delete_with_storage(self, request: HttpRequest, queryset: QuerySet) -> None:
        for media in queryset:
            services.delete_media(media=media)
        self.message_user(request, f"Deleted {len(queryset)} media.")

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        media = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if media is not None and media.hls:  # playable from the first rendition on
            base = playback.base_url(request)
            extra_context["hls_master_url"] = playback.master_url(media, base)
            if media.poster_key:
                extra_context["poster_url"] = storage.get_store().url(
                    media.poster_key, base_url=base, ttl=settings.PLAYBACK_URL_TTL_SECONDS
                )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="media", ordering="title")
    def display_name(self, media: Media) -> str:
        return str(media)

    @admin.display(description="embedding", ordering="embedding__status")
    def embedding_status(self, media: Media) -> str:
        # The row mediahub.search keeps for the media (a reverse relation: no import).
        state = getattr(media, "embedding", None)
        return state.status if state is not None else "none"

    @admin.display(description="size", ordering="size_bytes")
    def size(self, media: Media) -> str:
        return filesizeformat(media.size_bytes)

    @admin.display(description="dimensions")
    def dimensions(self, media: Media) -> str:
        return f"{media.width}×{media.height}" if media.width and media.height else "–"

    @admin.display(description="duration", ordering="duration_seconds")
    def duration(self, media: Media) -> str:
        return f"{media.duration_seconds:.1f} s" if media.duration_seconds else "–"

    @admin.display(description="probe")
    def probe_summary(self, media: Media) -> str:
        probe = media.probe or {}
        streams = format_html_join(
            "",
            "<li>#{} {} {} {}</li>",
            (
                (
                    s.get("index"),
                    s.get("type"),
                    s.get("codec"),
                    f"{s['width']}×{s['height']}" if s.get("width") else f"{s.get('channels') or ''} ch",
                )
                for s in probe.get("streams", [])
            ),
        )
        bitrate = f"{probe['bit_rate'] // 1000} kbit/s" if probe.get("bit_rate") else "–"
        return format_html("{} · {}<ul>{}</ul>", probe.get("format", "–"), bitrate, streams)

    @admin.display(description="HLS renditions")
    def renditions(self, media: Media) -> str:
        if not media.hls:
            return "–"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}×{}</td><td>{} kbit/s</td><td>{}</td></tr>",
            (
                (
                    r["name"],
                    r.get("width") or "–",
                    r.get("height") or "–",
                    r["bandwidth"] // 1000,
                    r["codecs"],
                )
                for r in media.hls["renditions"]
            ),
        )
        return format_html("<table>{}</table>", rows)


@admin.register(DirectUpload)
class DirectUploadAdmin(admin.ModelAdmin):
    list_display = ["id", "tenant", "filename", "size_bytes", "created_at", "expires_at", "completed_at"]
    list_filter = ["tenant"]
    readonly_fields = [f.name for f in DirectUpload._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
