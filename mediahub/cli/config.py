"""Where the CLI finds its server and key: flags, then ``MEDIAHUB_URL``/``MEDIAHUB_API_KEY``, then
the file ``mediahub login`` writes (``<user config dir>/mediahub/config.json``, mode 0600)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

DEFAULT_URL = "http://127.0.0.1:8000"


def config_path() -> Path:
    # ~/.config/mediahub on Linux (honours XDG_CONFIG_HOME), the platform's own folder elsewhere.
    return Path(typer.get_app_dir("mediahub")) / "config.json"


def load() -> dict[str, str]:
    try:
        return json.loads(config_path().read_text())
    except (OSError, ValueError):
        return {}


def save(url: str, api_key: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created 0600 from the start: the key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"url": url, "api_key": api_key}, fh, indent=2)
    os.chmod(path, 0o600)  # an older file keeps its mode through O_TRUNC
    return path


def resolve(url: str | None, api_key: str | None) -> tuple[str, str | None]:
    """Flags and environment (already merged by the option parser) win over the saved login."""
    saved = load()
    return (url or saved.get("url") or DEFAULT_URL).rstrip("/"), api_key or saved.get("api_key")
