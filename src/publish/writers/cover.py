"""The raster cover: the SVG cover template, drawn to PNG with Pillow.

calibre, Kindle and most library thumbnailers ignore an SVG ``cover-image``, so the
book ships a PNG. It is drawn from the same template (``templates/epub/cover.svg``,
which ``styles/templates/`` may override) by reading its ``<rect>`` and ``<text>``
elements -- the only ones the template uses -- and setting the text in the Noto
faces Debian ships (fonts-noto-core, fonts-noto-cjk; see scripts/system-deps.sh),
CJK runs in Noto Serif/Sans CJK SC. Identical input gives identical bytes: no
timestamps, fixed palette, fixed compression.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from lxml import etree

from .common import CJK_RUN

SVG_NS = "http://www.w3.org/2000/svg"
FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/opentype/noto"))
# (family, bold) -> Latin face file; CJK face file and its Simplified Chinese index
LATIN_FACES = {
    ("serif", True): "NotoSerif-Bold.ttf", ("serif", False): "NotoSerif-Regular.ttf",
    ("sans-serif", True): "NotoSans-Bold.ttf", ("sans-serif", False): "NotoSans-Regular.ttf",
}
CJK_FACES = {
    ("serif", True): "NotoSerifCJK-Bold.ttc", ("serif", False): "NotoSerifCJK-Regular.ttc",
    ("sans-serif", True): "NotoSansCJK-Bold.ttc", ("sans-serif", False): "NotoSansCJK-Regular.ttc",
}
CJK_SC_INDEX = 2  # JP, KR, SC, TC, HK in Debian's Noto CJK collections


class CoverError(Exception):
    pass


def font_file(name: str) -> Path:
    for d in FONT_DIRS:
        if (d / name).is_file():
            return d / name
    raise CoverError(f"font {name} is missing (Debian packages fonts-noto-core and fonts-noto-cjk; "
                     "run scripts/system-deps.sh)")


@lru_cache(maxsize=64)
def _font(name: str, size: int, index: int = 0):
    from PIL import ImageFont

    return ImageFont.truetype(str(font_file(name)), size, index=index, layout_engine=ImageFont.Layout.BASIC)


def _runs(text: str) -> list[tuple[str, bool]]:
    """The text cut into (run, is_cjk)."""
    out, pos = [], 0
    for m in CJK_RUN.finditer(text):
        if m.start() > pos:
            out.append((text[pos:m.start()], False))
        out.append((m.group(), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def _colour(value: str) -> tuple[int, int, int]:
    v = value.lstrip("#")
    if len(v) == 3:
        v = "".join(c * 2 for c in v)
    return int(v[0:2], 16), int(v[2:4], 16), int(v[4:6], 16)


def rasterize(svg: bytes, width: int, height: int) -> bytes:
    """The cover SVG as a PNG of ``width`` x ``height`` pixels."""
    from PIL import Image, ImageDraw

    root = etree.fromstring(svg)
    vb = [float(x) for x in (root.get("viewBox") or f"0 0 {width} {height}").split()]
    sx, sy = width / vb[2], height / vb[3]
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for el in root.iter(f"{{{SVG_NS}}}rect", f"{{{SVG_NS}}}text"):
        fill = _colour(el.get("fill", "#000000"))
        if el.tag == f"{{{SVG_NS}}}rect":
            x, y = float(el.get("x", 0)) * sx, float(el.get("y", 0)) * sy
            w, h = float(el.get("width")) * sx, float(el.get("height")) * sy
            draw.rectangle((round(x), round(y), round(x + w) - 1, round(y + h) - 1), fill=fill)
            continue
        family = "sans-serif" if el.get("font-family", "serif") == "sans-serif" else "serif"
        bold = el.get("font-weight", "normal") in ("bold", "700", "600")
        size = float(el.get("font-size", 16)) * sy
        x, y = float(el.get("x", 0)) * sx, float(el.get("y", 0)) * sy
        text = "".join(el.itertext())
        # Shrink a line the template's estimate made too long for the cover.
        avail = width - 2 * x  # the template's margins are symmetric
        for _ in range(8):
            runs = [(t, _font(CJK_FACES[(family, bold)], round(size), CJK_SC_INDEX) if cjk
                     else _font(LATIN_FACES[(family, bold)], round(size))) for t, cjk in _runs(text)]
            total = sum(f.getlength(t) for t, f in runs)
            if total <= avail or size < 12:
                break
            size *= avail / total * 0.99
        for t, f in runs:
            draw.text((x, y), t, font=f, fill=fill, anchor="ls")
            x += f.getlength(t)
    # A fixed palette keeps the file small and the bytes stable.
    out = io.BytesIO()
    img.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, format="PNG", optimize=True)
    return out.getvalue()
