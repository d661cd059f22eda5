"""BlurHash placeholders: a ~30-character string a page paints before the image arrives."""

from __future__ import annotations

import blurhash
import pyvips

# Decoded this small (shrink-on-load makes it cheap); BlurHash keeps only low frequencies anyway.
SIDE = 32


def blurhash_of(source: pyvips.Source) -> str:
    image = pyvips.Image.thumbnail_source(source, SIDE, height=SIDE)
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    image = image.colourspace("srgb").cast("uchar")
    if image.bands > 3:
        image = image.extract_band(0, n=3)
    data = image.write_to_memory()
    width = image.width
    rows = [
        [data[(y * width + x) * 3 : (y * width + x) * 3 + 3] for x in range(width)]
        for y in range(image.height)
    ]
    # More components along the longer side.
    x_components, y_components = (4, 3) if image.width >= image.height else (3, 4)
    return blurhash.encode(rows, x_components, y_components)
