import logging
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mediahub.api.serializers import ErrorSerializer
from mediahub.api.views import ApiView, TenantScopedAPIView, TenantScopedViewSet
from mediahub.errors import Conflict, NotFound, Unavailable
from mediahub.media import playback, services, storage
from mediahub.media.authentication import PlaybackGrant, PlaybackTokenAuthentication
from mediahub.media.filters import MediaFilter
from mediahub.media.models import DirectUpload, Media
from mediahub.media.serializers import (
    DirectUploadCompleteSerializer,
    DirectUploadCreateSerializer,
    DirectUploadSerializer,
    DuplicateMediaSerializer,
    MediaSerializer,
    MediaUpdateSerializer,
    MediaUploadSerializer,
    with_represented_rows,
)
from mediahub.media.uploads import HashingUploadHandler
from tenants.authentication import ApiKeyAuthentication

logger = logging.getLogger(__name__)

UUID_PATTERN = "[0-9a-fA-F-]{36}"
PLAYBACK_AUTHENTICATION = [ApiKeyAuthentication, PlaybackTokenAuthentication]
TOKEN_PARAMETER = OpenApiParameter("token", str, description="Playback token instead of the header.")


def ingested_response(ingested: services.Ingested, request: Request) -> Response:
    body = {
        **MediaSerializer(ingested.media, context={"request": request}).data,
        "duplicate": ingested.duplicate,
    }
    return Response(body, status=status.HTTP_200_OK if ingested.duplicate else status.HTTP_201_CREATED)


