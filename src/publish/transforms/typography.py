"""Typography: straight quotes become curly ones, once, for every format.

The source keeps the authors' straight quotes (typography is the renderer's
job); this transform does what Pandoc's ``smart`` extension does, on the model,
so that PDF, EPUB and DOCX agree. A quote's direction is decided by the
character before it, across inline boundaries within one block; code is left
alone.
"""

from __future__ import annotations

from dataclasses import replace

from ..model import (
    BlockQuote, Code, DefinitionItem, DefinitionList, Div, Document, Emph, GlossaryEntry, Heading,
    Inline, LineBreak, Link, ListBlock, Meta, NoteRef, Paragraph, SoftBreak, Span, SpeakerRef,
    Strong, TermRef, Text,
)

_OPENERS = set(" \t\n([{\u2018\u201c\u2014\u2013-/\u00a0")


def smarten_text(text: str, prev: str = "") -> str:
    out = []
    for ch in text:
        opening = not prev or prev in _OPENERS
        if ch == '"':
            ch = "\u201c" if opening else "\u201d"
        elif ch == "'":
            ch = "\u2018" if opening else "\u2019"
        out.append(ch)
        prev = ch
    return "".join(out)


class _Smartener:
    def __init__(self) -> None:
        self.prev = ""

    def inlines(self, items: tuple[Inline, ...]) -> tuple[Inline, ...]:
        out: list[Inline] = []
        for i in items:
            if isinstance(i, Text):
                new = smarten_text(i.text, self.prev)
                self.prev = i.text[-1:] or self.prev
                out.append(replace(i, text=new) if new != i.text else i)
            elif isinstance(i, Code):
                self.prev = i.text[-1:] or self.prev
                out.append(i)
            elif isinstance(i, (SoftBreak, LineBreak)):
                self.prev = " "
                out.append(i)
            elif isinstance(i, (Emph, Strong, Link, Span, TermRef, NoteRef, SpeakerRef)):
                out.append(replace(i, content=self.inlines(i.content)))
            else:
                out.append(i)
        return tuple(out)


def _inlines(items: tuple[Inline, ...]) -> tuple[Inline, ...]:
    return _Smartener().inlines(items)


def _blocks(blocks):
    out = []
    for b in blocks:
        if isinstance(b, (Heading, Paragraph)):
            b = replace(b, content=_inlines(b.content))
        elif isinstance(b, (BlockQuote, Div)):
            b = replace(b, content=_blocks(b.content))
        elif isinstance(b, ListBlock):
            b = replace(b, items=tuple(_blocks(it) for it in b.items))
        elif isinstance(b, DefinitionList):
            b = replace(b, items=tuple(DefinitionItem(_inlines(it.term), tuple(_blocks(d) for d in it.definitions))
                                       for it in b.items))
        out.append(b)
    return tuple(out)


META_FIELDS = ("title", "title_note", "short_title", "subtitle", "standfirst", "series_note")


def _meta(m: Meta) -> Meta:
    return replace(m, **{f: smarten_text(getattr(m, f)) for f in META_FIELDS})


def _entry(e: GlossaryEntry) -> GlossaryEntry:
    return replace(e, definition=_inlines(e.definition))


def smart_quotes(doc: Document) -> Document:
    return replace(
        doc,
        meta=_meta(doc.meta),
        blocks=_blocks(doc.blocks),
        annotations=tuple(replace(a, body=_blocks(a.body), title=smarten_text(a.title)) for a in doc.annotations),
        glossary=tuple(_entry(e) for e in doc.glossary),
    )
