from django.urls import path
from rest_framework.routers import SimpleRouter

from mediahub.media import local_files
from mediahub.media.views import DirectUploadCompleteView, DirectUploadView, MediaViewSet

router = SimpleRouter(trailing_slash=False)
router.register("media", MediaViewSet, basename="media")

urlpatterns = [
    path("media/uploads", DirectUploadView.as_view(), name="media-upload"),
    path(
        "media/uploads/<uuid:upload_id>/complete",
        DirectUploadCompleteView.as_view(),
        name="media-upload-complete",
    ),
    path("files/<str:token>/<str:name>", local_files.local_file, name="local-file"),
    *router.urls,
]
