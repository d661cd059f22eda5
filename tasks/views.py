from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from mediahub.api.views import TenantScopedViewSet
from tasks import eta, selectors, services
from tasks.models import Batch, Task
from tasks.serializers import (
    BatchCreatedSerializer,
    BatchSerializer,
    TaskCreateSerializer,
    TaskSerializer,
    TaskStatsQuerySerializer,
    TaskStatsSerializer,
    TaskWithEtaSerializer,
)

UUID_PATTERN = "[0-9a-fA-F-]{36}"
MAX_BATCH_SIZE = 500


INCLUDE_PARAMETER = OpenApiParameter(
    "include",
    str,
    enum=["eta"],
    description="`eta`: add eta_seconds, queue_position, estimated_start_seconds",
)


@extend_schema_view(
    list=extend_schema(parameters=[INCLUDE_PARAMETER]),
    retrieve=extend_schema(responses=TaskWithEtaSerializer),
)
class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    queryset = Task.objects.all()
    serializer_class = TaskSerializer
    filterset_class = selectors.TaskFilter
    list_key = "tasks"
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self):
        return selectors.tasks_for_api(queryset=super().get_queryset())

    def get_serializer_class(self):
        if self.action == "retrieve" or (self.action == "list" and self._include_eta()):
            return TaskWithEtaSerializer
        return TaskSerializer

    def get_serializer(self, instance=None, *args, **kwargs):
        if instance is not None and self.get_serializer_class() is TaskWithEtaSerializer:
            eta.annotate(list(instance) if isinstance(instance, list | tuple) else [instance])
        return super().get_serializer(instance, *args, **kwargs)

    def _include_eta(self) -> bool:
        include = self.request.query_params.get("include")
        if include not in (None, "eta"):
            raise serializers.ValidationError({"include": ['The only value is "eta".']})
        return include == "eta"

    @extend_schema(request=TaskCreateSerializer, responses={201: TaskSerializer})
    def create(self, request: Request) -> Response:
        body = TaskCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        task = services.create_task(
            tenant=self.tenant, type_name=data.pop("type"), payload=data.pop("payload"), **data
        )
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk=None) -> Response:
        services.delete_task(task=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        task = services.cancel_task(task=self.get_object(), reason="Cancelled by the API.")
        return Response(TaskSerializer(task).data)

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk=None) -> Response:
        return Response(TaskSerializer(services.retry_task(task=self.get_object())).data)

    @extend_schema(request=TaskCreateSerializer(many=True), responses={201: BatchCreatedSerializer})
    @action(detail=False, methods=["post"])
    def batch(self, request: Request) -> Response:
        if not isinstance(request.data, list) or not 0 < len(request.data) <= MAX_BATCH_SIZE:
            raise serializers.ValidationError(
                {"tasks": [f"Send a JSON array of 1 to {MAX_BATCH_SIZE} task bodies."]}
            )
        bodies = TaskCreateSerializer(data=request.data, many=True)
        if not bodies.is_valid():
            errors = {str(i): error for i, error in enumerate(bodies.errors) if error}
            raise serializers.ValidationError({"tasks": errors})
        batch, tasks = services.create_batch(tenant=self.tenant, specs=bodies.validated_data)
        body = {"batch": str(batch.pk), "tasks": TaskSerializer(tasks, many=True).data}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[TaskStatsQuerySerializer], responses=TaskStatsSerializer)
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def stats(self, request: Request) -> Response:
        # A plain dict: DRF reads a form-like QueryDict's "?type=" as "not given".
        query = TaskStatsQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        stats = selectors.task_stats(
            tenant=self.tenant,
            type_name=params.get("type"),
            start_date=params.get("start_date"),
            end_date=params.get("end_date"),
        )
        return Response(TaskStatsSerializer(stats).data)


class BatchViewSet(TenantScopedViewSet):
    queryset = Batch.objects.all()
    serializer_class = BatchSerializer
    lookup_value_regex = UUID_PATTERN

    def retrieve(self, request: Request, pk=None) -> Response:
        return Response(BatchSerializer(selectors.batch_summary(batch=self.get_object())).data)
