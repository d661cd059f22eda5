"""drf-spectacular customisation so the published schema matches what the API sends."""

from drf_spectacular import openapi

from mediahub.api.serializers import ErrorSerializer

# Answers every authenticated endpoint can give, all in the error shape of API.md.
ERROR_RESPONSES = {
    "400": "Invalid input; `details` names the fields.",
    "401": "Missing, invalid, expired or revoked API key.",
    "403": "The API key lacks the scope.",
    "404": "No such object for this tenant.",
    "429": "Rate limited; retry after `Retry-After` seconds.",
}


class AutoSchema(openapi.AutoSchema):
    def _get_paginator(self):
        # Lists are wrapped under the view's ``list_key`` ("tasks", "media", ...); the paginator
        # needs the view to describe that key.
        paginator = super()._get_paginator()
        if paginator is not None:
            paginator.view = self.view
        return paginator

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if self.view.authentication_classes:  # not the health endpoints
            for code, description in ERROR_RESPONSES.items():
                if code not in responses:
                    error = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                    responses[code] = {**error, "description": description}
        return responses
