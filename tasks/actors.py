"""The one Dramatiq actor (and queue) of each registered task type; its message is a doorbell."""

from __future__ import annotations

import dramatiq
from django.conf import settings

from tasks import registry
from tasks.dispatch import actor_name
from tasks.engine import process_queue
from tasks.types import TaskType


def get_actor(type_name: str) -> dramatiq.Actor:
    return dramatiq.get_broker().get_actor(actor_name(type_name))


def _declare(task_type: TaskType) -> None:
    type_name = task_type.name

    def process(*_doorbell: object) -> None:
        process_queue(type_name)

    dramatiq.actor(
        actor_name=actor_name(type_name),
        queue_name=task_type.queue,
        # The message is only a doorbell: the engine's own retry logic counts, never the broker's.
        max_retries=0,
        # Per-task timeouts are enforced by the engine; this only bounds one claim loop.
        time_limit=(settings.TASK_MAX_TIMEOUT_SECONDS + settings.TASK_CLAIM_LOOP_SECONDS + 60) * 1000,
    )(process)


registry.on_register(_declare)
