"""``mediahub upload`` of 200 small files with ``--concurrency 8`` against mediahub as ``make run``
starts it (``manage.py up`` in a fresh temporary MEDIAHUB_DATA, see ``api_latency.py``).

Each run uploads a fresh folder (new content, so nothing is a duplicate) through the console
script as a subprocess. Prints files/s (wall clock of the whole command) and the client's CPU time
(user + system of the CLI process) per file, plus the CPU of a bare ``mediahub --help`` (start-up
cost) to tell the per-file cost from the fixed one. Medians over ``--runs``.

    .venv/bin/python benchmarks/cli_upload.py [--files 200] [--concurrency 8] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from api_latency import free_port, start_server, stop_server
from PIL import Image

CLI = [sys.executable, "-m", "mediahub.cli"]


def make_files(folder: Path, count: int, run: int) -> int:
    """Small PNGs (64x64, each a different colour): real media the server inspects and stores."""
    folder.mkdir(parents=True)
    total = 0
    for i in range(count):
        path = folder / f"img{i:04d}.png"
        Image.new("RGB", (64, 64), (run * 40 % 256, i % 256, i // 256)).save(path)
        total += path.stat().st_size
    return total


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds and CPU seconds of one CLI process."""
    cpu_before, started = child_cpu(), time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    return time.perf_counter() - started, child_cpu() - cpu_before, done


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="mh-bench-"))
    work = Path(tempfile.mkdtemp(prefix="mh-cli-bench-"))
    port = free_port()
    server, key = start_server(data_dir, port, max(2, os.cpu_count() or 1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAHUB_")}
    env.update(
        MEDIAHUB_URL=f"http://127.0.0.1:{port}", MEDIAHUB_API_KEY=key, XDG_CONFIG_HOME=str(work / "config")
    )
    rates, cpu_per_file, startup = [], [], []
    try:
        for run in range(args.runs):
            startup.append(timed([*CLI, "--help"], env)[1])
            folder = work / f"run{run}"
            size = make_files(folder, args.files, run)
            argv = [*CLI, "upload", str(folder), "--concurrency", str(args.concurrency), "--json"]
            wall, cpu, done = timed(argv, env)
            report = json.loads(done.stdout)
            if done.returncode != 0 or report["summary"]["uploaded"] != args.files:
                raise SystemExit(f"upload failed: {report['summary']}\n{done.stderr}")
            rates.append(args.files / wall)
            cpu_per_file.append(cpu / args.files)
            per_file_ms = cpu / args.files * 1000
            print(
                f"run {run + 1}: {args.files} files ({size / 1024:.0f} KB) in {wall:.1f} s = "
                f"{args.files / wall:.1f} files/s; client CPU {cpu:.2f} s ({per_file_ms:.1f} ms/file)"
            )
    finally:
        stop_server(server)
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    print(
        f"mediahub upload, {args.files} small PNGs, --concurrency {args.concurrency}, {args.runs} runs, "
        f"{os.cpu_count()} cores, load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}"
    )
    cpu_ms, startup_ms = statistics.median(cpu_per_file) * 1000, statistics.median(startup) * 1000
    print(
        f"  median {statistics.median(rates):.1f} files/s; client CPU {cpu_ms:.1f} ms/file "
        f"(start-up {startup_ms:.0f} ms once = {startup_ms / args.files:.1f} ms/file of it)"
    )


if __name__ == "__main__":
    main()
