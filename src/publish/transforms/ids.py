"""Heading ids: Pandoc-style slugs, unique, never clashing with an id the source
gave ({#id}, kept as written) or with the ids publish makes itself."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from ..model import (
    BlockQuote, DefinitionItem, DefinitionList, Div, Document, Heading, Image, ListBlock, Span,
    id_is_reserved, iter_all_inlines, iter_blocks, plain_text,
)


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
    blocks = list(iter_blocks(doc.blocks)) + [b for a in doc.annotations for b in iter_blocks(a.body)]
    ids = {b.id for b in blocks if isinstance(b, Heading) and b.id}
    ids |= {b.attr.id for b in blocks if isinstance(b, Div) and b.attr.id}
    inlines = list(iter_all_inlines(doc.blocks)) + [i for a in doc.annotations for i in iter_all_inlines(a.body)]
    ids |= {i.attr.id for i in inlines if isinstance(i, (Span, Image)) and i.attr.id}
    return ids


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

    def walk(blocks):
        out = []
        for b in blocks:
            if isinstance(b, Heading) and not b.id:
                b = replace(b, id=new_id(b))
            elif isinstance(b, (BlockQuote, Div)):
                b = replace(b, content=walk(b.content))
            elif isinstance(b, ListBlock):
                b = replace(b, items=tuple(walk(it) for it in b.items))
            elif isinstance(b, DefinitionList):
                b = replace(b, items=tuple(DefinitionItem(it.term, tuple(walk(d) for d in it.definitions))
                                           for it in b.items))
            out.append(b)
        return tuple(out)

    return replace(doc, blocks=walk(doc.blocks),
                   annotations=tuple(replace(a, body=walk(a.body)) for a in doc.annotations))
