"""The plugins there are: the built-ins, plus every class a package declares in the
``mediahub.plugins`` entry-point group (``[project.entry-points."mediahub.plugins"] name =
"module:Class"``), so ``pip install`` adds a plugin without touching mediahub."""

from __future__ import annotations

import logging
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points

from mediahub.plugins.base import Plugin

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mediahub.plugins"
BUILTINS = (
    "mediahub.plugins.builtins.transcription:Transcription",
    "mediahub.plugins.builtins.storyboard:Storyboard",
    "mediahub.plugins.builtins.loudness:Loudness",
    "mediahub.plugins.builtins.scenes:Scenes",
    "mediahub.plugins.builtins.waveform:Waveform",
    "mediahub.plugins.builtins.http:HttpPlugin",
)


@cache
def _plugins() -> dict[str, Plugin]:
    found: dict[str, Plugin] = {}
    for path in BUILTINS:
        module, _, name = path.partition(":")
        _add(found, getattr(import_module(module), name), path)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = entry.load()
        except Exception:  # a broken third-party package must not take the others down
            logger.exception("plugin entry point %s (%s) could not be loaded", entry.name, entry.value)
            continue
        _add(found, cls, entry.value)
    return dict(sorted(found.items()))


def _add(found: dict[str, Plugin], cls: type, origin: str) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Plugin)):
        logger.error("%s is not a mediahub Plugin subclass; ignored", origin)
        return
    if cls.name in found:
        logger.error("plugin name %r of %s is taken; ignored", cls.name, origin)
        return
    found[cls.name] = cls()


def all_plugins() -> list[Plugin]:
    return list(_plugins().values())


def find_plugin(name: str) -> Plugin | None:
    return _plugins().get(name)
