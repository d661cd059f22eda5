from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from mediahub.api.serializers import ErrorSerializer
from mediahub.api.views import ApiView
from mediahub.plugins import services
from mediahub.plugins.builtins.http import receive_callback
from mediahub.plugins.serializers import (
    PluginConfigWriteSerializer,
    PluginExecuteSerializer,
    PluginListSerializer,
    PluginSerializer,
)
from tasks.serializers import TaskSerializer


class PluginListView(ApiView):
    @extend_schema(responses=PluginListSerializer)
    def get(self, request: Request) -> Response:
        return Response({"plugins": services.plugin_listing(request.user)})


class PluginConfigView(ApiView):
    required_scope = "admin"

    @extend_schema(request=PluginConfigWriteSerializer, responses=PluginSerializer)
    def put(self, request: Request, name: str) -> Response:
        services.get_plugin(name)  # an unknown plugin is a 404 before its body is judged
        body = PluginConfigWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(services.configure(tenant=request.user, name=name, **body.validated_data))


class PluginExecuteView(ApiView):
    @extend_schema(request=PluginExecuteSerializer, responses={201: TaskSerializer})
    def post(self, request: Request, name: str) -> Response:
        services.get_plugin(name)
        body = PluginExecuteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        task = services.execute(tenant=request.user, name=name, **body.validated_data)
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


class HttpCallbackView(ApiView):
    """Where a tenant's service posts the result of a run it answered with ``202``; the signed
    token in the path is the only credential (the service holds no API key)."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    @extend_schema(
        request=dict,
        responses={
            200: inline_serializer("CallbackAccepted", {"status": serializers.CharField()}),
            # Unknown or expired token 404; a run that awaits no callback 409; the body as anywhere.
            **{code: ErrorSerializer for code in (400, 404, 409, 413, 415, 503)},
        },
    )
    def post(self, request: Request, token: str) -> Response:
        receive_callback(token, request.data)
        return Response({"status": "completed"})
