"""Task types for tests and benchmarks only (loaded via ``TASK_TYPE_MODULES`` or an import)."""

from __future__ import annotations

import threading
import time
from collections import Counter

from django.conf import settings

from mediahub.media.tasktypes import MediaTaskType
from tasks.errors import PermanentError, TaskError, TransientError
from tasks.registry import register
from tasks.types import TaskType


@register
class Echo(TaskType):
    """Returns its payload. ``sleep``: seconds, cancellable (only in the first attempt with
    ``sleep_once``); ``busy``: seconds that never check for cancellation; ``fail``: "permanent"
    fails at once, "transient" fails until ``retry_count`` reaches ``fail_times``."""

    name = "TestEcho"
    queue = "test_echo"
    payload_schema = {
        "type": "object",
        "properties": {
            "value": {"type": "integer"},
            "sleep": {"type": "number", "minimum": 0},
            "sleep_once": {"type": "boolean"},
            "busy": {"type": "number", "minimum": 0},
            "fail": {"enum": ["permanent", "transient"]},
            "fail_times": {"type": "integer"},
        },
        "required": ["value"],
        "additionalProperties": False,
    }
    default_timeout_seconds = 60
    default_max_retries = 3

    def run(self, ctx):
        sleep = ctx.payload.get("sleep", 0)
        if ctx.payload.get("sleep_once") and ctx.task.attempts.count() > 1:
            sleep = 0
        deadline = time.monotonic() + sleep
        while time.monotonic() < deadline:
            ctx.check_cancelled()
            time.sleep(0.05)
        busy_until = time.monotonic() + ctx.payload.get("busy", 0)
        while time.monotonic() < busy_until:  # work that never checks for cancellation
            time.sleep(0.01)
        fail = ctx.payload.get("fail")
        if fail == "permanent":
            raise PermanentError("bad input: this task never works")
        if fail == "transient" and ctx.task.retry_count < ctx.payload.get("fail_times", 1):
            raise TransientError(f"flaky (retry {ctx.task.retry_count})")
        return {"value": ctx.payload["value"]}


@register
class MediaProbe(MediaTaskType):
    """Accepts any ``media_id`` string (no checks of its own) and reports it."""

    name = "TestMediaProbe"
    queue = "test_media_probe"
    payload_schema = {"type": "object", "properties": {"media_id": {"type": "string"}}}

    def run(self, ctx):
        return {"media_id": ctx.payload.get("media_id")}


class ConcurrencyProbe:
    """Counts runs in flight, overall and per tenant, and keeps the peaks."""

    def __init__(self):
        self.lock = threading.Lock()
        self.now: Counter = Counter()
        self.peak: Counter = Counter()

    def reset(self):
        with self.lock:
            self.now.clear()
            self.peak.clear()

    def enter(self, tenant_id):
        with self.lock:
            for key in ("all", tenant_id):
                self.now[key] += 1
                self.peak[key] = max(self.peak[key], self.now[key])

    def leave(self, tenant_id):
        with self.lock:
            for key in ("all", tenant_id):
                self.now[key] -= 1


limited_probe = ConcurrencyProbe()


@register
class Limited(TaskType):
    """A short sleep under tight limits: at most 3 running, 2 per tenant."""

    name = "TestLimited"
    queue = "test_limited"
    max_concurrency = 3
    max_per_tenant = 2

    def run(self, ctx):
        limited_probe.enter(ctx.tenant.pk)
        try:
            time.sleep(0.1)
        finally:
            limited_probe.leave(ctx.tenant.pk)


@register
class LongFFmpeg(TaskType):
    """A real ffmpeg encode of ``seconds`` of a test pattern, reporting progress."""

    name = "TestLongFFmpeg"
    queue = "test_ffmpeg"
    payload_schema = {
        "type": "object",
        "properties": {"seconds": {"type": "number", "minimum": 1}},
        "required": ["seconds"],
    }
    default_timeout_seconds = 300

    def run(self, ctx):
        seconds = ctx.payload["seconds"]
        ctx.set_phase("running")

        def on_line(line: str) -> None:
            if line.startswith("out_time_us="):
                value = line.split("=", 1)[1]
                if value.isdigit():
                    ctx.set_progress(int(value) / 1e6 / seconds * 100)

        result = ctx.run_process(
            [
                settings.FFMPEG_BINARY,
                "-hide_banner",
                "-nostats",
                "-re",
                "-f",
                "lavfi",
                "-i",
                f"testsrc=size=320x240:rate=25:duration={seconds}",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-progress",
                "pipe:1",
                "-y",
                str(ctx.workdir / "out.mp4"),
            ],
            on_line=on_line,
        )
        if result.returncode != 0:
            raise PermanentError(f"ffmpeg failed: {result.stderr_tail}")
        return {"bytes": (ctx.workdir / "out.mp4").stat().st_size}


batch_calls: list[int] = []


@register
class BatchProbe(TaskType):
    """Runs its tasks together (``batch_size`` 4), polling each one's cancel and timeout while it
    waits out its ``sleep``; ``fail`` ends a task with that kind of error (an outcome, not a raise)."""

    name = "TestBatch"
    queue = "test_batch"
    batch_size = 4
    payload_schema = Echo.payload_schema

    def run(self, ctx):  # pragma: no cover - the engine calls run_batch
        raise AssertionError("run_batch runs this type")

    def run_batch(self, ctxs):
        batch_calls.append(len(ctxs))
        outcomes = [None] * len(ctxs)
        waiting = set(range(len(ctxs)))
        started = time.monotonic()
        while waiting:
            for i in sorted(waiting):
                ctx = ctxs[i]
                try:
                    ctx.check_cancelled()
                except TaskError as exc:
                    outcomes[i] = exc
                    waiting.discard(i)
                    continue
                if time.monotonic() - started >= ctx.payload.get("sleep", 0):
                    fail = ctx.payload.get("fail")
                    if fail == "permanent":
                        outcomes[i] = PermanentError("bad input: this task never works")
                    elif fail == "transient":
                        outcomes[i] = TransientError("flaky")
                    else:
                        outcomes[i] = {"value": ctx.payload["value"], "batch": len(ctxs)}
                    waiting.discard(i)
            time.sleep(0.02)
        return outcomes


capped_probe = ConcurrencyProbe()


@register
class Capped(TaskType):
    """Short tasks claimed 4 at a time under caps: at most 6 running, 2 per tenant; the default
    ``run_batch`` runs them one after the other."""

    name = "TestCapped"
    queue = "test_capped"
    batch_size = 4
    max_concurrency = 6
    max_per_tenant = 2

    def run(self, ctx):
        capped_probe.enter(ctx.tenant.pk)
        try:
            time.sleep(0.002)
        finally:
            capped_probe.leave(ctx.tenant.pk)


@register
class BatchedEcho(Echo):
    """``TestEcho`` claimed and run 20 at a time (the default ``run_batch``): short tasks, as
    embeddings or plugins have them."""

    name = "TestEchoBatched"
    queue = "test_echo_batched"
    batch_size = 20
