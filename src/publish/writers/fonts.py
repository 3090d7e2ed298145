"""A CJK face that travels with the EPUB: a subset of Noto Serif CJK SC.

A reading system without a CJK font shows nothing (or boxes) for Chinese. The book
carries the Simplified Chinese face of Debian's Noto Serif CJK (fonts-noto-cjk),
cut down with fontTools to the characters the book uses, not obfuscated (the SIL
Open Font License allows redistribution; its notice stays in the name table).
The stylesheet prefers the reader's own Noto Serif CJK SC and falls back to it.
Identical characters give identical bytes (the font's own timestamps are kept).
"""

from __future__ import annotations

import io
from functools import lru_cache

from .common import CJK_RUN
from .cover import CJK_SC_INDEX, font_file

FACE = "NotoSerifCJK-Regular.ttc"
FAMILY = "Noto Serif CJK SC"
SUBSET_FAMILY = "Noto Serif CJK SC (publish subset)"
FILE = "fonts/noto-serif-cjk-sc-subset.otf"
MEDIA_TYPE = "font/otf"


def cjk_chars(*texts: str) -> str:
    """Every CJK character in ``texts``, sorted, once."""
    found: set[str] = set()
    for t in texts:
        for m in CJK_RUN.finditer(t):
            found.update(m.group())
    return "".join(sorted(found))


@lru_cache(maxsize=8)
def cjk_subset(chars: str) -> bytes:
    """Noto Serif CJK SC holding only ``chars`` (and what shaping them needs), as OTF."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(font_file(FACE)), fontNumber=CJK_SC_INDEX, recalcTimestamp=False, lazy=False)
    options = subset.Options()
    options.name_IDs = ["*"]  # keep the copyright and licence notices (OFL)
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.recalc_timestamp = False
    sub = subset.Subsetter(options)
    sub.populate(text=chars)
    sub.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def css(font_href: str, count: int) -> str:
    """The rules that use the subset (appended to the book's stylesheet)."""
    return (
        f"\n/* Added by publish: {FAMILY} cut down to the {count} CJK characters of this book\n"
        "   (SIL Open Font License 1.1), for reading systems that have no CJK face. */\n"
        f'@font-face {{ font-family: "{SUBSET_FAMILY}"; src: url("{font_href}") format("opentype"); }}\n'
        f'[lang|="zh"] {{ font-family: "{FAMILY}", "{SUBSET_FAMILY}", serif; }}\n'
        '[lang|="zh-Latn"] { font-family: inherit; }\n'
    )
