import uuid
from collections.abc import Iterator

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request

from mediahub.api.errors import error_response, http_status
from mediahub.api.serializers import ErrorSerializer
from mediahub.api.views import ApiView
from mediahub.errors import ApplicationError
from mediahub.media.models import Media
from mediahub.stream import service


class ErrorsAsJson(BaseContentNegotiation):
    """The stream itself is ``text/event-stream``; its errors are JSON whatever ``Accept`` says."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class EventStreamView(ApiView):
    content_negotiation_class = ErrorsAsJson

    @extend_schema(
        operation_id="events_stream",
        summary="The tenant's events as Server-Sent Events",
        parameters=[
            OpenApiParameter(
                "types",
                str,
                many=True,
                explode=False,
                enum=service.TYPE_FILTERS,
                description="Comma-separated event types (`task.*`, `*` allowed)",
            ),
            OpenApiParameter("media", OpenApiTypes.UUID, description="Only events about this media"),
            OpenApiParameter(
                "Last-Event-ID",
                # Empty is a fresh stream, as if the header were absent.
                {"type": "string", "anyOf": [{"format": "uuid"}, {"maxLength": 0}]},
                location=OpenApiParameter.HEADER,
                description="Resume after this event (also `?last_event_id=`)",
            ),
        ],
        responses={
            (200, "text/event-stream"): OpenApiTypes.STR,
            410: OpenApiResponse(ErrorSerializer, "The Last-Event-ID event is past the retention window."),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        filters = service.parse_filters(request.query_params.get("types"), request.query_params.get("media"))
        last_event_id = request.headers.get("Last-Event-ID") or request.query_params.get("last_event_id")
        after = service.resume_point(self.tenant, last_event_id)
        return event_stream_response(service.open_stream(self.tenant, filters, after))


def event_stream_response(frames: Iterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(frames, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


@staff_member_required
def media_events_for_staff(request: HttpRequest, media_id: uuid.UUID) -> HttpResponse:
    """The admin's media page follows its media live (``EventSource``, session auth): the tasks'
    progress and the media's own events. Same stream and caps as the API's, for that media's tenant."""
    if not request.user.has_perm("media.view_media"):
        return error_response("forbidden", "You may not view media.", 403)
    media = Media.objects.select_related("tenant").filter(pk=media_id).first()
    if media is None:
        return error_response("not_found", "Not found.", 404)
    try:
        frames = service.open_stream(media.tenant, service.Filters(media=str(media.pk)), None)
    except ApplicationError as exc:
        return error_response(exc.code, exc.message, http_status(exc), exc.details)
    return event_stream_response(frames)
