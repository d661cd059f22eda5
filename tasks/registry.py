"""Registered task types, by name. A leaf: it imports no other part of the engine.

``tasks/actors.py`` declares each type's Dramatiq actor (and queue) through ``on_register``.
"""

from __future__ import annotations

from collections.abc import Callable

from tasks.types import TaskType

_types: dict[str, TaskType] = {}
_listeners: list[Callable[[TaskType], None]] = []


def register(cls: type[TaskType]) -> type[TaskType]:
    """Class decorator: register a task type (and so declare its actor, see ``tasks.actors``)."""
    if cls.name in _types:
        raise ValueError(f"task type {cls.name!r} is already registered")
    task_type = _types[cls.name] = cls()
    for listener in _listeners:
        listener(task_type)
    return cls


def on_register(listener: Callable[[TaskType], None]) -> None:
    """Call ``listener(task_type)`` for every type registered so far and every one to come."""
    _listeners.append(listener)
    for task_type in list(_types.values()):
        listener(task_type)


def get_type(name: str) -> TaskType:
    """The registered type called ``name``; ``KeyError`` if there is none."""
    return _types[name]


def find_type(name: str) -> TaskType | None:
    return _types.get(name)


def type_names() -> list[str]:
    return sorted(_types)
