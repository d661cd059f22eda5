"""``/api/v1``: each app contributes its routes; schema and Swagger UI live here."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from mediahub.api.docs import SwaggerUIView

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SwaggerUIView.as_view(url_name="schema"), name="docs"),
    path("", include("tenants.urls")),
    path("", include("mediahub.imports.urls")),
    path("", include("mediahub.transcoding.urls")),
    path("", include("mediahub.media.urls")),
    path("", include("mediahub.search.urls")),
    path("", include("mediahub.images.urls")),
    path("", include("mediahub.webhooks.urls")),
    path("", include("tasks.urls")),
    path("", include("mediahub.presets.urls")),
    path("", include("mediahub.stream.urls")),
    path("", include("mediahub.plugins.urls")),
]
