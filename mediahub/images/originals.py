"""What happens to an image original on upload: its metadata stripped (orientation applied first)
when the tenant wants it, and its placeholder computed. Never fails an upload: an image libvips
cannot read is stored as it came, without a placeholder."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pyvips

from mediahub.images import pipeline
from mediahub.images.placeholder import blurhash_of

logger = logging.getLogger(__name__)

# Metadata that can identify a person or place; the ICC profile is colour, not metadata, and stays.
PRIVATE_FIELDS = ("exif-data", "xmp-data", "iptc-data")
# Formats rewritten in place (the same format); others (HEIC, GIF, animations) are kept as uploaded.
REWRITABLE = {"jpegload": "jpeg", "pngload": "png", "webpload": "webp", "tiffload": "tiff"}
SAVE_OPTIONS = {
    "jpeg": {"Q": 92, "optimize_coding": True},
    "png": {"compression": 6},
    "webp": {"Q": 92},
    "tiff": {"compression": "deflate"},
}


@dataclass(frozen=True)
class PreparedImage:
    rewritten: bool
    width: int | None
    height: int | None
    placeholder: str


def prepare_original(path: Path, *, strip_metadata: bool) -> PreparedImage:
    """Rewrite ``path`` in place without EXIF/GPS/XMP/IPTC (upright) when asked and needed."""
    rewritten, width, height = False, None, None
    try:
        if strip_metadata:
            rewritten, width, height = _strip(path)
        placeholder = blurhash_of(pyvips.Source.new_from_file(str(path)))
    except pyvips.Error as exc:
        logger.info("image original left as uploaded (%s): %s", path.name, exc.message)
        return PreparedImage(rewritten, width, height, "")
    return PreparedImage(rewritten, width, height, placeholder)


def _strip(path: Path) -> tuple[bool, int | None, int | None]:
    image = pyvips.Image.new_from_file(str(path))
    fields = set(image.get_fields())
    loader = image.get("vips-loader").removesuffix("_source").removesuffix("_file")
    fmt = REWRITABLE.get(loader)
    private = any(f in fields for f in PRIVATE_FIELDS) or any(f.startswith("png-comment") for f in fields)
    rotated = "orientation" in fields and image.get("orientation") != 1
    animated = "n-pages" in fields and image.get("n-pages") > 1
    if fmt is None or animated or not (private or rotated):
        return False, None, None
    upright = image.autorot()
    partial = path.with_name(path.name + ".stripped." + fmt)
    upright.write_to_file(str(partial), keep=pipeline.KEEP, **SAVE_OPTIONS[fmt])
    os.replace(partial, path)
    return True, upright.width, upright.height


def poster_placeholder(store, poster_key: str) -> str:
    """The placeholder of a video's stored poster ("" if it cannot be read)."""
    try:
        return blurhash_of(pyvips.Source.new_from_memory(store.read_bytes(poster_key)))
    except (pyvips.Error, OSError) as exc:
        logger.warning("no placeholder for poster %s: %s", poster_key, exc)
        return ""
