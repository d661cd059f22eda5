"""What a task type's ``run`` gets: its task, a work folder, progress reporting and a subprocess
runner that honours cancel and timeout."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.utils import timezone

from mediahub.stream import live
from tasks.errors import TaskError, TaskTimeout
from tasks.models import Task

logger = logging.getLogger(__name__)

# How often a running subprocess is checked for cancel/timeout; a stop lands within this plus the
# watcher's poll interval.
PROCESS_POLL_SECONDS = 0.1
PROGRESS_WRITE_INTERVAL_SECONDS = 1.0
STDERR_TAIL_LINES = 40


@dataclass(frozen=True)
class ProcessResult:
    returncode: int
    stderr_tail: str


class TaskContext:
    def __init__(self, task: Task, workdir_root: str | None = None):
        self.task = task
        self.tenant = task.tenant
        self.payload: dict[str, Any] = task.payload
        self._workdir_root = workdir_root
        self._workdir: Path | None = None
        self.deadline = time.monotonic() + task.timeout_seconds
        # True while the type's code runs for this task: only then may the engine interrupt the
        # thread for it (the default ``run_batch`` sets it around each ``run``).
        self.in_run = False
        # Set by the engine's watcher thread: the exception class that ends this attempt.
        self.stop_reason: type[TaskError] | None = None
        self.stop_requested_at: float | None = None
        self._progress = task.progress
        self._progress_written_at = 0.0

    @property
    def workdir(self) -> Path:
        """This attempt's own folder, created on first use; the engine removes it afterwards."""
        if self._workdir is None:
            prefix = f"mediahub-task-{self.task.pk}-"
            self._workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=self._workdir_root))
        return self._workdir

    def remove_workdir(self) -> None:
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def request_stop(self, reason: type[TaskError]) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
            self.stop_requested_at = time.monotonic()

    def check_cancelled(self) -> None:
        """Raise ``TaskCancelled`` (or the timeout / shutdown error) if this attempt must end."""
        if self.stop_reason is TaskTimeout or time.monotonic() > self.deadline:
            raise TaskTimeout(f"Timed out after {self.task.timeout_seconds} s.")
        if self.stop_reason is not None:
            raise self.stop_reason()

    def set_phase(self, phase: str) -> None:
        self.check_cancelled()
        self.task.phase = Task.Phase(phase)
        self._update(phase=self.task.phase)

    def set_progress(self, percent: float) -> None:
        """Record progress (0-100); written to the database at most about once a second."""
        self.check_cancelled()
        self._progress = max(0, min(100, int(percent)))
        now = time.monotonic()
        if self._progress != self.task.progress and now - self._progress_written_at >= (
            PROGRESS_WRITE_INTERVAL_SECONDS
        ):
            self._progress_written_at = now
            at = timezone.now()  # the tick's time, on the same beat as the write
            self.task.progress = self._progress
            if self._update(progress=self._progress):
                self._publish_progress(at)

    def _publish_progress(self, at: datetime) -> None:
        # Straight to the live channel, not the outbox: a tick a second per task would bloat the
        # events table, and the task row already holds the latest progress for anyone who missed it.
        task = self.task
        data = {
            "id": str(task.pk),
            "type": task.type,
            "status": task.status,
            "phase": task.phase,
            "progress": task.progress,
            "media": str(task.media_id) if task.media_id else None,
            "batch": str(task.batch_id) if task.batch_id else None,
        }
        live.publish(task.tenant_id, live.message("task.progress", data, at))

    def _update(self, **fields: Any) -> int:
        # Only while this attempt still owns the task (not after a cancel or a reap and re-claim).
        return Task.objects.filter(
            pk=self.task.pk, status=Task.Status.PROCESSING, started_at=self.task.started_at
        ).update(**fields)

    def run_process(
        self,
        argv: Sequence[str],
        on_line: Callable[[str], None] | None = None,
        cwd: str | Path | None = None,
    ) -> ProcessResult:
        """Run ``argv`` in its own process group, feeding each stdout line to ``on_line``.

        On cancel, timeout or worker shutdown the whole group (ffmpeg and any children) is killed
        and the matching exception raised. ``on_line`` runs in the calling thread.
        """
        self.check_cancelled()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd or self.workdir,
            start_new_session=True,
            text=True,
            errors="replace",
        )
        lines: queue.Queue[str | None] = queue.Queue()
        tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        readers = [
            threading.Thread(target=_pump, args=(proc.stdout, lines.put, True), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, tail.append, False), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            stdout_open = True
            while stdout_open or proc.poll() is None:
                self.check_cancelled()
                if stdout_open:
                    try:
                        line = lines.get(timeout=PROCESS_POLL_SECONDS)
                    except queue.Empty:
                        continue
                    if line is None:
                        stdout_open = False
                    elif on_line is not None:
                        on_line(line.rstrip("\n"))
                else:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=PROCESS_POLL_SECONDS)
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            for reader in readers:
                reader.join(timeout=2)
        return ProcessResult(returncode=proc.returncode, stderr_tail="".join(tail))


def _pump(stream: IO[str], sink: Callable[[Any], None], mark_end: bool) -> None:
    for line in stream:
        sink(line)
    stream.close()
    if mark_end:
        sink(None)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
