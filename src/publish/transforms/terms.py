"""Glossary: an id for every term use, first uses, use counts; glossary order."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from ..model import Document, Inline, TermRef, iter_all_inlines
from .base import map_blocks


def term_uses(doc: Document) -> Document:
    counter: Counter[str] = Counter()
    first: dict[str, str] = {}

    def number(i: Inline) -> Inline:
        if not isinstance(i, TermRef):
            return i
        counter[i.entry.id] += 1
        k = counter[i.entry.id]
        ident = f"use-{i.entry.id}-{k}"
        is_first = i.entry.id not in first
        first.setdefault(i.entry.id, ident)
        return replace(i, id=ident, first=is_first and in_text)

    # text first (first uses live there), then reader-note bodies, then editorial ones
    in_text = True
    blocks = map_blocks(doc.blocks, number)
    text_uses = Counter(i.entry.id for i in iter_all_inlines(blocks) if isinstance(i, TermRef))
    notes = []
    for a in sorted(doc.annotations, key=lambda a: not a.for_readers):
        in_text = False
        if not a.for_readers:
            # uses inside editorial notes never become a reader-visible first use
            saved = dict(first)
            notes.append(replace(a, body=map_blocks(a.body, number)))
            first.clear()
            first.update(saved)
        else:
            notes.append(replace(a, body=map_blocks(a.body, number)))
    order = {a.id: k for k, a in enumerate(doc.annotations)}
    notes.sort(key=lambda a: order[a.id])
    glossary = tuple(
        replace(e, first_use_id=first.get(e.id), use_count=text_uses[e.id]) for e in doc.glossary
    )
    return replace(doc, blocks=blocks, annotations=tuple(notes), glossary=glossary)


def glossary_order(doc: Document) -> Document:
    """Entries sorted by term, as a reader looks them up."""
    return replace(doc, glossary=tuple(sorted(doc.glossary, key=lambda e: (e.term.casefold(), e.id))))
