"""Number reader notes 1..n in reading order; give every anchor its id."""

from __future__ import annotations

from dataclasses import replace

from ..model import Document, NoteRef, iter_all_inlines


def number_notes(doc: Document) -> Document:
    order = [i.annotation.id for i in iter_all_inlines(doc.blocks) if isinstance(i, NoteRef)]
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
    doc = replace(doc, annotations=tuple(notes))

    def set_id(i):
        return replace(i, id=f"noteref-{i.annotation.id}") if isinstance(i, NoteRef) else i

    from .base import map_blocks

    return replace(doc, blocks=map_blocks(doc.blocks, set_id))
