"""Running a planned command: inputs staged in an empty folder, ffmpeg jailed there, its output
ingested as a new media of the tenant (typed, probed, ``derived_from`` its first input)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from mediahub.commands import sandbox
from mediahub.commands.planning import CommandPlan
from mediahub.errors import Invalid, TooLarge, Unsupported
from mediahub.media import ffmpeg_input, services, storage
from mediahub.media.uploads import file_sha256
from mediahub.transcoding.ffmpeg import ProgressTracker
from tasks.context import TaskContext
from tasks.errors import PermanentError, TransientError

# Share of the task's progress taken by ffmpeg; storing the output takes the rest.
RUN_PROGRESS_SHARE = 95.0
LIMIT_SIGNALS = {
    signal.SIGXCPU: "its CPU time limit",
    signal.SIGXFSZ: "its output size limit",
}


def build_argv(plan: CommandPlan, folder: Path) -> list[str]:
    """The ffmpeg command line: our global options, then the tenant's arguments with each staged
    input opened through the media input fence and the output limited to local files."""
    argv = list(plan.checked.argv)
    for spec in reversed(plan.checked.inputs):  # from the end, so earlier positions stay valid
        if spec.file_index is not None:
            media = plan.media[spec.file_index]
            path = folder / plan.files.inputs[spec.file_index]
            argv[spec.position : spec.position + 2] = ffmpeg_input.media_input_args(media.probe, path)
        else:
            argv[spec.position : spec.position] = ["-protocol_whitelist", "file,pipe"]
    output = len(argv) - (len(plan.checked.argv) - plan.checked.output_position)
    argv[output:output] = ["-protocol_whitelist", "file,pipe"]
    head = [settings.FFMPEG_BINARY, "-hide_banner", "-nostdin", "-y", "-nostats", "-progress", "pipe:1"]
    return head + argv


def limits_for(ctx: TaskContext) -> sandbox.Limits:
    return sandbox.Limits(
        cpu_seconds=ctx.task.timeout_seconds * (os.cpu_count() or 1),
        file_size_bytes=max(services.upload_limits(tenant=ctx.tenant).values()),
        address_space_bytes=settings.COMMAND_ADDRESS_SPACE_BYTES,
        open_files=settings.COMMAND_OPEN_FILES,
    )


def run_plan(ctx: TaskContext, plan: CommandPlan) -> dict[str, Any]:
    seconds: dict[str, float] = {}
    started = time.monotonic()
    ctx.set_phase("pre_processing")
    folder = ctx.workdir / "sandbox"
    folder.mkdir(mode=0o700)
    store = storage.get_store()
    for media, name in zip(plan.media, plan.files.inputs, strict=True):
        store.download_file(media.original_key, folder / name)
    seconds["fetch"] = round(time.monotonic() - started, 3)

    ctx.set_phase("running")
    started = time.monotonic()
    _run(ctx, plan, folder)
    seconds["ffmpeg"] = round(time.monotonic() - started, 3)

    ctx.set_phase("post_processing")
    started = time.monotonic()
    output = folder / plan.files.output
    if not output.is_file() or output.stat().st_size == 0:
        raise PermanentError("The command wrote no output to ${OUTPUT_FILE}.")
    try:
        ingested = services.ingest_file(
            tenant=ctx.tenant,
            path=output,
            fields=services.MediaFields(
                filename=plan.files.output_name, auto_transcode=bool(ctx.payload.get("auto_transcode", False))
            ),
            sha256=file_sha256(output),
            size_bytes=output.stat().st_size,
            derived_from=plan.media[0] if plan.media else None,
        )
    except (Invalid, TooLarge, Unsupported) as exc:  # not a media mediahub takes (type, size)
        raise PermanentError(f"The output cannot become a media: {exc.message}") from exc
    seconds["store"] = round(time.monotonic() - started, 3)
    ctx.set_progress(100)
    return {
        "media_id": str(ingested.media.id),
        "duplicate": ingested.duplicate,
        "output_name": plan.files.output_name,
        "preset": plan.preset.name if plan.preset else None,
        "sandbox": sandbox.capabilities(),
        "seconds": seconds,
    }


def _run(ctx: TaskContext, plan: CommandPlan, folder: Path) -> None:
    durations = [m.duration_seconds for m in plan.media if m.duration_seconds]
    duration = min(filter(None, [max(durations, default=None), plan.checked.duration_limit]), default=None)
    tracker = ProgressTracker(duration, lambda percent: ctx.set_progress(percent * RUN_PROGRESS_SHARE / 100))
    argv = sandbox.jailed(build_argv(plan, folder), folder, limits_for(ctx))
    result = ctx.run_process(argv, on_line=tracker, cwd=folder)
    if result.returncode < 0:
        limit = LIMIT_SIGNALS.get(-result.returncode)
        if limit:
            raise PermanentError(f"The command was stopped at {limit}.")
        raise TransientError(f"ffmpeg was killed by signal {-result.returncode}.")
    if result.returncode != 0:
        detail = result.stderr_tail.strip().splitlines()[-3:]
        raise PermanentError("ffmpeg failed: " + " / ".join(detail))
