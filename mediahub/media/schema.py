"""How the OpenAPI schema describes playback tokens (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PlaybackTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mediahub.media.authentication.PlaybackTokenAuthentication"
    name = "PlaybackToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "query",
            "name": "token",
            "description": "Signed, short-lived playback token of one media (from `hls.master_url`).",
        }
