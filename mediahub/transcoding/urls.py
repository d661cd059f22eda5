from django.urls import path

from mediahub.transcoding.views import RenditionRerunView

urlpatterns = [
    path(
        "media/<uuid:media_id>/renditions/<str:name>/rerun",
        RenditionRerunView.as_view(),
        name="media-rendition-rerun",
    )
]
