"""Which characters the PDF can draw, predicted before rendering (``publish check``).

WeasyPrint lays text out with Pango, which takes each character from the first
font of the CSS ``font-family`` list that has it and otherwise falls back to
*any* font fontconfig knows. So a character prints as a box (.notdef) exactly
when no installed font and no font file in ``styles/fonts/`` covers it. The
coverage is read once per process: from fontconfig itself (the library
WeasyPrint uses, called in this process: nothing is executed) for the
installed fonts, and with fontTools for the files in styles/.

Characters that need no glyph (tab, line ends, default-ignorables) are never
reported; a few that Pango always draws as a box are. The severity of a
missing glyph is decided here, once.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import unicodedata
from pathlib import Path
from typing import Iterator

from .diagnostics import Collector, Severity
from .model import Document, Pos, Text, nodes

# A character no font has: the PDF prints a visible stand-in (``glyph_stand_in``)
# instead of a box; the other formats keep the character. A warning (--strict: an error).
MISSING_GLYPH_SEVERITY: Severity = "warning"


def glyph_stand_in(ch: str) -> str:
    """What the PDF prints for a character no font has: its code point, bracketed."""
    return f"[U+{ord(ch):04X}]"

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc", ".woff", ".woff2")
# Code points Pango draws without a glyph: tab, line ends and the default-ignorables
# (Unicode DerivedCoreProperties; U+1BCA0-1BCA3 excepted: Pango draws .notdef for
# them). Checked against WeasyPrint's own .notdef warnings over every control,
# format and separator character and a sample of the others (tests/test_predict.py).
_IGNORABLE = (
    (0x0000, 0x0000), (0x0009, 0x000A), (0x000D, 0x000D),
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
# Code points Pango draws as a box even when a font maps them: controls, the
# line separator, interlinear annotation and some concatenation/shorthand
# format marks (found the same way).
_ALWAYS_BOX = (
    (0x0001, 0x0008), (0x000B, 0x000C), (0x000E, 0x001F), (0x007F, 0x009F), (0x2028, 0x2028),
    (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x1BCA0, 0x1BCA3),
)
# Fields of the model that never reach the page (ids, references, URLs, options).
_NOT_PRINTED = {"id", "ref", "url", "src", "lang", "path", "anchor_id", "first_use_id", "language",
                "identifier", "kind", "attr", "source_path", "pos", "number", "label", "romanized_lang"}


class Coverage:
    """A set of code points as 256-bit pages (fontconfig's own layout)."""

    def __init__(self, pages: dict[int, int] | None = None):
        self.pages: dict[int, int] = dict(pages or {})

    @classmethod
    def of(cls, codepoints) -> "Coverage":
        pages: dict[int, int] = {}
        for cp in codepoints:
            pages[cp >> 8] = pages.get(cp >> 8, 0) | (1 << (cp & 0xFF))
        return cls(pages)

    def __contains__(self, cp: int) -> bool:
        return bool((self.pages.get(cp >> 8, 0) >> (cp & 0xFF)) & 1)

    def __or__(self, other: "Coverage") -> "Coverage":
        pages = dict(self.pages)
        for k, v in other.pages.items():
            pages[k] = pages.get(k, 0) | v
        return Coverage(pages)

    def __len__(self) -> int:
        return sum(bin(v).count("1") for v in self.pages.values())


_FONTCONFIG_NAMES = ("libfontconfig.so.1", "libfontconfig.1.dylib", "libfontconfig-1.dll")


class _FcFontSet(ctypes.Structure):
    _fields_ = [("nfont", ctypes.c_int), ("sfont", ctypes.c_int), ("fonts", ctypes.POINTER(ctypes.c_void_p))]


def _fontconfig():
    for name in _FONTCONFIG_NAMES:
        try:
            return ctypes.CDLL(name)  # a plain dlopen: no search that runs a program
        except OSError:
            continue
    return None


@functools.lru_cache(maxsize=1)
def system_coverage() -> Coverage | None:
    """Every code point some installed font has (fontconfig's font list, in
    process); None if fontconfig cannot be loaded."""
    fc = _fontconfig()
    if fc is None:
        return None
    vp, u32 = ctypes.c_void_p, ctypes.c_uint32
    fc.FcInit.restype = ctypes.c_int
    fc.FcPatternCreate.restype = vp
    fc.FcPatternDestroy.argtypes = [vp]
    fc.FcObjectSetBuild.restype = vp
    fc.FcObjectSetDestroy.argtypes = [vp]
    fc.FcFontList.restype = ctypes.POINTER(_FcFontSet)
    fc.FcFontList.argtypes = [vp, vp, vp]
    fc.FcFontSetDestroy.argtypes = [ctypes.POINTER(_FcFontSet)]
    fc.FcPatternGetCharSet.restype = ctypes.c_int
    fc.FcPatternGetCharSet.argtypes = [vp, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(vp)]
    for f in (fc.FcCharSetFirstPage, fc.FcCharSetNextPage):
        f.restype = u32
        f.argtypes = [vp, ctypes.POINTER(u32 * 8), ctypes.POINTER(u32)]
    if not fc.FcInit():
        return None
    pattern = fc.FcPatternCreate()
    objects = fc.FcObjectSetBuild(b"charset", None)
    fontset = fc.FcFontList(None, pattern, objects)
    pages: dict[int, int] = {}
    try:
        if not fontset:
            return None
        bitmap, nxt, charset = (u32 * 8)(), u32(), vp()
        for i in range(fontset.contents.nfont):
            if fc.FcPatternGetCharSet(fontset.contents.fonts[i], b"charset", 0, ctypes.byref(charset)) != 0:
                continue
            base = fc.FcCharSetFirstPage(charset, ctypes.byref(bitmap), ctypes.byref(nxt))
            while base != 0xFFFFFFFF:  # FC_CHARSET_DONE
                bits = 0
                for k in range(8):
                    bits |= bitmap[k] << (32 * k)
                pages[base >> 8] = pages.get(base >> 8, 0) | bits
                base = fc.FcCharSetNextPage(charset, ctypes.byref(bitmap), ctypes.byref(nxt))
    finally:
        if fontset:
            fc.FcFontSetDestroy(fontset)
        fc.FcObjectSetDestroy(objects)
        fc.FcPatternDestroy(pattern)
    return Coverage(pages)


@functools.lru_cache(maxsize=64)
def _font_file_coverage(path: str, _mtime_ns: int) -> Coverage:
    from fontTools.ttLib import TTCollection, TTFont, TTLibError

    cps: set[int] = set()
    try:
        if path.lower().endswith((".ttc", ".otc")):
            fonts = list(TTCollection(path, lazy=True).fonts)
        else:
            fonts = [TTFont(path, lazy=True, fontNumber=0)]
        for f in fonts:
            cmap = f.getBestCmap() or {}
            cps.update(cmap)
    except (TTLibError, OSError, KeyError, AssertionError, ValueError):
        pass
    return Coverage.of(cps)


def styles_coverage(styles_dir: Path | None) -> Coverage:
    """Code points of the font files in ``styles/fonts/`` (loaded by @font-face)."""
    total = Coverage()
    if styles_dir is None or not (Path(styles_dir) / "fonts").is_dir():
        return total
    for p in sorted((Path(styles_dir) / "fonts").rglob("*")):
        if p.is_file() and p.suffix.lower() in FONT_SUFFIXES:
            total = total | _font_file_coverage(str(p), p.stat().st_mtime_ns)
    return total


def needs_glyph(ch: str) -> bool:
    cp = ord(ch)
    return not any(lo <= cp <= hi for lo, hi in _IGNORABLE) and unicodedata.category(ch) != "Cs"


def _always_box(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _ALWAYS_BOX)


def _texts(doc: Document) -> Iterator[tuple[str, Pos | None, bool]]:
    """Every printed string of the model with where it starts; the flag says the
    position is exact to the character (a Text node), not just its node's (or
    the nearest node before it that has one). Editorial notes never reach the PDF."""
    pos: Pos | None = doc.meta.pos
    for node in nodes((doc.blocks, doc.meta, doc.reader_notes, doc.glossary, doc.people)):
        pos = getattr(node, "pos", None) or pos
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if f.name in _NOT_PRINTED:
                continue
            if isinstance(value, str):
                yield value, pos, isinstance(node, Text) and f.name == "text"
            elif isinstance(value, tuple):  # authors, aliases, keywords
                yield from ((v, pos, False) for v in value if isinstance(v, str))


def missing_glyphs(doc: Document, styles_dir: Path | None = None) -> list[tuple[str, Pos | None]]:
    """Each character of the printed text that no font covers, with its first use."""
    system = system_coverage()
    if system is None:
        return []  # no fontconfig: nothing can be predicted (and WeasyPrint could not run either)
    cover = system | styles_coverage(styles_dir)
    found: dict[str, Pos | None] = {}
    checked: set[str] = set()
    for text, pos, exact in _texts(doc):
        for i, ch in enumerate(text):
            if ch in checked:
                continue
            checked.add(ch)
            if needs_glyph(ch) and (ord(ch) not in cover or _always_box(ch)):
                found[ch] = Pos(pos.path, pos.line, pos.col + i) if (pos and exact) else pos
    return list(found.items())


def check_glyphs(doc: Document, diag: Collector, styles_dir: Path | None = None) -> None:
    """Report every character the PDF would print as a box, at its first use."""
    report = diag.error if MISSING_GLYPH_SEVERITY == "error" else diag.warning
    for ch, pos in missing_glyphs(doc, styles_dir):
        where = pos or doc.meta.pos or Pos(doc.source_path, 1, 1)
        report(where.path, where.line, where.col,
               f"PDF: no font in styles/ or on this system has {ch!r} (U+{ord(ch):04X}): the PDF prints "
               f"'{glyph_stand_in(ch)}' in its place (EPUB and DOCX keep it); add a font that has it to styles/fonts/")
