from rest_framework import pagination
from rest_framework.response import Response


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """``{"<plural>": [...], "total", "limit", "offset"}``; the view names the plural
    (``list_key``)."""

    default_limit = 50
    max_limit = 100

    view = None

    def list_key(self) -> str:
        return getattr(self.view, "list_key", "results")

    def get_paginated_response(self, data) -> Response:
        return Response(
            {self.list_key(): data, "total": self.count, "limit": self.limit, "offset": self.offset}
        )

    def paginate_queryset(self, queryset, request, view=None):
        self.view = view
        return super().paginate_queryset(queryset, request, view)

    def get_limit(self, request) -> int:
        # Out-of-range values are clamped rather than rejected (limit=0 or 1000 → 1 or 100).
        limit = super().get_limit(request)
        return max(1, min(limit or self.default_limit, self.max_limit))

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": [self.list_key(), "total", "limit", "offset"],
            "properties": {
                self.list_key(): schema,
                "total": {"type": "integer"},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
            },
        }
