"""Ordered model → model transforms, applied once before any writer runs.

Like docutils' ``Transform.default_priority`` or a chain of Pandoc filters:
each takes a Document and returns a new one, rebuilding trees with
``model.walk``. References are ids, so nothing needs relinking afterwards.
Writers never number notes, find first uses or invent ids: it is all done here.
"""

from __future__ import annotations

from typing import Callable

from ..model import Document
from .ids import heading_ids
from .links import heading_links
from .notes import number_notes
from .speakers import speakers
from .terms import glossary_order, term_uses
from .typography import smart_quotes

Transform = Callable[[Document], Document]

# The order matters: ids for headings come last so that they avoid every id the
# other transforms generated.
TRANSFORMS: tuple[Transform, ...] = (
    smart_quotes, number_notes, term_uses, speakers, glossary_order, heading_ids, heading_links,
)


def apply_all(doc: Document) -> Document:
    for t in TRANSFORMS:
        doc = t(doc)
    return doc
