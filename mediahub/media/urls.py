from django.urls import path
from rest_framework.routers import SimpleRouter

from mediahub.media import local_files
from mediahub.media.views import (
    DirectUploadCompleteView,
    DirectUploadView,
    MediaCollectionView,
    MediaPlaybackViewSet,
    MediaViewSet,
)

router = SimpleRouter(trailing_slash=False)
# One prefix, three views: the collection (list, upload), one media, its files and playlists.
router.register("media", MediaViewSet, basename="media")
router.register("media", MediaPlaybackViewSet, basename="media-playback")

urlpatterns = [
    path("media", MediaCollectionView.as_view(), name="media-list"),
    path("media/uploads", DirectUploadView.as_view(), name="media-upload"),
    path(
        "media/uploads/<uuid:upload_id>/complete",
        DirectUploadCompleteView.as_view(),
        name="media-upload-complete",
    ),
    path("files/<str:token>/<str:name>", local_files.local_file, name="local-file"),
    *router.urls,
]
