from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from mediahub.api import idempotency
from mediahub.api.views import ApiView, TenantScopedViewSet
from tenants import services
from tenants.models import ApiKey
from tenants.serializers import (
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    IssuedApiKeySerializer,
    TenantSerializer,
    TenantUpdateSerializer,
)


class TenantView(ApiView):
    required_scopes = {"PATCH": "admin"}

    @extend_schema(responses=TenantSerializer)
    def get(self, request: Request) -> Response:
        return Response(TenantSerializer(self.tenant).data)

    @extend_schema(request=TenantUpdateSerializer, responses=TenantSerializer)
    def patch(self, request: Request) -> Response:
        serializer = TenantUpdateSerializer(data=request.data, context={"tenant": self.tenant})
        serializer.is_valid(raise_exception=True)
        tenant = services.update_tenant_settings(
            tenant=self.tenant, changes=serializer.validated_data["settings"]
        )
        return Response(TenantSerializer(tenant).data)


class ApiKeyViewSet(mixins.ListModelMixin, TenantScopedViewSet):
    queryset = ApiKey.objects.all()
    serializer_class = ApiKeySerializer
    list_key = "api_keys"
    required_scopes = {"POST": "admin", "DELETE": "admin"}

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: IssuedApiKeySerializer})
    def create(self, request: Request) -> Response:
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        issued = services.issue_api_key(
            tenant=self.tenant, name=data["name"], scopes=data["scopes"], expires_at=data.get("expires_at")
        )
        body = {**ApiKeySerializer(issued.api_key).data, "key": issued.key}
        return idempotency.shown_once(Response(body, status=status.HTTP_201_CREATED))

    def destroy(self, request: Request, pk=None) -> Response:
        services.revoke_api_key(api_key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
