"""Rebuilding frozen trees: apply a function to every inline, bottom-up."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from ..model import (
    Annotation, Block, BlockQuote, DefinitionItem, DefinitionList, Div, Document, Emph, Heading,
    Inline, Link, ListBlock, NoteRef, Paragraph, Span, SpeakerRef, Strong, TermRef,
)

InlineFn = Callable[[Inline], Inline]
_CONTAINERS = (Emph, Strong, Link, Span, TermRef, NoteRef, SpeakerRef)


def map_inlines(inlines: tuple[Inline, ...], fn: InlineFn) -> tuple[Inline, ...]:
    out = []
    for i in inlines:
        if isinstance(i, _CONTAINERS):
            i = replace(i, content=map_inlines(i.content, fn))
        out.append(fn(i))
    return tuple(out)


def map_blocks(blocks: tuple[Block, ...], fn: InlineFn) -> tuple[Block, ...]:
    out: list[Block] = []
    for b in blocks:
        if isinstance(b, (Heading, Paragraph)):
            b = replace(b, content=map_inlines(b.content, fn))
        elif isinstance(b, (BlockQuote, Div)):
            b = replace(b, content=map_blocks(b.content, fn))
        elif isinstance(b, ListBlock):
            b = replace(b, items=tuple(map_blocks(it, fn) for it in b.items))
        elif isinstance(b, DefinitionList):
            b = replace(b, items=tuple(
                DefinitionItem(map_inlines(it.term, fn), tuple(map_blocks(d, fn) for d in it.definitions))
                for it in b.items))
        out.append(b)
    return tuple(out)


def map_document(doc: Document, fn: InlineFn, *, bodies: bool = True) -> Document:
    """Apply ``fn`` to every inline of the text and (optionally) of note bodies."""
    blocks = map_blocks(doc.blocks, fn)
    notes: tuple[Annotation, ...] = doc.annotations
    if bodies:
        notes = tuple(replace(a, body=map_blocks(a.body, fn)) for a in doc.annotations)
    return replace(doc, blocks=blocks, annotations=notes)


def relink(doc: Document) -> Document:
    """Point every reference at the canonical object in the document's collections.

    Transforms replace entries, people and annotations with updated copies; this
    makes term uses, speaker marks and note anchors (in the text and in note
    bodies) hold those copies, so the model never carries a stale reference.
    """
    entries = {e.id: e for e in doc.glossary}
    people = {p.id: p for p in doc.people}

    def leaf(i: Inline) -> Inline:
        if isinstance(i, TermRef) and i.entry.id in entries:
            return replace(i, entry=entries[i.entry.id])
        if isinstance(i, SpeakerRef) and i.person.id in people:
            return replace(i, person=people[i.person.id])
        return i

    notes = tuple(replace(a, body=map_blocks(a.body, leaf)) for a in doc.annotations)
    by_id = {a.id: a for a in notes}

    def full(i: Inline) -> Inline:
        i = leaf(i)
        if isinstance(i, NoteRef) and i.annotation.id in by_id:
            return replace(i, annotation=by_id[i.annotation.id])
        return i

    return replace(doc, annotations=notes, blocks=map_blocks(doc.blocks, full))
