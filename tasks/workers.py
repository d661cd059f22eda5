"""The Dramatiq worker commands to start.

On one machine (``manage.py up``) every queue with a declared actor is served, but not by a command
of its own: each Dramatiq process loads all of Django (about 100 MB), and one command per queue
times one process per core would not fit a small machine once every media domain has its queue.
So there are at most two worker groups:

- the CPU-bound queues (``TASK_CPU_BOUND_QUEUES``, ffmpeg work): one single-threaded process per
  core (``TASK_CPU_WORKER_PROCESSES``), so encodes never fight each other for cores;
- every other queue: ``TASK_WORKER_PROCESSES`` x ``TASK_WORKER_THREADS`` (I/O-bound work and short
  tasks; threads are cheap).

A fleet scales queues separately instead: one command (systemd unit, Kubernetes Deployment) per
queue, with the same ``--processes``/``--threads`` rule (``worker_argv``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class WorkerGroup:
    queues: tuple[str, ...]
    processes: int
    threads: int

    @property
    def argv(self) -> list[str]:
        return worker_argv(self.queues, self.processes, self.threads)


def worker_groups() -> list[WorkerGroup]:
    """The worker commands of ``manage.py up``: CPU-bound queues, then all the others."""
    queues = sorted({actor.queue_name for actor in _declared_actors()})
    cpu_bound = tuple(q for q in queues if q in settings.TASK_CPU_BOUND_QUEUES)
    light = tuple(q for q in queues if q not in settings.TASK_CPU_BOUND_QUEUES)
    groups = []
    if cpu_bound:
        groups.append(WorkerGroup(cpu_bound, settings.TASK_CPU_WORKER_PROCESSES, 1))
    if light:
        groups.append(WorkerGroup(light, settings.TASK_WORKER_PROCESSES, settings.TASK_WORKER_THREADS))
    return groups


def worker_argv(queues: tuple[str, ...] | list[str], processes: int, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dramatiq",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
        "--queues",
        *queues,
        "--",
        "django_dramatiq.setup",
    ]


def _declared_actors():
    import dramatiq

    broker = dramatiq.get_broker()
    return [broker.get_actor(name) for name in broker.get_declared_actors()]
