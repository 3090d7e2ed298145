"""Images named by the source: real raster images of sane size, or an error with the line."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

MAX_IMAGE_BYTES = 20_000_000
MAX_PIXELS = 40_000_000  # e.g. 8000 x 5000: far beyond print needs
MAX_SIDE = 20_000
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}


def check_image(path: Path, data: bytes | None = None) -> str | None:
    """None if ``path`` (whose bytes, if given, are ``data``) is a usable image, else the reason it is not."""
    from PIL import Image, UnidentifiedImageError

    size = path.stat().st_size if data is None else len(data)
    if size > MAX_IMAGE_BYTES:
        return f"image is {size:,} bytes; the limit is {MAX_IMAGE_BYTES:,}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # DecompressionBombWarning and friends are errors
            with Image.open(path if data is None else io.BytesIO(data)) as im:
                if im.format not in FORMATS:
                    return f"{im.format} images are not supported (use PNG, JPEG or GIF)"
                w, h = im.size
                if w <= 0 or h <= 0 or w > MAX_SIDE or h > MAX_SIDE or w * h > MAX_PIXELS:
                    return f"image is {w} x {h} pixels; the limit is {MAX_PIXELS:,} pixels ({MAX_SIDE} a side)"
                im.load()  # decodes: a truncated or corrupt file fails here
    except UnidentifiedImageError:
        return "not an image (PNG, JPEG or GIF expected)"
    except Image.DecompressionBombError:
        return "image is too large to decode (decompression bomb?)"
    except (OSError, SyntaxError, ValueError, Warning, Image.DecompressionBombWarning) as exc:
        return f"image cannot be decoded: {exc}"
    return None


def image_format(path: Path, data: bytes | None = None) -> str:
    """PNG, JPEG or GIF (after check_image has accepted the file)."""
    from PIL import Image

    with Image.open(path if data is None else io.BytesIO(data)) as im:
        return str(im.format)
