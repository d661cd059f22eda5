"""``?token=`` playback tokens: read access to one media's HLS playlists without a header."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from mediahub.media import playback
from tenants.models import Tenant


@dataclass(frozen=True)
class PlaybackGrant:
    """``request.auth`` of a request authenticated by a playback token."""

    media_id: str
    token: str

    def has_scope(self, scope: str) -> bool:
        return scope == "read"


class PlaybackTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Tenant, PlaybackGrant] | None:
        token = request.query_params.get("token")
        if not token:
            return None
        claims = playback.read_token(token)
        tenant = Tenant.objects.filter(id=claims["t"]).first() if claims else None
        if tenant is None:
            raise exceptions.AuthenticationFailed("The playback token is invalid or has expired.")
        return tenant, PlaybackGrant(claims["m"], token)  # type: ignore[index]
