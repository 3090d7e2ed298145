"""Heading ids: Pandoc-style slugs, unique in the document and among generated ids."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from ..model import BlockQuote, Div, Document, Heading, NoteRef, SpeakerRef, TermRef, iter_all_inlines, plain_text


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[^\w\s-]", "", text)
    text = re.sub(r"[\s_]+", "-", text).strip("-")
    # an XML name (EPUB ids) starts with a letter: "1984" becomes "s-1984"
    if not text or not (text[0].isalpha() and text[0].isascii() or unicodedata.category(text[0]).startswith("L")):
        text = "s-" + text if text else "section"
    return text


def heading_ids(doc: Document) -> Document:
    taken: set[str] = {"opening"}
    for i in iter_all_inlines(doc.blocks):
        if isinstance(i, (TermRef, NoteRef, SpeakerRef)) and i.id:
            taken.add(i.id)
    taken |= {f"note-{a.id}" for a in doc.annotations}
    taken |= {f"gloss-{e.id}" for e in doc.glossary}
    taken |= {f"person-{p.id}" for p in doc.people}

    def walk(blocks):
        out = []
        for b in blocks:
            if isinstance(b, Heading):
                base = b.id or slugify(plain_text(b.content))
                ident, n = base, 1
                while ident in taken:
                    n += 1
                    ident = f"{base}-{n}"
                taken.add(ident)
                b = replace(b, id=ident)
            elif isinstance(b, (BlockQuote, Div)):
                b = replace(b, content=tuple(walk(b.content)))
            out.append(b)
        return out

    return replace(doc, blocks=tuple(walk(doc.blocks)))
