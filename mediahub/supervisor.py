"""Keeps the processes of ``manage.py up`` running, as systemd or Kubernetes do in production.

A program (gunicorn, a worker group, the scheduler) that exits while nobody asked it to is started
again after a backoff that doubles with each crash of that program in the last minute; the others
keep running meanwhile (the API answers while a worker group restarts). Too many crashes in a minute
means something is broken for good (a bad configuration, a dead database): then ``run`` raises
``TooManyCrashes`` and the caller stops everything.
"""

from __future__ import annotations

import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mediahub import services

CRASH_LIMIT = 5
CRASH_WINDOW_SECONDS = 60.0
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 15.0
POLL_SECONDS = 0.2


class TooManyCrashes(Exception):
    pass


@dataclass
class Program:
    name: str
    argv: Sequence[str]
    env: dict[str, str] | None = None
    process: subprocess.Popen | None = None
    restart_at: float | None = None  # set while the program waits out its backoff
    crashes: deque[float] = field(default_factory=deque)

    def start(self) -> None:
        self.process = services.spawn(self.argv, env=self.env)
        self.restart_at = None

    @property
    def started(self) -> subprocess.Popen:
        """The process of a program that has been started."""
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.process


class Supervisor:
    def __init__(
        self,
        programs: Sequence[Program],
        log: Callable[[str], None],
        crash_limit: int = CRASH_LIMIT,
        window_seconds: float = CRASH_WINDOW_SECONDS,
    ):
        self.programs = list(programs)
        self.log = log
        self.crash_limit = crash_limit
        self.window_seconds = window_seconds
        self.crashes: deque[float] = deque()  # every program's, for the limit

    def start(self) -> None:
        for program in self.programs:
            program.start()

    def processes(self) -> list[subprocess.Popen]:
        return [p.process for p in self.programs if p.process is not None]

    def run(self) -> None:
        """Supervise until interrupted (``KeyboardInterrupt`` from a signal handler) or until too
        many crashes (``TooManyCrashes``)."""
        while True:
            self.check()
            time.sleep(POLL_SECONDS)

    def check(self) -> None:
        """Notice exited programs and start the ones whose backoff is over."""
        now = time.monotonic()
        for program in self.programs:
            if program.restart_at is None and program.started.poll() is not None:
                self._crashed(program, now)
            elif program.restart_at is not None and now >= program.restart_at:
                program.start()
                self.log(f"{program.name} restarted (pid {program.started.pid}).")

    def _crashed(self, program: Program, now: float) -> None:
        for crashes in (self.crashes, program.crashes):
            crashes.append(now)
            while crashes[0] < now - self.window_seconds:
                crashes.popleft()
        status = program.started.returncode
        if len(self.crashes) >= self.crash_limit:
            raise TooManyCrashes(
                f"{len(self.crashes)} crashes within {self.window_seconds:.0f} s (the last: {program.name} "
                f"exited with status {status}); something is broken beyond a restart, see the log above"
            )
        delay = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (len(program.crashes) - 1))
        program.restart_at = now + delay
        self.log(
            f"{program.name} exited unexpectedly with status {status}; restarting it in {delay:.1f} s "
            f"({len(program.crashes)} crash(es) of it in the last {self.window_seconds:.0f} s)."
        )
