from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

# Deeper than any list a client pages through; keeps OFFSET within what PostgreSQL takes.
MAX_OFFSET = 1_000_000_000


def _integer_param(request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationError({name: ["A valid integer is required."]}) from None


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
        # Out-of-range values are clamped rather than rejected (limit=0 or 1000 → 1 or 100); what is
        # not an integer at all is a 400, as the schema says.
        limit = _integer_param(request, self.limit_query_param)
        return self.default_limit if limit is None else max(1, min(limit, self.max_limit))

    def get_offset(self, request) -> int:
        offset = _integer_param(request, self.offset_query_param)
        if offset is not None and not 0 <= offset <= MAX_OFFSET:
            raise ValidationError({self.offset_query_param: [f"Must be between 0 and {MAX_OFFSET}."]})
        return offset or 0

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.limit_query_param,
                "required": False,
                "in": "query",
                "description": f"Items per page (default {self.default_limit}; below 1 or above "
                f"{self.max_limit} is clamped).",
                "schema": {"type": "integer"},
            },
            {
                "name": self.offset_query_param,
                "required": False,
                "in": "query",
                "description": "Items to skip (default 0).",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
            },
        ]

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
