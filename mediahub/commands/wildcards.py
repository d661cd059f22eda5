"""``${…}`` wildcards of a command (FFmate's names where they make sense) and preset parameters.

Upper-case names are wildcards; lower-case names (``${start}``) are the parameters of a preset,
filled from ``params``. Values are plain text: the expanded command is what the fence checks.
"""

from __future__ import annotations

import re
import shlex
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
INPUT_N = re.compile(r"INPUT_FILE_(\d+)")
PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# A parameter value cannot carry quoting, spaces or path separators into the command.
PARAM_VALUE = re.compile(r"^[A-Za-z0-9_.:+-]{1,64}$")
MAX_INPUTS = 8

# Documented in the README ("FFmpegCommand wildcards").
FILE_WILDCARDS = (
    "INPUT_FILE",
    "INPUT_FILE_BASE",
    "INPUT_FILE_EXTENSION",
    "INPUT_FILE_BASENAME",
    "OUTPUT_FILE",
    "OUTPUT_FILE_BASE",
    "OUTPUT_FILE_EXTENSION",
    "OUTPUT_FILE_BASENAME",
)
TIME_WILDCARDS = (
    "UUID",
    "TIMESTAMP_SECONDS",
    "TIMESTAMP_MILLISECONDS",
    "TIMESTAMP_MICROSECONDS",
    "TIMESTAMP_NANOSECONDS",
    "DATE_YEAR",
    "DATE_SHORTYEAR",
    "DATE_MONTH",
    "DATE_DAY",
    "DATE_WEEK",
    "TIME_HOUR",
    "TIME_MINUTE",
    "TIME_SECOND",
)


class WildcardError(ValueError):
    def __init__(self, field_name: str, message: str):
        self.field_name = field_name
        super().__init__(message)


@dataclass(frozen=True)
class Files:
    """Names inside the work folder (``input_1.mp4``…, ``output.gif``) and the names the tenant
    knows them by (for ``*_BASE``/``*_EXTENSION``)."""

    inputs: list[str]
    input_names: list[str]
    output: str
    output_name: str


@dataclass
class Expanded:
    argv: list[str]
    used_inputs: set[int] = field(default_factory=set)


def split_command(command: str | list[str]) -> list[str]:
    if isinstance(command, list):
        return list(command)
    try:
        return shlex.split(command)
    except ValueError as exc:
        raise WildcardError("command", f"The command cannot be split like a shell would: {exc}.") from exc


def params_of(argv: list[str]) -> set[str]:
    return {name for arg in argv for name in PLACEHOLDER.findall(arg) if name[0].islower()}


def _stem_and_suffix(name: str) -> tuple[str, str]:
    path = PurePath(name)
    return path.stem, path.suffix


def _values(files: Files, now: datetime) -> dict[str, str]:
    values: dict[str, str] = {}
    for prefix, work_name, known_name in (
        (
            "INPUT_FILE",
            files.inputs[0] if files.inputs else "",
            files.input_names[0] if files.input_names else "",
        ),
        ("OUTPUT_FILE", files.output, files.output_name),
    ):
        stem, suffix = _stem_and_suffix(known_name)
        values[prefix] = work_name
        values[f"{prefix}_BASE"] = _safe(stem)
        values[f"{prefix}_EXTENSION"] = _safe(suffix)
        values[f"{prefix}_BASENAME"] = _safe(known_name)
    for n, name in enumerate(files.inputs, start=1):
        values[f"INPUT_FILE_{n}"] = name
    timestamp = now.timestamp()
    values.update(
        UUID=str(uuid.uuid4()),
        TIMESTAMP_SECONDS=str(int(timestamp)),
        TIMESTAMP_MILLISECONDS=str(int(timestamp * 1e3)),
        TIMESTAMP_MICROSECONDS=str(int(timestamp * 1e6)),
        TIMESTAMP_NANOSECONDS=str(int(timestamp * 1e9)),
        DATE_YEAR=now.strftime("%Y"),
        DATE_SHORTYEAR=now.strftime("%y"),
        DATE_MONTH=now.strftime("%m"),
        DATE_DAY=now.strftime("%d"),
        DATE_WEEK=f"{now.isocalendar().week:02d}",
        TIME_HOUR=now.strftime("%H"),
        TIME_MINUTE=now.strftime("%M"),
        TIME_SECOND=now.strftime("%S"),
    )
    return values


def _safe(text: str) -> str:
    """A tenant's file name as inert text: letters, digits and ``_.-`` only."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def expand(argv: list[str], files: Files, params: dict[str, str], now: datetime | None = None) -> Expanded:
    """Replace every ``${…}`` in ``argv``. ``WildcardError`` names what is unknown or missing."""
    values = _values(files, now or datetime.now(UTC))
    for name, value in params.items():
        if not PARAM_VALUE.match(value):
            raise WildcardError("params", f"{name}: only letters, digits and _.:+- (at most 64).")
    expanded = Expanded(argv=[])

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name[0].islower():
            if name not in params:
                raise WildcardError("params", f"The command needs the parameter {name}.")
            return params[name]
        numbered = INPUT_N.fullmatch(name)
        if numbered:
            index = int(numbered.group(1))
            if not 1 <= index <= len(files.inputs):
                raise WildcardError(
                    "input_media_ids",
                    f"${{{name}}} needs {index} input media; the task has {len(files.inputs)}.",
                )
            expanded.used_inputs.add(index - 1)
        elif name == "INPUT_FILE":
            if not files.inputs:
                raise WildcardError("input_media_id", "${INPUT_FILE} needs an input media.")
            expanded.used_inputs.add(0)
        if name not in values:
            raise WildcardError("command", f"Unknown wildcard ${{{name}}}.")
        return values[name]

    for arg in argv:
        expanded.argv.append(PLACEHOLDER.sub(replace, arg))
    return expanded
