from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from mediahub.stream.views import media_events_for_staff

urlpatterns = [
    # Before the admin's own catch-all: its media page's live events (staff session).
    path("admin/live/media/<uuid:media_id>/events", media_events_for_staff, name="admin-media-events"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("mediahub.api.urls")),
    path("", include("mediahub.api.health_urls")),
    path("favicon.ico", RedirectView.as_view(url=static("mediahub/favicon.svg"), permanent=True)),
]

handler400 = "mediahub.api.handlers.bad_request"
handler403 = "mediahub.api.handlers.permission_denied"
handler404 = "mediahub.api.handlers.page_not_found"
handler500 = "mediahub.api.handlers.server_error"
