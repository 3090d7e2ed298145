"""Number reader notes 1..n in reading order; give every anchor its id."""

from __future__ import annotations

from dataclasses import replace

from ..model import Document, NoteRef, query, walk


def number_notes(doc: Document) -> Document:
    order = query(doc.blocks, lambda i: i.ref if isinstance(i, NoteRef) else None)
    rank = {ident: k for k, ident in enumerate(dict.fromkeys(order))}
    ordered = sorted(doc.annotations, key=lambda a: rank.get(a.id, len(rank)))
    n = 0
    notes = []
    for a in ordered:
        anchor = f"noteref-{a.id}" if a.id in rank else None
        if a.for_readers and a.id in rank:
            n += 1
            notes.append(replace(a, number=n, anchor_id=anchor))
        else:
            notes.append(replace(a, number=None, anchor_id=anchor))
    blocks = walk(doc.blocks, lambda i: replace(i, id=f"noteref-{i.ref}") if isinstance(i, NoteRef) else i)
    return replace(doc, blocks=blocks, annotations=tuple(notes))