class StorageErrorsMixin(APIView):
    """A storage outage is answered ``503`` with ``Retry-After`` (API.md), not as a server bug."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, BotoCoreError | ClientError):
            logger.warning("storage unavailable in %s: %s", type(self).__name__, exc)
            exc = Unavailable(
                "Storage is unavailable; try again shortly.", details={"down": ["storage"]}, retry_after=5
            )
        return super().handle_exception(exc)


class MediaCollectionView(StorageErrorsMixin, mixins.ListModelMixin, TenantScopedAPIView):
    """The tenant's media: list them, or upload a file as a multipart form."""

    # An upload streams through these to a temporary file, hashed on the way and stopped at the
    # tenant's size limit; only the multipart parser reads the body.
    queryset = with_represented_rows(Media.objects.all())
    serializer_class = MediaSerializer
    filterset_class = MediaFilter
    list_key = "media"
    parser_classes = [MultiPartParser]
    upload_handler_classes = [HashingUploadHandler]

    def initial(self, request: Request, *args, **kwargs) -> None:
        # Set before anything reads the body (idempotency fingerprints it). The limits are read
        # lazily: the tenant is known only once authentication has run.
        request._request.upload_handlers = [
            handler(lambda: services.upload_limits(tenant=self.tenant))
            for handler in self.upload_handler_classes
        ]
        super().initial(request, *args, **kwargs)

    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        request=MediaUploadSerializer, responses={201: MediaSerializer, 200: DuplicateMediaSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = MediaUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        ingested = services.ingest_file(
            tenant=self.tenant,
            path=Path(upload.temporary_file_path()),
            fields=_media_fields(upload.name, data),
            sha256=upload.sha256,
            size_bytes=upload.size,
        )
        return ingested_response(ingested, request)


def _media_fields(filename: str, data: dict[str, Any]) -> services.MediaFields:
    return services.MediaFields(
        filename, data["title"], data["description"], data["metadata"], data["auto_transcode"]
    )


class MediaViewSet(StorageErrorsMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """One media: read, change or delete it."""

    queryset = with_represented_rows(Media.objects.all())
    serializer_class = MediaSerializer
    lookup_value_regex = UUID_PATTERN

    @extend_schema(request=MediaUpdateSerializer, responses=MediaSerializer)
    def partial_update(self, request: Request, pk=None) -> Response:
        serializer = MediaUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.update_media(media=self.get_object(), **serializer.validated_data)
        # Read again: subscribers of media.updated (search) changed related rows meanwhile.
        return Response(MediaSerializer(self.get_object(), context={"request": request}).data)

    def destroy(self, request: Request, pk=None) -> Response:
        services.delete_media(media=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# The playlists of a media without a playable rendition yet (an image, a video still in transcoding).
NOT_PLAYABLE = {409: OpenApiResponse(ErrorSerializer, "The media has no HLS stream yet (`media_not_ready`).")}
PLAYLIST_RESPONSES: dict[Any, Any] = {(200, playback.PLAYLIST_CONTENT_TYPE): OpenApiTypes.STR, **NOT_PLAYABLE}
CAPTIONS_RESPONSES: dict[Any, Any] = {(200, "text/vtt"): OpenApiTypes.STR, **NOT_PLAYABLE}


class MediaPlaybackViewSet(StorageErrorsMixin, TenantScopedViewSet):
    """A media's original (download, with the API key) and HLS playlists (with the API key or a
    playback token, ``?token=``, which reaches only the media it was made for)."""

    queryset = Media.objects.all()
    lookup_value_regex = UUID_PATTERN
    authentication_classes = PLAYBACK_AUTHENTICATION

    def get_queryset(self):
        queryset = super().get_queryset()
        if isinstance(self.request.auth, PlaybackGrant):
            queryset = queryset.filter(id=self.request.auth.media_id)
        return queryset

    @extend_schema(responses={302: None})
    @action(detail=True, methods=["get"], authentication_classes=[ApiKeyAuthentication])
    def download(self, request: Request, pk=None) -> HttpResponseRedirect:
        media = self.get_object()
        url = storage.get_store().url(
            media.original_key,
            base_url=playback.base_url(request),
            ttl=settings.PLAYBACK_URL_TTL_SECONDS,
            download_name=media.filename,
            content_type=media.content_type,  # detected from the content, never from the name
        )
        return HttpResponseRedirect(url)

    @extend_schema(parameters=[TOKEN_PARAMETER], responses=PLAYLIST_RESPONSES)
    @action(detail=True, methods=["get"], url_path="hls/master.m3u8")
    def hls_master(self, request: Request, pk=None) -> HttpResponse:
        media = self._playable_media()
        token = request.auth.token if isinstance(request.auth, PlaybackGrant) else playback.make_token(media)
        return _playlist_response(request, playback.playable_master(media, playback.base_url(request), token))

    @extend_schema(parameters=[TOKEN_PARAMETER], responses=PLAYLIST_RESPONSES)
    @action(detail=True, methods=["get"], url_path=r"hls/(?P<rendition>[A-Za-z0-9_-]{1,32})/index.m3u8")
    def hls_variant(self, request: Request, pk=None, rendition: str = "") -> HttpResponse:
        media = self._playable_media()
        found = playback.find_rendition(media, rendition)
        if found is None:
            raise NotFound("This media has no such rendition.")
        text = playback.playable_variant(media, found, playback.base_url(request))
        return _playlist_response(request, text)

    @extend_schema(parameters=[TOKEN_PARAMETER], responses=PLAYLIST_RESPONSES)
    @action(detail=True, methods=["get"], url_path=r"hls/subtitles/(?P<track>[A-Za-z0-9_-]{1,64}).m3u8")
    def hls_subtitles(self, request: Request, pk=None, track: str = "") -> HttpResponse:
        media = self._playable_media()
        token = request.auth.token if isinstance(request.auth, PlaybackGrant) else playback.make_token(media)
        track_ = self._subtitle_track(media, track)
        return _playlist_response(
            request, playback.playable_subtitles(media, track_, playback.base_url(request), token)
        )

    @extend_schema(parameters=[TOKEN_PARAMETER], responses=CAPTIONS_RESPONSES)
    @action(detail=True, methods=["get"], url_path=r"hls/subtitles/(?P<track>[A-Za-z0-9_-]{1,64}).vtt")
    def hls_captions(self, request: Request, pk=None, track: str = "") -> HttpResponse:
        media = self._playable_media()
        captions = playback.playable_captions(media, self._subtitle_track(media, track))
        return _playlist_response(request, captions, "text/vtt; charset=utf-8")

    def _subtitle_track(self, media: Media, name: str) -> playback.SubtitleTrack:
        found = next((t for t in playback.subtitle_tracks(media) if t.name == name), None)
        if found is None:
            raise NotFound("This media has no such subtitle track.")
        return found

    def _playable_media(self) -> Media:
        media = self.get_object()
        if not media.hls:  # playable from the first rendition on (fast start), not only once ready
            raise Conflict(f"The media is {media.status}; it has no HLS stream yet.", code="media_not_ready")
        return media


def _playlist_response(
    request: Request, text: str, content_type: str = playback.PLAYLIST_CONTENT_TYPE
) -> HttpResponse:
    response = HttpResponse(text, content_type=content_type)
    response["Cache-Control"] = "private, max-age=60"
    # The links inside are signed; players on other origins (hls.js) may fetch them.
    return playback.with_playback_cors(request, response)


class DirectUploadView(StorageErrorsMixin, ApiView):
    @extend_schema(request=DirectUploadCreateSerializer, responses={201: DirectUploadSerializer})
    def post(self, request: Request) -> Response:
        serializer = DirectUploadCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ticket = services.start_direct_upload(
            tenant=self.tenant,
            fields=_media_fields(data["filename"], data),
            size_bytes=data["size_bytes"],
            content_type=data["content_type"],
            base_url=playback.base_url(request),
        )
        body = {"upload_id": ticket.upload.id, "expires_at": ticket.upload.expires_at}
        if ticket.url:
            body["url"] = ticket.url
        else:
            body["part_size"] = ticket.upload.part_size
            body["parts"] = [{"part_number": p.part_number, "url": p.url} for p in ticket.parts]
        return Response(DirectUploadSerializer(body).data, status=status.HTTP_201_CREATED)


class DirectUploadCompleteView(StorageErrorsMixin, TenantScopedAPIView):
    queryset = DirectUpload.objects.all()
    lookup_url_kwarg = "upload_id"

    @extend_schema(
        request=DirectUploadCompleteSerializer,
        responses={201: MediaSerializer, 200: DuplicateMediaSerializer},
    )
    def post(self, request: Request, upload_id=None) -> Response:
        serializer = DirectUploadCompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ingested = services.complete_direct_upload(
            upload=self.get_object(), parts=serializer.validated_data["parts"]
        )
        return ingested_response(ingested, request)
