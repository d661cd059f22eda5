from collections.abc import Callable
from functools import partial

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django_dramatiq.models import Task as DramatiqMessage

from mediahub.errors import Conflict
from tasks import eta, services
from tasks.models import Batch, Task, TaskAttempt

# django-dramatiq's own "Tasks" list is empty here (its message-tracking middleware is off: the
# task rows below are the truth), and showing it beside ours only confuses.
if admin.site.is_registered(DramatiqMessage):
    admin.site.unregister(DramatiqMessage)


class TaskAttemptInline(admin.TabularInline):
    model = TaskAttempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "finished_at", "error"]
    readonly_fields = fields  # type: ignore[assignment]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = [
        "short_id", "type", "tenant", "status", "phase", "progress_percent", "priority", "media_link",
        "scheduled_at", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "type", "tenant"]
    list_select_related = ["tenant"]
    search_fields = ["id", "name"]
    ordering = ["-created_at"]
    inlines = [TaskAttemptInline]
    actions = ["cancel", "retry"]
    # Only priority and name are editable here; status changes go through the actions.
    exclude = ["rung_at"]  # shown in words by ``last_doorbell``
    readonly_fields = [
        "estimates",
        *(f.name for f in Task._meta.fields if f.name not in ("priority", "name", "rung_at")),
        "last_doorbell",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tasks are created through the API or by the code that needs them

    @admin.display(description="id", ordering="id")
    def short_id(self, task: Task) -> str:
        return format_html('<span title="{}">{}…</span>', task.pk, str(task.pk)[:8])

    @admin.display(description="media", ordering="media_id")
    def media_link(self, task: Task) -> str:
        if task.media_id is None:
            return "-"
        url = reverse("admin:media_media_change", args=[task.media_id])
        return format_html('<a href="{}" title="{}">{}…</a>', url, task.media_id, str(task.media_id)[:8])

    @admin.display(description="progress", ordering="progress")
    def progress_percent(self, task: Task) -> str:
        return f"{task.progress} %"

    @admin.display(description="estimates")
    def estimates(self, task: Task) -> str:
        eta.annotate([task])
        if task.eta_seconds is not None:  # type: ignore[attr-defined]
            return f"done in about {task.eta_seconds} s"  # type: ignore[attr-defined]
        if task.queue_position is not None:  # type: ignore[attr-defined]
            start = task.estimated_start_seconds  # type: ignore[attr-defined]
            when = f", starts in about {start} s" if start is not None else ""
            return f"number {task.queue_position} in the {task.type} queue{when}"  # type: ignore[attr-defined]
        if task.estimated_start_seconds is not None:  # type: ignore[attr-defined]
            return f"starts in about {task.estimated_start_seconds} s (scheduled)"  # type: ignore[attr-defined]
        return "-"

    @admin.display(description="last queue message sent")
    def last_doorbell(self, task: Task):
        # A message only says "a task of this type may be runnable"; the sweeper resends lost ones.
        return task.rung_at

    @admin.action(description="Cancel selected tasks")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        self._apply(request, queryset, partial(services.cancel_task, reason="Cancelled by an operator."))

    @admin.action(description="Retry selected tasks")
    def retry(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        self._apply(request, queryset, services.retry_task)

    def _apply(
        self, request: HttpRequest, queryset: QuerySet[Task], operation: Callable[..., object]
    ) -> None:
        done, skipped = 0, 0
        for task in queryset:
            try:
                operation(task=task)
                done += 1
            except Conflict:
                skipped += 1
        self.message_user(
            request,
            f"{done} done, {skipped} skipped (not in a state that allows it).",
            messages.SUCCESS if not skipped else messages.WARNING,
        )

    def delete_model(self, request: HttpRequest, task: Task) -> None:
        services.delete_task(task=task)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        for task in queryset:
            services.delete_task(task=task)


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["id", "tenant", "created_at", "finished_at"]
    list_filter = ["tenant"]
    readonly_fields = ["tenant", "created_at", "finished_at"]
