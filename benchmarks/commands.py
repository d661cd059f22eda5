"""FFmpegCommand: the ``mp4-720p`` preset through the API against the same ffmpeg command run bare,
and the cost of the fence (argument checks) and the jail (rlimits, network namespace, Landlock).

    .venv/bin/python benchmarks/commands.py [--runs 3] [--seconds 60]

A 1920×1080 30 fps testsrc2 clip with audio is uploaded (no transcode); each run posts
``{"type": "FFmpegCommand", "payload": {"preset": "mp4-720p", ...}}`` to the real API (gunicorn)
with a real worker process on ``ffmpeg_commands``, and times POST → ``completed`` (the output stored
and ingested as a new media). The floor is the exact ffmpeg command line the worker builds, run
bare (no jail) on a local copy. Runs alternate bare / API; figures are medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests
from media_harness import setup_django, start_api, start_worker, stop, upload


def make_source(path: Path, seconds: int) -> Path:
    from django.conf import settings

    argv = [settings.FFMPEG_BINARY, "-v", "error", "-y"]
    argv += ["-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=30:d={seconds}"]
    argv += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000"]
    argv += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", "-pix_fmt", "yuv420p"]
    argv += ["-c:a", "aac", "-b:a", "192k", "-ac", "2", str(path)]
    subprocess.run(argv, check=True)
    return path


def bare_seconds(tenant, payload: dict, source: Path, folder: Path) -> float:
    """The worker's own ffmpeg command line (fence-checked plan, media input fence), without the jail."""
    from mediahub.commands.planning import plan_command
    from mediahub.commands.runner import build_argv

    plan = plan_command(tenant=tenant, payload=payload)
    folder.mkdir()
    (folder / plan.files.inputs[0]).symlink_to(source)
    argv = build_argv(plan, folder)
    started = time.perf_counter()
    subprocess.run(argv, check=True, cwd=folder, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started


def api_seconds(base: str, key: str, payload: dict) -> tuple[float, dict]:
    headers = {"Authorization": f"Bearer {key}"}
    started = time.perf_counter()
    response = requests.post(
        f"{base}/api/v1/tasks",
        json={"type": "FFmpegCommand", "payload": payload},
        headers=headers,
        timeout=30,
    )
    response.raise_for_status()
    task_id = response.json()["id"]
    while True:
        task = requests.get(f"{base}/api/v1/tasks/{task_id}", headers=headers, timeout=10).json()
        if task["status"] == "completed":
            return time.perf_counter() - started, task
        if task["status"] in ("failed", "cancelled"):
            raise RuntimeError(f"the command {task['status']}: {task['error']}")
        time.sleep(0.05)


def fence_ms(tenant, payload: dict, repeat: int = 200) -> tuple[float, float]:
    """Median ms of the pure argument checks (wildcards + fence) and of the whole payload
    validation a POST /tasks runs (preset and media lookups included)."""
    from mediahub.commands.fence import check_command
    from mediahub.commands.planning import plan_command
    from mediahub.commands.wildcards import expand, split_command

    plan = plan_command(tenant=tenant, payload=payload)
    template = split_command(plan.preset.command)
    pure, whole = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        expanded = expand(template, plan.files, plan.preset.params)
        check_command(expanded.argv, plan.files.inputs, plan.files.output)
        pure.append(time.perf_counter() - started)
        started = time.perf_counter()
        plan_command(tenant=tenant, payload=payload)
        whole.append(time.perf_counter() - started)
    return statistics.median(pure) * 1000, statistics.median(whole) * 1000


def jail_ms(folder: Path, repeat: int = 15) -> tuple[float, float]:
    """Median ms of starting ``ffmpeg -version`` bare and through the jail."""
    from django.conf import settings

    from mediahub.commands import sandbox

    limits = sandbox.Limits(
        cpu_seconds=60, file_size_bytes=10**9, address_space_bytes=8 * 1024**3, open_files=256
    )
    argv = [settings.FFMPEG_BINARY, "-hide_banner", "-version"]
    runs = {"bare": [], "jail": []}
    for _ in range(repeat):
        for name, command in (("bare", argv), ("jail", sandbox.jailed(argv, folder, limits))):
            started = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=folder)
            runs[name].append(time.perf_counter() - started)
    return statistics.median(runs["bare"]) * 1000, statistics.median(runs["jail"]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()

    setup_django()
    from mediahub.commands import sandbox
    from tenants.services import create_tenant

    tenant, issued = create_tenant(name="Commands benchmark")
    api, base = start_api()
    worker = start_worker("ffmpeg_commands")
    bare, through_api, inside = [], [], []
    try:
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            source = make_source(folder / "source.mp4", args.seconds)
            media = upload(base, issued.key, source, auto_transcode="false")
            payload = {"preset": "mp4-720p", "input_media_id": media["id"]}
            # Warm-up: the worker is up once a tiny command completed.
            api_seconds(
                base, issued.key, {"command": "-f lavfi -i sine=d=0.1 ${OUTPUT_FILE}", "output_name": "w.wav"}
            )
            for run in range(args.runs):
                bare.append(bare_seconds(tenant, payload, source, folder / f"bare-{run}"))
                total, task = api_seconds(base, issued.key, {**payload, "output_name": f"run-{run}.mp4"})
                through_api.append(total)
                inside.append(task["result"]["seconds"]["ffmpeg"])
                steps = ", ".join(f"{k} {v:.2f} s" for k, v in task["result"]["seconds"].items())
                print(f"run {run + 1}: bare ffmpeg {bare[-1]:.2f} s, API POST→completed {total:.2f} s "
                      f"({steps}), ratio {total / bare[-1]:.3f}", flush=True)  # fmt: skip
            pure, whole = fence_ms(tenant, payload)
            bare_start, jail_start = jail_ms(folder)
    finally:
        stop(worker)
        stop(api)
    ratios = [a / b for a, b in zip(through_api, bare, strict=True)]
    print(
        f"median bare ffmpeg {statistics.median(bare):.2f} s; median API POST→completed "
        f"{statistics.median(through_api):.2f} s; median ratio {statistics.median(ratios):.3f} (goal ≤ 1.10)"
    )
    print(
        f"median jailed ffmpeg inside the task {statistics.median(inside):.2f} s "
        f"(×{statistics.median(inside) / statistics.median(bare):.3f} of bare)"
    )
    print(
        f"fence: {pure:.2f} ms per command (wildcards + argument checks); whole payload validation "
        f"{whole:.2f} ms (preset and media lookups included)"
    )
    print(f"jail: ffmpeg -version {bare_start:.0f} ms bare, {jail_start:.0f} ms jailed "
          f"(+{jail_start - bare_start:.0f} ms per task); kernel: {sandbox.capabilities()}")  # fmt: skip


if __name__ == "__main__":
    main()
