"""The runner's half of the sandbox: the command line that runs ffmpeg through ``jail.py`` (rlimits,
no network, Landlock) in a folder that holds only the command's inputs and output."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JAIL = Path(__file__).with_name("jail.py")
# What ffmpeg and its libraries read besides the work folder: code, the loader cache, fonts.
SYSTEM_READ_ONLY = (
    "/usr",
    "/lib",
    "/lib64",
    "/bin",
    "/etc/ld.so.cache",
    "/etc/fonts",
    "/etc/localtime",
    "/var/cache/fontconfig",
    "/dev/null",
    "/dev/urandom",
    "/proc/cpuinfo",
    "/sys/devices/system/cpu",
)


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int
    file_size_bytes: int
    address_space_bytes: int
    open_files: int


def jailed(argv: list[str], folder: Path, limits: Limits) -> list[str]:
    """``argv`` wrapped to run in ``folder`` (read-write, the only writable place) under ``limits``."""
    read_only = [*SYSTEM_READ_ONLY, str(Path(argv[0]).resolve().parent)]
    jail = [sys.executable, "-I", "-S", str(JAIL)]
    jail += ["--cpu", str(limits.cpu_seconds), "--fsize", str(limits.file_size_bytes)]
    jail += ["--as", str(limits.address_space_bytes), "--nofile", str(limits.open_files)]
    for path in read_only:
        jail += ["--ro", path]
    return [*jail, "--rw", str(folder), "--", *argv]


@functools.cache
def capabilities() -> dict[str, Any]:
    """Which fences this machine's kernel grants: ``{"network": "namespace" | "user+network
    namespace" | "none", "landlock": ABI version or 0}`` (probed once per process)."""
    try:
        out = subprocess.run(
            [sys.executable, "-I", "-S", str(JAIL), "--probe", "--ro", "/usr", "--", "true"],
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
        return json.loads(out.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return {"network": "none", "landlock": 0}
