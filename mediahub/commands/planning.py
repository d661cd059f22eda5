"""From an ``FFmpegCommand`` payload to a checked command: the preset resolved, the input media
found, the work-folder names chosen, the wildcards expanded and every argument fenced. The same
plan is made when the task is created (a refusal is a 400) and again when it runs."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from mediahub.commands.fence import OUTPUT_EXTENSIONS, CheckedCommand, CommandRefused, check_command
from mediahub.commands.wildcards import MAX_INPUTS, Files, WildcardError, expand, split_command
from mediahub.media.models import Media
from mediahub.presets.models import Preset
from mediahub.presets.selectors import PresetNotFound, find_preset
from tenants.models import Tenant

# Media that can feed ffmpeg: documents cannot, and an import has no original yet.
INPUT_TYPES = (Media.Type.VIDEO, Media.Type.AUDIO, Media.Type.IMAGE)
DEFAULT_EXTENSION = "mp4"


class CommandInvalid(ValueError):
    """The payload cannot become a command: ``field`` is the payload field to blame."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class CommandPlan:
    checked: CheckedCommand
    media: list[Media]  # inputs, in ${INPUT_FILE_n} order
    files: Files
    preset: Preset | None


def input_ids(payload: dict[str, Any]) -> list[str]:
    if "input_media_ids" in payload:
        return list(payload["input_media_ids"])
    return [payload["input_media_id"]] if payload.get("input_media_id") else []


def plan_command(*, tenant: Tenant, payload: dict[str, Any]) -> CommandPlan:
    """``CommandInvalid`` for a payload that names what does not exist or fits no command; the
    fence's refusal (``CommandRefused``) is reported on ``command`` (or ``preset``)."""
    preset = _preset(tenant, payload)
    template = preset.command if preset else payload["command"]
    params = {
        **(preset.params if preset else {}),
        **{k: str(v) for k, v in payload.get("params", {}).items()},
    }
    missing = [name for name, value in params.items() if value is None]
    if missing:
        raise CommandInvalid("params", f"The preset needs: {', '.join(sorted(missing))}.")
    media = _inputs(tenant, payload)
    files = _files(media, payload, preset)
    try:
        expanded = expand(split_command(template), files, params)
    except WildcardError as exc:
        field = exc.field_name
        if field.startswith("input_media"):  # blame the field the payload used
            field = "input_media_ids" if "input_media_ids" in payload else "input_media_id"
        raise CommandInvalid(field, str(exc)) from exc
    try:
        checked = check_command(expanded.argv, files.inputs, files.output)
    except CommandRefused as exc:
        raise CommandInvalid("preset" if preset else "command", f"Refused {exc}.") from exc
    return CommandPlan(checked, media, files, preset)


def _preset(tenant: Tenant, payload: dict[str, Any]) -> Preset | None:
    if ("command" in payload) == ("preset" in payload):
        raise CommandInvalid("command", "Give either command or preset.")
    if "preset" not in payload:
        if payload.get("params"):
            raise CommandInvalid("params", "Parameters belong to a preset.")
        return None
    try:
        return find_preset(tenant=tenant, name_or_id=payload["preset"], kind=Preset.Kind.COMMAND)
    except PresetNotFound as exc:
        raise CommandInvalid("preset", str(exc)) from exc


def _inputs(tenant: Tenant, payload: dict[str, Any]) -> list[Media]:
    ids = input_ids(payload)
    if len(ids) > MAX_INPUTS:
        raise CommandInvalid("input_media_ids", f"At most {MAX_INPUTS} inputs.")
    field = "input_media_ids" if "input_media_ids" in payload else "input_media_id"
    found = []
    for media_id in ids:
        try:
            media = Media.objects.for_tenant(tenant).filter(id=uuid.UUID(str(media_id))).first()
        except ValueError:
            media = None
        if media is None:
            raise CommandInvalid(field, f"No such media: {media_id}.")
        if media.type not in INPUT_TYPES or not media.original_key or media.status == Media.Status.IMPORTING:
            raise CommandInvalid(field, f"The {media.type} {media_id} cannot be an ffmpeg input.")
        found.append(media)
    return found


def _extension(name: str) -> str:
    suffix = PurePath(name).suffix.lower().lstrip(".")
    return suffix if re.fullmatch(r"[a-z0-9]{1,8}", suffix) else ""


def _files(media: list[Media], payload: dict[str, Any], preset: Preset | None) -> Files:
    inputs = [f"input_{n}.{_extension(m.filename) or 'bin'}" for n, m in enumerate(media, start=1)]
    output_name = payload.get("output_name") or ""
    extension = _extension(output_name) or (preset.output_extension if preset else "")
    if not extension:
        extension = _extension(media[0].filename) if media else DEFAULT_EXTENSION
    if extension not in OUTPUT_EXTENSIONS:
        raise CommandInvalid(
            "output_name", f"Output files may be {', '.join(sorted(OUTPUT_EXTENSIONS))}; not .{extension}."
        )
    if not output_name or not _extension(output_name):
        base = (
            PurePath(output_name).stem if output_name else (PurePath(media[0].filename).stem if media else "")
        )
        suffix = preset.name if preset else "output"
        output_name = f"{base}-{suffix}.{extension}" if base else f"{suffix}.{extension}"
    return Files(
        inputs=inputs,
        input_names=[m.filename for m in media],
        output=f"output.{extension}",
        output_name=output_name,
    )
