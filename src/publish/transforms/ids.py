"""Heading ids: Pandoc-style slugs, unique, never clashing with an id the source
gave ({#id}, kept as written) or with the ids publish makes itself."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from ..model import Document, Heading, id_is_reserved, plain_text, query, walk


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    # keep what an XML name may hold: letters, marks, decimal digits, "-", "_", "."
    text = "".join(c for c in text if c in "-_ \t\n" or unicodedata.category(c)[0] in "LM"
                   or unicodedata.category(c) in ("Nd", "Nl"))
    text = re.sub(r"[\s_]+", "-", text).strip("-")
    # an XML name (EPUB ids) starts with a letter: "1984" becomes "s-1984"
    if not text or not unicodedata.category(text[0]).startswith("L"):
        text = "s-" + text if text else "section"
    return text


def _explicit_ids(doc: Document) -> set[str]:
    """Every id the source gave (headings, divs, spans, images, tables, figures, cells...)."""
    return set(query(doc, lambda n: n.attr.id or None if hasattr(n, "attr") else None))


def heading_ids(doc: Document) -> Document:
    taken = _explicit_ids(doc)

    def new_id(h: Heading) -> str:
        base = slugify(plain_text(h.content))
        if id_is_reserved(base):
            base = "h-" + base
        ident, n = base, 1
        while ident in taken or id_is_reserved(ident):
            n += 1
            ident = f"{base}-{n}"
        taken.add(ident)
        return ident

    def fn(b):
        if isinstance(b, Heading) and not b.id:
            return replace(b, attr=replace(b.attr, id=new_id(b)))
        return b

    return replace(doc, blocks=walk(doc.blocks, fn),
                   annotations=tuple(walk(a, fn) for a in doc.annotations))
