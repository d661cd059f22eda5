"""Doorbells: the broker message only says "a task of this type may be runnable".

The actors are declared in ``tasks/actors.py``; a doorbell finds its actor on the broker by name."""

from __future__ import annotations

import logging
from functools import partial

import dramatiq
from django.db import transaction

logger = logging.getLogger(__name__)


def actor_name(type_name: str) -> str:
    return f"tasks.{type_name}"


def ring(type_name: str, delay_seconds: float | None = None) -> bool:
    """Send one doorbell to the type's queue. A failure is logged, not raised: the task row is
    the truth and the sweeper rings again later."""
    delay = int(delay_seconds * 1000) if delay_seconds else None
    try:
        dramatiq.get_broker().get_actor(actor_name(type_name)).send_with_options(delay=delay)
    except Exception:  # whatever the broker client raises, the sweeper recovers
        logger.warning("could not ring the %s queue; the sweeper will retry", type_name, exc_info=True)
        return False
    return True


def ring_on_commit(type_name: str, delay_seconds: float | None = None) -> None:
    """Ring once the current transaction commits; once per type and delay however many tasks the
    transaction makes runnable (the first worker to claim a full batch wakes the next)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        ring(type_name, delay_seconds)
        return
    # Django starts a new list of commit hooks after each commit or rollback: a set kept beside
    # the list is valid exactly as long as that list is.
    rung: set[tuple[str, float | None]]
    hooks, rung = getattr(connection, "_task_doorbells", (None, set()))
    if hooks is not connection.run_on_commit:
        rung = set()
        connection._task_doorbells = (connection.run_on_commit, rung)
    if (type_name, delay_seconds) not in rung:
        rung.add((type_name, delay_seconds))
        transaction.on_commit(partial(ring, type_name, delay_seconds))
