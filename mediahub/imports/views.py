from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from mediahub.api.views import ApiView
from mediahub.imports.serializers import ImportingMediaSerializer, MediaImportSerializer
from mediahub.imports.services import start_import
from mediahub.media.serializers import MediaSerializer


class MediaImportView(ApiView):
    """``POST /media/import``: ``202`` with the media in ``importing`` and its ``ImportMedia`` task."""

    @extend_schema(request=MediaImportSerializer, responses={202: ImportingMediaSerializer})
    def post(self, request: Request) -> Response:
        serializer = MediaImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        started = start_import(tenant=self.tenant, **serializer.validated_data)
        body = {**MediaSerializer(started.media, context={"request": request}).data, "task": started.task.id}
        return Response(body, status=status.HTTP_202_ACCEPTED)
