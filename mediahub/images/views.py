"""Transform views: with an API key, by signed URL (no header), signed-URL minting and the key."""

from __future__ import annotations

import time

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mediahub.api.serializers import ErrorSerializer
from mediahub.api.views import ApiView, TenantScopedAPIView
from mediahub.images import services, signing, urlsigning
from mediahub.images.serializers import (
    SigningKeySerializer,
    TransformUrlRequestSerializer,
    TransformUrlSerializer,
)
from mediahub.media import playback
from mediahub.media.models import Media
from mediahub.media.views import StorageErrorsMixin

YEAR = 31_536_000
PRIVATE_CACHE = "private, max-age=3600"
IMAGE_RESPONSES = {(200, "image/*"): OpenApiTypes.BINARY, 304: None}


class TransformViewMixin(StorageErrorsMixin):
    """Errors are JSON whatever image type the client accepts (``Accept: image/webp``...)."""

    def perform_content_negotiation(self, request: Request, force: bool = False):
        renderer = JSONRenderer()
        return renderer, renderer.media_type


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return "*" in candidates or etag in candidates


def serve(request: Request, transform: services.Transform, cache_control: str) -> HttpResponse:
    headers = {"ETag": transform.etag, "Cache-Control": cache_control}
    if transform.vary_accept:
        headers["Vary"] = "Accept"
    if _etag_matches(request.headers.get("If-None-Match"), transform.etag):
        return HttpResponse(status=304, headers=headers)
    rendered = services.render_transform(transform)
    headers["X-Transform-Cache"] = "hit" if rendered.cached else "miss"
    return HttpResponse(rendered.data, content_type=rendered.content_type, headers=headers)


class MediaTransformView(TransformViewMixin, TenantScopedAPIView):
    queryset = Media.objects.select_related("tenant")

    @extend_schema(
        summary="Transformed image (or video frame)",
        parameters=[
            OpenApiParameter("ops", str, OpenApiParameter.PATH, description="-/resize/500x300/-/format/webp")
        ],
        responses=IMAGE_RESPONSES,
    )
    def get(self, request: Request, pk=None, ops: str = "") -> HttpResponse:
        transform = services.plan(
            media=self.get_object(), ops_text=ops, accept=request.headers.get("Accept", "")
        )
        return serve(request, transform, PRIVATE_CACHE)


class TransformUrlView(TransformViewMixin, TenantScopedAPIView):
    queryset = Media.objects.select_related("tenant")
    # A signed URL grants no more than reading one transform of the media.
    required_scope = "read"

    @extend_schema(request=TransformUrlRequestSerializer, responses=TransformUrlSerializer)
    def post(self, request: Request, pk=None) -> Response:
        serializer = TransformUrlRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        signed = services.signed_url(
            media=self.get_object(),
            ops_text=data["ops"],
            expires_in=data.get("expires_in"),
            base_url=playback.base_url(request),
        )
        return Response(TransformUrlSerializer({"url": signed.url, "expires_at": signed.expires_at}).data)


class SignedTransformView(TransformViewMixin, APIView):
    """``/img/{key_id}/{signature}/{token}``: the signature is the only credential."""

    authentication_classes: list = []
    permission_classes: list = []
    # Only holders of the signing key can mint these URLs, renders are bounded by the gate, and
    # CDNs and pages fetch them at page-view rates: the per-tenant API budget does not apply.
    throttle_classes: list = []

    @extend_schema(
        summary="Transformed image by signed URL (no header)",
        parameters=[
            OpenApiParameter(name, str, OpenApiParameter.PATH, pattern=urlsigning.B64URL_PATTERN)
            for name in ("key_id", "sig", "token")
        ],
        # A tampered or expired URL is a 403; the errors of the media and the ops as for the API.
        responses={**IMAGE_RESPONSES, **{code: ErrorSerializer for code in (400, 403, 404, 503)}},
    )
    def get(self, request: Request, key_id: str, sig: str, token: str) -> HttpResponse:
        signed = services.resolve_signed(
            key_id=key_id, sig=sig, token=token, accept=request.headers.get("Accept", "")
        )
        max_age = YEAR if not signed.expires else max(0, min(YEAR, signed.expires - int(time.time())))
        response = serve(request, signed.transform, f"public, max-age={max_age}, immutable")
        return playback.with_playback_cors(request, response)


class SigningKeyView(ApiView):
    required_scope = "admin"

    @extend_schema(summary="The tenant's key for signing transform URLs", responses=SigningKeySerializer)
    def get(self, request: Request) -> Response:
        return Response(_key_body(signing.current_key(self.tenant)))


class SigningKeyRotateView(ApiView):
    required_scope = "admin"

    @extend_schema(
        summary="A new signing key (the previous one keeps working for 24 h)",
        request=None,
        responses=SigningKeySerializer,
    )
    def post(self, request: Request) -> Response:
        return Response(_key_body(signing.rotate_key(self.tenant)))


def _key_body(key) -> dict:
    return SigningKeySerializer(
        {"id": key.id, "secret": signing.key_secret(key), "created_at": key.created_at}
    ).data
