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
    Annotation, Code, DefinitionItem, Document, GlossaryEntry, Heading, Inline, LineBreak, Math,
    Meta, Paragraph, Plain, SoftBreak, Text, walk,
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
    """Called on the inlines of one block in reading order (``walk``)."""

    def __init__(self) -> None:
        self.prev = ""

    def __call__(self, i):
        if isinstance(i, Text):
            new = smarten_text(i.text, self.prev)
            self.prev = i.text[-1:] or self.prev
            return replace(i, text=new) if new != i.text else i
        if isinstance(i, (Code, Math)):
            self.prev = i.text[-1:] or self.prev
        elif isinstance(i, (SoftBreak, LineBreak)):
            self.prev = " "
        return i


def _inlines(items: tuple[Inline, ...]) -> tuple[Inline, ...]:
    return walk(items, _Smartener())


META_FIELDS = ("title", "title_note", "short_title", "subtitle", "standfirst", "series_note")


def _node(n):
    """Each run of inlines is smartened on its own, with the quote context of its block."""
    if isinstance(n, (Heading, Paragraph, Plain)):
        return replace(n, content=_inlines(n.content))
    if isinstance(n, DefinitionItem):
        return replace(n, term=_inlines(n.term))
    if isinstance(n, GlossaryEntry):
        return replace(n, definition=_inlines(n.definition))
    if isinstance(n, Annotation):
        return replace(n, title=smarten_text(n.title))
    if isinstance(n, Meta):
        return replace(n, **{f: smarten_text(getattr(n, f)) for f in META_FIELDS})
    return n


def smart_quotes(doc: Document) -> Document:
    return walk(doc, _node)
