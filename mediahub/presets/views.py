from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from mediahub.api.views import TenantScopedViewSet
from mediahub.presets import services
from mediahub.presets.filters import PresetFilter
from mediahub.presets.models import Preset
from mediahub.presets.selectors import visible_presets
from mediahub.presets.serializers import PresetSerializer, PresetWriteSerializer


class PresetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """The tenant's presets and the read-only system presets."""

    queryset = Preset.objects.all()
    serializer_class = PresetSerializer
    list_key = "presets"
    filterset_class = PresetFilter  # an unknown or empty ?kind= is a 400

    def get_queryset(self):
        # Not TenantScopedMixin's filter: system presets (no tenant) are visible too.
        return visible_presets(tenant=self.tenant)

    @extend_schema(request=PresetWriteSerializer, responses={201: PresetSerializer})
    def create(self, request: Request) -> Response:
        fields = _validated(request.data)
        preset = services.create_preset(tenant=self.tenant, fields=fields)
        return Response(PresetSerializer(preset).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PresetWriteSerializer, responses=PresetSerializer)
    def partial_update(self, request: Request, pk=None) -> Response:
        preset = self.get_object()
        services.ensure_writable(preset)  # 403 before any complaint about the body
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected an object."]})
        fields = _validated({**services.writable_fields(preset), **request.data})
        preset = services.update_preset(preset=preset, fields=fields)
        return Response(PresetSerializer(preset).data)

    def destroy(self, request: Request, pk=None) -> Response:
        services.delete_preset(preset=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


def _validated(data) -> dict:
    serializer = PresetWriteSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
