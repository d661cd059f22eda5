"""Transform operations in Mindia's path syntax: ``-/resize/500x300/-/format/webp/-/quality/80``.

Parsing turns the text into a list of ``Op`` with normalised arguments; ``canonical`` writes them
back in one spelling, so two URLs that mean the same thing share one cached output. Parsing knows
nothing about images or storage: presets are expanded by the caller (``expand_presets``) and
limits on sizes are checked by the pipeline against the tenant's quota.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

FORMATS = ("jpeg", "png", "webp", "avif")
FORMAT_ALIASES = {"jpg": "jpeg", **{name: name for name in (*FORMATS, "auto")}}
FITS = ("inside", "cover", "contain", "fill")
GRAVITIES = (
    "center", "north", "south", "east", "west", "northeast", "northwest", "southeast", "southwest",
)  # fmt: skip
SMART_GRAVITIES = ("smart", "entropy")
# Mindia's named qualities.
QUALITY_NAMES = {"lightest": 50, "fast": 55, "low": 60, "lighter": 70, "medium": 80, "better": 88, "high": 95}
STRETCH_MODES = ("off", "on", "fill")
DEFAULT_WATERMARK = ("southeast", 25, 50)  # position, size in % of the width, opacity in %
SIZE = re.compile(r"^(\d{1,6})?x(\d{1,6})?$")
NUMBER = re.compile(r"^-?\d{1,6}(\.\d{1,3})?$")  # the bounds are checked per op


class OpError(ValueError):
    """A bad operation or argument; ``op`` names it (``None`` for the chain as a whole)."""

    def __init__(self, op: str | None, message: str):
        super().__init__(message)
        self.op = op


@dataclass(frozen=True)
class Op:
    name: str
    args: tuple = ()

    def __str__(self) -> str:
        args = [_arg_text(a) for a in self.args]
        if self.name in ("resize", "crop"):  # sizes are spelled WxH
            args = [f"{args[0]}x{args[1]}", *args[2:]]
        return "/".join([self.name, *args])


def _arg_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def split(text: str) -> list[list[str]]:
    """``-/a/1/-/b`` (leading ``-/`` and trailing ``/`` optional) into ``[["a", "1"], ["b"]]``."""
    text = text.strip().strip("/")
    if text.startswith("-/"):
        text = text[2:]
    if not text or text == "-":
        return []
    return [[part for part in segment.split("/")] for segment in text.split("/-/")]


def parse(text: str, *, max_ops: int) -> list[Op]:
    """Parse and validate the chain; ``stretch`` is folded into the ``resize`` ops it governs."""
    segments = split(text)
    if len(segments) > max_ops:
        raise OpError(None, f"A chain may have at most {max_ops} operations; this one has {len(segments)}.")
    ops = [_parse_one(segment) for segment in segments]
    return fold_stretch(ops)


def _parse_one(segment: list[str]) -> Op:
    name, args = segment[0].lower(), segment[1:]
    parser = PARSERS.get(name)
    if parser is None:
        raise OpError(name or None, f"Unknown operation '{name}'.")
    try:
        return parser(name, [a.strip().lower() for a in args])
    except OpError:
        raise
    except (ValueError, IndexError) as exc:
        raise OpError(name, f"Bad arguments for '{name}': {exc or 'malformed'}.") from exc


def _no_args(name: str, args: list[str]) -> Op:
    if args:
        raise OpError(name, f"'{name}' takes no argument.")
    return Op(name)


def _size(name: str, text: str, *, both: bool = False) -> tuple[int | None, int | None]:
    match = SIZE.match(text)
    if not match or not (match[1] or match[2]):
        raise OpError(name, f"'{name}' needs a size like 500x300, 500x or x300, not '{text}'.")
    width, height = (int(v) if v else None for v in match.groups())
    if both and (width is None or height is None):
        raise OpError(name, f"'{name}' needs both a width and a height (WxH).")
    if 0 in (width, height):
        raise OpError(name, f"'{name}' sizes must be positive.")
    return width, height


def _number(name: str, text: str, low: float, high: float) -> float:
    if not NUMBER.match(text or ""):
        raise OpError(name, f"'{name}' needs a number, not '{text}'.")
    value = float(text)
    if not low <= value <= high:
        raise OpError(name, f"'{name}' must be between {low:g} and {high:g}.")
    return value


def _resize(name: str, args: list[str]) -> Op:
    if not args:
        raise OpError(name, "'resize' needs a size like 500x300.")
    width, height = _size(name, args[0])
    fit, upscale = "inside", False
    for arg in args[1:]:
        if arg in FITS:
            fit = arg
        elif arg in ("up", "upscale"):
            upscale = True
        else:
            raise OpError(name, f"Unknown resize option '{arg}' (fits: {', '.join(FITS)}; or 'up').")
    if width is None or height is None:
        fit = "inside"  # one side given: the other follows the aspect ratio whatever the fit
    return Op("resize", (width, height, fit, "up" if upscale else "down"))


def _stretch(name: str, args: list[str]) -> Op:
    if len(args) != 1 or args[0] not in STRETCH_MODES:
        raise OpError(name, f"'stretch' takes one of {', '.join(STRETCH_MODES)}.")
    return Op("stretch", (args[0],))


def _crop(name: str, args: list[str]) -> Op:
    if name == "smart_crop":
        args = [*args[:1], "smart"]
    if not args or len(args) > 2:
        raise OpError(name, "'crop' takes WxH and an optional gravity (or 'smart').")
    width, height = _size(name, args[0], both=True)
    gravity = args[1] if len(args) > 1 else "center"
    gravity = "center" if gravity == "centre" else gravity
    if gravity not in GRAVITIES + SMART_GRAVITIES:
        raise OpError(name, f"Unknown gravity '{gravity}' ({', '.join(GRAVITIES + SMART_GRAVITIES)}).")
    return Op("crop", (width, height, gravity))


def _format(name: str, args: list[str]) -> Op:
    if len(args) != 1 or args[0] not in FORMAT_ALIASES:
        raise OpError(name, f"'format' takes one of {', '.join([*FORMATS, 'auto'])}.")
    return Op("format", (FORMAT_ALIASES[args[0]],))


def _quality(name: str, args: list[str]) -> Op:
    if len(args) != 1:
        raise OpError(name, "'quality' takes 1-100 or a name (low, medium, high...).")
    value = QUALITY_NAMES.get(args[0]) or int(_number(name, args[0], 1, 100))
    return Op("quality", (value,))


def _rotate(name: str, args: list[str]) -> Op:
    if len(args) != 1:
        raise OpError(name, "'rotate' takes an angle in degrees.")
    return Op("rotate", (_number(name, args[0], -360, 360) % 360,))


def _autorotate(name: str, args: list[str]) -> Op:
    if len(args) > 1 or (args and args[0] not in ("yes", "no", "true", "false", "on", "off")):
        raise OpError(name, "'autorotate' takes yes or no.")
    return Op("autorotate", ("no" if args and args[0] in ("no", "false", "off") else "yes",))


def _watermark(name: str, args: list[str]) -> Op:
    if not args or len(args) > 4:
        raise OpError(name, "'watermark' takes a media id, then optional position, size (%) and opacity (%).")
    try:
        media_id = str(uuid.UUID(args[0]))
    except ValueError as exc:
        raise OpError(name, f"'{args[0]}' is not a media id.") from exc
    position, size, opacity = DEFAULT_WATERMARK
    if len(args) > 1:
        position = "center" if args[1] == "centre" else args[1]
        if position not in GRAVITIES:
            raise OpError(name, f"Unknown watermark position '{args[1]}' ({', '.join(GRAVITIES)}).")
    if len(args) > 2:
        size = int(_number(name, args[2].rstrip("p%"), 1, 100))
    if len(args) > 3:
        opacity = int(_number(name, args[3].rstrip("p%"), 0, 100))
    return Op("watermark", (media_id, position, size, opacity))


def _blur(name: str, args: list[str]) -> Op:
    if len(args) > 1:
        raise OpError(name, "'blur' takes an optional sigma (0.3-100).")
    return Op("blur", (_number(name, args[0], 0.3, 100) if args else 5.0,))


def _sharpen(name: str, args: list[str]) -> Op:
    if len(args) > 1:
        raise OpError(name, "'sharpen' takes an optional sigma (0.3-10).")
    return Op("sharpen", (_number(name, args[0], 0.3, 10) if args else 1.0,))


def _adjust(name: str, args: list[str]) -> Op:
    if len(args) != 1:
        raise OpError(name, f"'{name}' takes a change in percent, -100 to 100.")
    return Op(name, (int(_number(name, args[0], -100, 100)),))


def _preset(name: str, args: list[str]) -> Op:
    if len(args) != 1 or not re.match(r"^[a-z0-9_.:-]{1,100}$", args[0]):
        raise OpError(name, "'preset' takes a preset name or id.")
    return Op("preset", (args[0],))


def _frame(name: str, args: list[str]) -> Op:
    if len(args) != 1:
        raise OpError(name, "'frame' takes a time in seconds.")
    seconds = _number(name, args[0], 0, 10 * 24 * 3600)
    return Op("frame", (round(seconds, 3),))


PARSERS: dict[str, Callable[[str, list[str]], Op]] = {
    "resize": _resize,
    "stretch": _stretch,
    "crop": _crop,
    "smart_crop": _crop,
    "format": _format,
    "quality": _quality,
    "rotate": _rotate,
    "flip": _no_args,
    "mirror": _no_args,
    "autorotate": _autorotate,
    "watermark": _watermark,
    "blur": _blur,
    "sharpen": _sharpen,
    "grayscale": _no_args,
    "sepia": _no_args,
    "invert": _no_args,
    "brightness": _adjust,
    "contrast": _adjust,
    "saturation": _adjust,
    "preset": _preset,
    "frame": _frame,
}


def fold_stretch(ops: list[Op]) -> list[Op]:
    """``stretch/on`` lets every resize of the chain enlarge, ``stretch/fill`` pads instead of
    enlarging (Mindia's modifier); the modifier itself leaves the chain."""
    modes = [op.args[0] for op in ops if op.name == "stretch"]
    if not modes:
        return ops
    mode = modes[-1]
    folded = []
    for op in ops:
        if op.name == "stretch":
            continue
        if op.name == "resize":
            width, height, fit, _ = op.args
            if mode == "on":
                op = Op("resize", (width, height, fit, "up"))
            elif mode == "fill" and width and height:
                op = Op("resize", (width, height, "contain", "down"))
        folded.append(op)
    return folded


def expand_presets(ops: list[Op], resolve: Callable[[str], str], *, max_ops: int) -> list[Op]:
    """Replace each ``preset/NAME`` by the preset's own ops (``resolve`` gives their text). A preset
    may not name another preset."""
    expanded: list[Op] = []
    for op in ops:
        if op.name != "preset":
            expanded.append(op)
            continue
        inner = parse(resolve(op.args[0]), max_ops=max_ops)
        if any(o.name == "preset" for o in inner):
            raise OpError("preset", f"Preset '{op.args[0]}' names another preset.")
        expanded.extend(inner)
    if len(expanded) > max_ops:
        raise OpError(None, f"With its presets the chain has {len(expanded)} operations; at most {max_ops}.")
    return expanded


def validate_chain(ops: list[Op], *, is_video: bool) -> None:
    frames = [i for i, op in enumerate(ops) if op.name == "frame"]
    if is_video and frames != [0]:
        raise OpError("frame", "A video is transformed from one picture: start with frame/{seconds}.")
    if not is_video and frames:
        raise OpError("frame", "'frame' applies to videos only.")


def image_ops_problem(text: str, *, max_ops: int = 16) -> str | None:
    """Why ``text`` cannot be an image preset's ops (None if it can): it must parse, and may name
    neither another preset nor a video frame (a preset applies to any image)."""
    try:
        ops = parse(text, max_ops=max_ops)
    except OpError as exc:
        return str(exc)
    if any(op.name in ("preset", "frame") for op in ops):
        return "An image preset may not use 'preset' or 'frame'."
    return None


def canonical(ops: list[Op]) -> str:
    return "-/" + "/-/".join(str(op) for op in ops) if ops else ""


def requested_sizes(ops: list[Op]) -> list[int]:
    """Every width and height the chain asks for (checked against the output cap before any work)."""
    sizes = []
    for op in ops:
        if op.name in ("resize", "crop"):
            sizes += [v for v in op.args[:2] if v is not None]
    return sizes


def last(ops: list[Op], name: str):
    found = [op for op in ops if op.name == name]
    return found[-1] if found else None


def is_quarter_turn(angle: float) -> bool:
    return math.isclose(angle % 90, 0)
