"""Glossary: an id for every term use, first uses, use counts; glossary order."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from ..model import Document, TermRef, query, walk


def term_uses(doc: Document) -> Document:
    counter: Counter[str] = Counter()
    first: dict[str, str] = {}
    in_text = True

    def number(i):
        if not isinstance(i, TermRef):
            return i
        counter[i.ref] += 1
        ident = f"use-{i.ref}-{counter[i.ref]}"
        is_first = i.ref not in first
        first.setdefault(i.ref, ident)
        return replace(i, id=ident, first=is_first and in_text)

    # text first (first uses live there), then reader-note bodies, then editorial ones
    blocks = walk(doc.blocks, number)
    text_uses = Counter(query(blocks, lambda i: i.ref if isinstance(i, TermRef) else None))
    in_text = False
    notes = {}
    for a in sorted(doc.annotations, key=lambda a: not a.for_readers):
        saved = dict(first)
        notes[a.id] = walk(a, number)
        if not a.for_readers:  # uses inside editorial notes never become a reader-visible first use
            first.clear()
            first.update(saved)
    glossary = tuple(
        replace(e, first_use_id=first.get(e.id), use_count=text_uses[e.id]) for e in doc.glossary
    )
    return replace(doc, blocks=blocks, annotations=tuple(notes[a.id] for a in doc.annotations),
                   glossary=glossary)


def glossary_order(doc: Document) -> Document:
    """Entries sorted by term, as a reader looks them up."""
    return replace(doc, glossary=tuple(sorted(doc.glossary, key=lambda e: (e.term.casefold(), e.id))))
