from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from mediahub.api.views import ApiView
from mediahub.search.search import SearchFilters, search_media
from mediahub.search.serializers import SearchParamsSerializer, SearchResponseSerializer, metadata_filters


class SearchView(ApiView):
    @extend_schema(
        parameters=[
            SearchParamsSerializer,
            OpenApiParameter(
                "metadata[key]", str, description="Only media whose metadata `key` has this value."
            ),
        ],
        responses=SearchResponseSerializer,
    )
    def get(self, request: Request) -> Response:
        # A plain dict: DRF reads a form-like QueryDict's "?status=" as "not given".
        params = SearchParamsSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        data = params.validated_data
        filters = SearchFilters(
            type=data.get("type"),
            status=data.get("status"),
            created_after=data.get("created_after"),
            created_before=data.get("created_before"),
            metadata=metadata_filters(request.query_params),
        )
        page = search_media(
            tenant=self.tenant, query=data["q"], filters=filters, limit=data["limit"], offset=data["offset"]
        )
        body = {"results": page.hits, "total": page.total, "limit": data["limit"], "offset": data["offset"]}
        return Response(SearchResponseSerializer(body, context={"request": request}).data)
