from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from mediahub.errors import Conflict
from tasks import services
from tasks.models import Batch, Task, TaskAttempt


class TaskAttemptInline(admin.TabularInline):
    model = TaskAttempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "finished_at", "error"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "tenant", "status", "phase", "progress_percent", "priority", "created_at"]
    list_filter = ["status", "type", "tenant"]
    list_select_related = ["tenant"]
    search_fields = ["id", "name"]
    ordering = ["-created_at"]
    inlines = [TaskAttemptInline]
    actions = ["cancel", "retry"]
    # Only priority and name are editable here; status changes go through the actions.
    readonly_fields = [f.name for f in Task._meta.fields if f.name not in ("priority", "name")]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tasks are created through the API or by the code that needs them

    @admin.display(description="progress", ordering="progress")
    def progress_percent(self, task: Task) -> str:
        return f"{task.progress} %"

    @admin.action(description="Cancel selected tasks")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        self._apply(request, queryset, lambda task: services.cancel_task(task, "Cancelled by an operator."))

    @admin.action(description="Retry selected tasks")
    def retry(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        self._apply(request, queryset, services.retry_task)

    def _apply(self, request: HttpRequest, queryset: QuerySet[Task], operation) -> None:
        done, skipped = 0, 0
        for task in queryset:
            try:
                operation(task)
                done += 1
            except Conflict:
                skipped += 1
        self.message_user(
            request,
            f"{done} done, {skipped} skipped (not in a state that allows it).",
            messages.SUCCESS if not skipped else messages.WARNING,
        )

    def delete_model(self, request: HttpRequest, task: Task) -> None:
        services.delete_task(task)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        for task in queryset:
            services.delete_task(task)


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["id", "tenant", "created_at", "finished_at"]
    list_filter = ["tenant"]
    readonly_fields = ["tenant", "created_at", "finished_at"]
