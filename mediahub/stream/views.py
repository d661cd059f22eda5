from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request

from mediahub.api.views import ApiView
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
            OpenApiParameter("types", str, description="Comma-separated event types (`task.*`, `*` allowed)"),
            OpenApiParameter("media", OpenApiTypes.UUID, description="Only events about this media"),
            OpenApiParameter(
                "Last-Event-ID",
                str,
                location=OpenApiParameter.HEADER,
                description="Resume after this event (also `?last_event_id=`)",
            ),
        ],
        responses={(200, "text/event-stream"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        filters = service.parse_filters(request.query_params.get("types"), request.query_params.get("media"))
        last_event_id = request.headers.get("Last-Event-ID") or request.query_params.get("last_event_id")
        after = service.resume_point(request.user, last_event_id)
        response = StreamingHttpResponse(
            service.open_stream(request.user, filters, after), content_type="text/event-stream"
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
        return response
