"""The base class of task types: what a type declares and the hooks the engine calls."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from django.db.models import Model

    from tasks.context import TaskContext
    from tasks.models import Task
    from tenants.models import Tenant


class TaskType(ABC):
    """Subclass, fill in the class attributes and ``run``, and decorate with
    ``@tasks.registry.register``.

    ``max_concurrency`` (cluster-wide running tasks of this type) and ``max_per_tenant`` (running
    tasks of one tenant) are the type's defaults; ``settings.TASK_TYPE_LIMITS`` overrides them.
    ``None`` means unlimited.

    ``batch_size`` > 1 lets the engine claim up to that many runnable tasks of the type in one
    transaction and hand them to ``run_batch`` at once (e.g. one model call for many inputs).
    """

    name: ClassVar[str]
    queue: ClassVar[str]
    payload_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    default_timeout_seconds: ClassVar[int] = 600
    default_max_retries: ClassVar[int] = 3
    max_concurrency: ClassVar[int | None] = None
    max_per_tenant: ClassVar[int | None] = None
    batch_size: ClassVar[int] = 1

    def media_for(self, tenant: Tenant, payload: dict[str, Any]) -> Model | None:
        """The object (a media) this task works on, found from the schema-valid ``payload`` and
        row-locked: ``create_task`` calls it in its transaction, stores it as ``task.media`` and
        hands it to ``validate_payload``. The engine itself knows no media; a media domain's types
        inherit this from ``mediahub.media.tasktypes.MediaTaskType``."""
        return None

    def validate_payload(self, tenant: Tenant, payload: dict[str, Any], media: Any) -> None:
        """Checks beyond the JSON schema, with what ``media_for`` found (e.g. it exists, it is a
        video). Raise ``mediahub.errors.Invalid({"payload": {"field": ["..."]}})``."""

    @abstractmethod
    def run(self, ctx: TaskContext) -> dict[str, Any] | None:
        """Do the work; the returned dict becomes the task's ``result``."""

    def run_batch(self, ctxs: list[TaskContext]) -> list[dict[str, Any] | None | Exception]:
        """Run claimed tasks together; one outcome per ctx, in order: a result (as ``run`` returns)
        or an ``Exception`` instance, recorded exactly as if ``run`` had raised it for that task.

        The default runs each task's ``run`` in turn. An override that does one thing for the whole
        batch should still call ``ctx.check_cancelled()`` where it can: cancel, timeout and heartbeat
        are per task (a task cancelled meanwhile keeps its cancel, whatever the outcome).
        """
        outcomes: list[dict[str, Any] | None | Exception] = []
        for ctx in ctxs:
            ctx.in_run = True
            try:
                ctx.check_cancelled()  # it may have been stopped while waiting for its turn
                outcomes.append(self.run(ctx))
            except Exception as exc:
                outcomes.append(exc)
            finally:
                ctx.in_run = False
        return outcomes

    # Called inside the transaction of the terminal state change.
    def on_completed(self, task: Task) -> None:
        pass

    def on_failed(self, task: Task) -> None:
        pass

    def on_cancelled(self, task: Task) -> None:
        pass
