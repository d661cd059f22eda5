"""drf-spectacular customisation so the published schema matches what the API sends."""

from drf_spectacular import openapi


class AutoSchema(openapi.AutoSchema):
    def _get_paginator(self):
        # Lists are wrapped under the view's ``list_key`` ("tasks", "media", ...); the paginator
        # needs the view to describe that key.
        paginator = super()._get_paginator()
        if paginator is not None:
            paginator.view = self.view
        return paginator
