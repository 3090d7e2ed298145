"""Internal links as Pandoc makes them, and what becomes of one that goes nowhere.

``heading_links`` (a transform, after ``heading_ids``): an implicit header
reference (``[Heading]``, ``[text][Heading]``; the reader marks it with the
heading's line) gets the heading's final id.

``unlink_dangling`` (after ``check.lint`` has warned about them): a link to an id
the document does not have keeps its text without the link, so that no writer
meets a link without a target.
"""

from __future__ import annotations

from dataclasses import replace

from ..model import NO_ATTR, Attr, Document, Heading, Link, Span, query, walk


def heading_links(doc: Document) -> Document:
    by_line: dict[str, str] = {}
    for h in query((doc.blocks, doc.annotations), lambda n: n if isinstance(n, Heading) and n.pos else None):
        by_line.setdefault(str(h.pos.line), h.id)

    def fn(n):
        if isinstance(n, Link) and n.attr.get("heading-line") is not None:
            ident = by_line.get(n.attr.get("heading-line") or "")
            if not ident:  # the heading became the title: nothing to link to
                return Span(Attr(), n.content)
            return replace(n, url="#" + ident, attr=NO_ATTR)
        return n

    return walk(doc, fn)


def unlink_dangling(doc: Document, ids: set[str]) -> Document:
    """Links to ``#id`` where ``id`` is not in ``ids`` become their text."""
    def fn(n):
        if isinstance(n, Link) and n.url.startswith("#") and n.url[1:] not in ids:
            return Span(Attr(), n.content)
        return n

    return walk(doc, fn)
