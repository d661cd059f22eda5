"""Registered task types and the one Dramatiq actor (and queue) of each."""

from __future__ import annotations

import dramatiq
from django.conf import settings

from tasks.types import TaskType

_types: dict[str, TaskType] = {}
_actors: dict[str, dramatiq.Actor] = {}


def register(cls: type[TaskType]) -> type[TaskType]:
    """Class decorator: register a task type and declare its actor on the current broker."""
    if cls.name in _types:
        raise ValueError(f"task type {cls.name!r} is already registered")
    _types[cls.name] = cls()
    _actors[cls.name] = _declare_actor(cls.name, cls.queue)
    return cls


def _declare_actor(type_name: str, queue: str) -> dramatiq.Actor:
    def process(*_doorbell) -> None:
        from tasks.engine import process_queue

        process_queue(type_name)

    return dramatiq.actor(
        process,
        actor_name=f"tasks.{type_name}",
        queue_name=queue,
        # The message is only a doorbell: the engine's own retry logic counts, never the broker's.
        max_retries=0,
        # Per-task timeouts are enforced by the engine; this only bounds one claim loop.
        time_limit=(settings.TASK_MAX_TIMEOUT_SECONDS + settings.TASK_CLAIM_LOOP_SECONDS + 60) * 1000,
    )


def get_type(name: str) -> TaskType:
    """The registered type called ``name``; ``KeyError`` if there is none."""
    return _types[name]


def find_type(name: str) -> TaskType | None:
    return _types.get(name)


def type_names() -> list[str]:
    return sorted(_types)


def get_actor(name: str) -> dramatiq.Actor:
    return _actors[name]
