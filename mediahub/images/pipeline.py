"""The libvips pipeline: decode (shrinking on load when the chain starts with a resize), apply the
ops, encode without EXIF/GPS/XMP. libvips is lazy and streaming: the whole chain runs during the
final encode, in small tiles, so memory stays low and one deadline bounds the whole work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyvips

from mediahub.images.ops import Op, is_quarter_turn

# Every transform URL is a new pipeline: libvips' operation cache would only hold memory.
pyvips.cache_set_max(0)
# Tenant files are hostile: only the loaders libvips deems safe for untrusted input may run.
pyvips.block_untrusted_set(True)

CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif"}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "avif": "avif"}
DEFAULT_QUALITY = {"jpeg": 82, "webp": 80, "avif": 55, "png": 100}
# The largest coordinate libvips accepts: "no limit" for the side a resize leaves free.
UNBOUNDED = 10_000_000
# Only the colour profile survives into outputs; EXIF, GPS, XMP, IPTC and comments never do.
KEEP = pyvips.enums.ForeignKeep.ICC
WHITE = [255, 255, 255]

SourceOpener = Callable[[], pyvips.Source]


class TransformFailed(Exception):
    """The source could not be decoded or the pipeline failed (``code`` says which)."""

    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.details = details or {}


@dataclass(frozen=True)
class Output:
    data: bytes
    format: str
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


@dataclass(frozen=True)
class Job:
    ops: list[Op]
    format: str
    quality: int | None
    max_side: int
    timeout: float
    # Opens the source of a ``watermark`` (its media id) after the caller checked it.
    open_mark: Callable[[str], SourceOpener] | None = None
    # Sources opened for this job: libvips reads them lazily, during the encode, and a custom
    # source collected by Python before then would be read through a dangling handle.
    held: list[pyvips.Source] = field(default_factory=list)

    def open(self, opener: SourceOpener) -> pyvips.Source:
        source = opener()
        self.held.append(source)
        return source


def render(open_source: SourceOpener, job: Job) -> Output:
    deadline = time.monotonic() + job.timeout
    try:
        image, ops = _load(job.open(open_source), job.ops)
        for op in ops:
            image = APPLY[op.name](image, op, job)
            if time.monotonic() > deadline:
                raise TransformFailed("transform_timeout", "The transform took too long.")
        if max(image.width, image.height) > job.max_side:
            raise TransformFailed(
                "output_too_large",
                f"The output would be {image.width}x{image.height}; at most {job.max_side} px per side.",
                {"width": image.width, "height": image.height, "max_output_dimension": job.max_side},
            )
        return Output(_encode(image, job, deadline), job.format, image.width, image.height)
    except pyvips.Error as exc:
        if time.monotonic() > deadline:
            raise TransformFailed("transform_timeout", "The transform took too long.") from exc
        raise TransformFailed(
            "undecodable_image", f"The image could not be processed: {exc.message}"
        ) from exc


def _load(source: pyvips.Source, ops: list[Op]) -> tuple[pyvips.Image, list[Op]]:
    autorotate = not any(op.name == "autorotate" and op.args[0] == "no" for op in ops)
    ops = [op for op in ops if op.name not in ("autorotate", "format", "quality", "frame")]
    first = ops[0] if ops else None
    if first is not None and first.name == "resize" and first.args[2] in ("inside", "cover"):
        # Shrink on load: a JPEG decodes at 1/2, 1/4 or 1/8 scale straight from the DCT.
        args = _thumbnail_args(first)
        image = pyvips.Image.thumbnail_source(source, args.pop("width"), **args, no_rotate=not autorotate)
        ops = ops[1:]
    else:
        image = pyvips.Image.new_from_source(source, "", access="random")
        if autorotate:
            image = image.autorot()
    return _srgb(image), ops


def _srgb(image: pyvips.Image) -> pyvips.Image:
    if image.interpretation != "srgb" or image.format != "uchar" or image.bands not in (3, 4):
        image = image.colourspace("srgb")
        if image.format != "uchar":
            image = image.cast("uchar")
    return image


def _thumbnail_args(op: Op) -> dict:
    width, height, fit, size = op.args
    args = {"height": height or UNBOUNDED, "size": "both" if size == "up" else "down"}
    args["width"] = width or UNBOUNDED
    if fit == "cover":
        args["crop"] = "centre"
    return args


def _resize(image: pyvips.Image, op: Op, job: Job) -> pyvips.Image:
    width, height, fit, size = op.args
    if fit in ("inside", "cover"):
        args = _thumbnail_args(op)
        return image.thumbnail_image(args.pop("width"), **args)
    if fit == "fill":
        if size == "down":
            width, height = min(width, image.width), min(height, image.height)
        return image.thumbnail_image(width, height=height, size="force")
    # contain: fit inside the box, then pad to exactly the box
    inner = image.thumbnail_image(width, height=height, size="both" if size == "up" else "down")
    return inner.gravity("centre", width, height, extend="background", background=_background(inner))


def _background(image: pyvips.Image) -> list[int]:
    return [0, 0, 0, 0] if image.hasalpha() else WHITE


def _crop(image: pyvips.Image, op: Op, job: Job) -> pyvips.Image:
    width, height, gravity = op.args
    width, height = min(width, image.width), min(height, image.height)
    if gravity in ("smart", "entropy"):
        return image.smartcrop(width, height, interesting="attention" if gravity == "smart" else "entropy")
    left = {"w": 0, "e": image.width - width}.get(_horizontal(gravity), (image.width - width) // 2)
    top = {"n": 0, "s": image.height - height}.get(_vertical(gravity), (image.height - height) // 2)
    return image.crop(left, top, width, height)


def _horizontal(gravity: str) -> str:
    return "e" if gravity.endswith("east") else "w" if gravity.endswith("west") else ""


def _vertical(gravity: str) -> str:
    return "n" if gravity.startswith("north") else "s" if gravity.startswith("south") else ""


def _rotate(image: pyvips.Image, op: Op, job: Job) -> pyvips.Image:
    angle = op.args[0]
    if is_quarter_turn(angle):
        turns = round(angle / 90) % 4
        return image.rot(f"d{turns * 90}") if turns else image
    # Any other angle: clockwise, the uncovered corners filled with the background.
    return image.similarity(angle=angle, background=_background(image))


def _flip(image: pyvips.Image, op: Op, job: Job) -> pyvips.Image:
    return image.flip("vertical" if op.name == "flip" else "horizontal")


def _colour(image: pyvips.Image, change: Callable[[pyvips.Image], pyvips.Image]) -> pyvips.Image:
    """Apply ``change`` to the colour bands only; the alpha band passes untouched."""
    if image.hasalpha():
        return change(image.extract_band(0, n=image.bands - 1)).cast("uchar").bandjoin(image[image.bands - 1])
    return change(image).cast("uchar")


def _grayscale(image: pyvips.Image, op: Op, job: Job) -> pyvips.Image:
    return image.colourspace("b-w").colourspace("srgb")


SEPIA = [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]


def _sepia(image: pyvips.Image, op: Op, job: Job) -> pyvips.Image:
    return _colour(image, lambda rgb: rgb.recomb(SEPIA).cast("uchar"))


def _invert(image: pyvips.Image, op: Op, job: Job) -> pyvips.Image:
    return _colour(image, lambda rgb: rgb.invert())


def _brightness(image: pyvips.Image, op: Op, job: Job) -> pyvips.Image:
    return _colour(image, lambda rgb: rgb * (1 + op.args[0] / 100))


def _contrast(image: pyvips.Image, op: Op, job: Job) -> pyvips.Image:
    factor = 1 + op.args[0] / 100
    return _colour(image, lambda rgb: (rgb - 128) * factor + 128)


def _saturation(image: pyvips.Image, op: Op, job: Job) -> pyvips.Image:
    factor = 1 + op.args[0] / 100

    def change(rgb: pyvips.Image) -> pyvips.Image:
        return (rgb.colourspace("lch") * [1, factor, 1]).colourspace("srgb")

    return _colour(image, change)


def _blur(image: pyvips.Image, op: Op, job: Job) -> pyvips.Image:
    return image.gaussblur(op.args[0])


def _sharpen(image: pyvips.Image, op: Op, job: Job) -> pyvips.Image:
    return _colour(image, lambda rgb: rgb.sharpen(sigma=op.args[0]).colourspace("srgb"))


def _watermark(image: pyvips.Image, op: Op, job: Job) -> pyvips.Image:
    media_id, position, size, opacity = op.args
    if job.open_mark is None:
        raise TransformFailed("invalid_transform", "Watermarks are not available here.")
    width = max(1, round(image.width * size / 100))
    mark = _srgb(pyvips.Image.thumbnail_source(job.open(job.open_mark(media_id)), width, height=image.height))
    if not mark.hasalpha():
        mark = mark.bandjoin(255)
    alpha = (mark[3] * (opacity / 100)).cast("uchar")
    mark = mark.extract_band(0, n=3).bandjoin(alpha)
    margin = round(min(image.width, image.height) * 0.02)
    left = {"w": margin, "e": image.width - mark.width - margin}.get(
        _horizontal(position), (image.width - mark.width) // 2
    )
    top = {"n": margin, "s": image.height - mark.height - margin}.get(
        _vertical(position), (image.height - mark.height) // 2
    )
    had_alpha = image.hasalpha()
    marked = image.composite2(mark, "over", x=left, y=top)
    return marked if had_alpha else marked.extract_band(0, n=3)


APPLY: dict[str, Callable[[pyvips.Image, Op, Job], pyvips.Image]] = {
    "resize": _resize,
    "crop": _crop,
    "rotate": _rotate,
    "flip": _flip,
    "mirror": _flip,
    "grayscale": _grayscale,
    "sepia": _sepia,
    "invert": _invert,
    "brightness": _brightness,
    "contrast": _contrast,
    "saturation": _saturation,
    "blur": _blur,
    "sharpen": _sharpen,
    "watermark": _watermark,
}


def _encode(image: pyvips.Image, job: Job, deadline: float) -> bytes:
    if job.format == "jpeg" and image.hasalpha():
        image = image.flatten(background=WHITE)

    def check(img: pyvips.Image, progress) -> None:
        if time.monotonic() > deadline:
            img.set_kill(True)

    image.set_progress(True)
    image.signal_connect("eval", check)
    saver, options = encode_args(job.format, job.quality)
    return getattr(image, saver)(**options)


def encode_args(fmt: str, quality: int | None = None) -> tuple[str, dict]:
    """The saver and its options for ``fmt`` (the benchmark runs the same call bare)."""
    quality = quality or DEFAULT_QUALITY[fmt]
    return {
        "jpeg": ("jpegsave_buffer", {"Q": quality, "optimize_coding": True, "keep": KEEP}),
        "webp": ("webpsave_buffer", {"Q": quality, "keep": KEEP}),
        "avif": ("heifsave_buffer", {"Q": quality, "compression": "av1", "effort": 2, "keep": KEEP}),
        "png": ("pngsave_buffer", {"compression": 6, "keep": KEEP}),
    }[fmt]
