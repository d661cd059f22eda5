from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from mediahub.api.views import TenantScopedAPIView
from mediahub.media.models import Media
from mediahub.transcoding.rerun import start_rerun
from tasks.serializers import TaskSerializer


class RenditionRerunView(TenantScopedAPIView):
    """``POST /media/{id}/renditions/{name}/rerun``: re-encode one rung; ``202`` with the task."""

    queryset = Media.objects.all()
    lookup_url_kwarg = "media_id"

    @extend_schema(request=None, responses={202: TaskSerializer})
    def post(self, request: Request, media_id=None, name: str = "") -> Response:
        task = start_rerun(media=self.get_object(), name=name)
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)
