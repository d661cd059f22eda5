from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from mediahub.api import idempotency
from mediahub.api.views import TenantScopedViewSet
from mediahub.webhooks import services
from mediahub.webhooks.filters import DeliveryFilter
from mediahub.webhooks.models import Delivery, Endpoint
from mediahub.webhooks.serializers import (
    DeliverySerializer,
    EndpointSerializer,
    EndpointWithSecretSerializer,
    EndpointWriteSerializer,
)


class WebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    queryset = Endpoint.objects.all()
    serializer_class = EndpointSerializer
    list_key = "webhooks"
    required_scope = "admin"

    @extend_schema(request=EndpointWriteSerializer, responses={201: EndpointWithSecretSerializer})
    def create(self, request: Request) -> Response:
        serializer = EndpointWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint, secret = services.create_endpoint(
            tenant=self.tenant,
            url=data["url"],
            events=data["events"],
            description=data.get("description", ""),
        )
        return idempotency.shown_once(
            Response(_with_secret(endpoint, secret), status=status.HTTP_201_CREATED)
        )

    @extend_schema(request=EndpointWriteSerializer, responses=EndpointSerializer)
    def partial_update(self, request: Request, pk=None) -> Response:
        serializer = EndpointWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = services.update_endpoint(endpoint=self.get_object(), **serializer.validated_data)
        return Response(EndpointSerializer(endpoint).data)

    def destroy(self, request: Request, pk=None) -> Response:
        self.get_object().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=EndpointWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk=None) -> Response:
        endpoint, secret = services.rotate_secret(endpoint=self.get_object())
        return idempotency.shown_once(Response(_with_secret(endpoint, secret)))

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk=None) -> Response:
        endpoint = self.get_object()
        delivery = services.send_test_event(endpoint=endpoint, data=EndpointSerializer(endpoint).data)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


def _with_secret(endpoint: Endpoint, secret: str) -> dict:
    return {**EndpointSerializer(endpoint).data, "secret": secret}


@extend_schema(parameters=[OpenApiParameter("endpoint_id", str, OpenApiParameter.PATH)])
class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """The delivery log of one endpoint, newest first."""

    queryset = Delivery.objects.select_related("event", "endpoint").prefetch_related("attempts")
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    list_key = "deliveries"
    required_scope = "admin"

    def get_queryset(self):
        endpoint = get_object_or_404(Endpoint.objects.for_tenant(self.tenant), pk=self.kwargs["endpoint_id"])
        return super().get_queryset().filter(endpoint=endpoint)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, endpoint_id=None, pk=None) -> Response:
        delivery = services.redeliver(delivery=self.get_object())
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
