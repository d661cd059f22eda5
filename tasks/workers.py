"""The Dramatiq worker processes to start: one ``dramatiq`` command per queue."""

from __future__ import annotations

import sys

from django.conf import settings


def worker_process_argvs() -> list[list[str]]:
    """The argv of each worker command (``manage.py up``, deploy units): every queue that has a
    declared actor gets its own command, CPU-bound queues (ffmpeg) one single-threaded process per
    core, the others ``TASK_WORKER_PROCESSES`` x ``TASK_WORKER_THREADS``."""
    queues = sorted({actor.queue_name for actor in _declared_actors()})
    argvs = []
    for queue in queues:
        if queue in settings.TASK_CPU_BOUND_QUEUES:
            processes, threads = settings.TASK_CPU_WORKER_PROCESSES, 1
        else:
            processes, threads = settings.TASK_WORKER_PROCESSES, settings.TASK_WORKER_THREADS
        argvs.append(
            [
                sys.executable,
                "-m",
                "dramatiq",
                "--processes",
                str(processes),
                "--threads",
                str(threads),
                "--queues",
                queue,
                "--",
                "django_dramatiq.setup",
            ]
        )
    return argvs


def _declared_actors():
    import dramatiq

    broker = dramatiq.get_broker()
    return [broker.get_actor(name) for name in broker.get_declared_actors()]
