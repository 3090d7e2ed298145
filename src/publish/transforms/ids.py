"""Heading ids as Pandoc's ``auto_identifiers`` makes them, unique, never clashing
with an id the source gave ({#id}, kept as written) or with the ids publish makes
itself.

Pandoc (``Text.Pandoc.Shared.inlineListToIdentifier`` and ``uniqueIdent``, for
its ``markdown`` reader, i.e. not ``gfm_auto_identifiers``): the heading's text
(code and image descriptions included, notes left out, ``--``/``---``/``...``
set as dashes and an ellipsis by ``smart``) is lower-cased; everything but
letters, numbers, white space, ``_``, ``-`` and ``.`` is dropped; the words are
joined by ``-``; everything before the first letter is dropped; an empty id is
``section``. A duplicate gets ``-1``, ``-2``, … (the first is unnumbered).

Two deliberate differences, both for ids Pandoc would make that an EPUB cannot
hold or that publish already uses:

* a character that no XML name may hold (``²``, ``½``, ``①``, ``ª``, ``µ``: numbers
  and letters Pandoc keeps but XML 1.0 names do not) is dropped;
* the ids publish makes itself for this document (its fixed ones such as
  ``glossary`` or ``cover``, ``model.RESERVED_IDS``; ``note-ID``, ``noteref-ID``,
  ``gloss-ID``, ``person-ID``, ``use-ID-N``, ``speaker-ID-N`` of the notes, entries
  and marks the document has; ``section-X`` around a level-1 heading ``X`` in the
  PDF) and ids given with ``{#id}`` anywhere in the source count as taken before
  the first heading: a heading "Glossary" gets ``glossary-1``, as if publish's own
  glossary came first. Only the ids actually made count, not whole prefixes: a
  heading "Use cases" keeps ``use-cases``. Ordinary headings get exactly
  Pandoc's id.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from ..model import (
    Code, Document, Heading, Image, LineBreak, Math, NoteRef, RESERVED_IDS, SoftBreak, SpeakerRef, TermRef,
    Text, nodes, query, walk,
)

_SMART = (("---", "\u2014"), ("--", "\u2013"), ("...", "\u2026"))


def _is_space(c: str) -> bool:  # Haskell's Data.Char.isSpace
    return c in " \t\n\r\f\v\xa0" or unicodedata.category(c) == "Zs"


def _is_alnum(c: str) -> bool:  # Haskell's isAlphaNum: letters (L*) and numbers (N*), no marks
    return unicodedata.category(c)[0] in "LN"


def _xml_name_char(c: str) -> bool:
    """XML 1.0 (fifth edition) NameChar, less ':'."""
    o = ord(c)
    return (c in "-._" or "0" <= c <= "9" or "a" <= c <= "z" or "A" <= c <= "Z" or o == 0xB7
            or 0xC0 <= o <= 0xD6 or 0xD8 <= o <= 0xF6 or 0xF8 <= o <= 0x37D or 0x37F <= o <= 0x1FFF
            or 0x200C <= o <= 0x200D or 0x203F <= o <= 0x2040 or 0x2070 <= o <= 0x218F
            or 0x2C00 <= o <= 0x2FEF or 0x3001 <= o <= 0xD7FF or 0xF900 <= o <= 0xFDCF
            or 0xFDF0 <= o <= 0xFFFD or 0x10000 <= o <= 0xEFFFF)


def xml_id_ok(ident: str) -> bool:
    """An id an EPUB can hold: an XML name without ':' (non-ASCII letters included),
    starting with a letter or '_'."""
    return bool(ident) and (ident[0] == "_" or unicodedata.category(ident[0]).startswith("L")) \
        and _xml_name_char(ident[0]) and all(_xml_name_char(c) for c in ident)


def smart_dashes(text: str) -> str:
    """What Pandoc's ``smart`` makes of dashes and dots in text (not in code)."""
    for a, b in _SMART:
        text = text.replace(a, b)
    return text


def slugify(text: str) -> str:
    """Pandoc's identifier for a heading whose plain text is ``text`` (after ``smart``)."""
    text = "".join(c for c in text.lower() if _is_alnum(c) or _is_space(c) or c in "_-.")
    words = "".join(" " if _is_space(c) else c for c in text).split(" ")
    text = "-".join(w for w in words if w)
    text = "".join(c for c in text if _xml_name_char(c))
    while text and not unicodedata.category(text[0]).startswith("L"):  # Pandoc: dropWhile (not . isAlpha)
        text = text[1:]
    return text or "section"


def heading_text(inlines) -> str:
    """A heading's text as Pandoc's ``stringify`` sees it: code as written, the rest
    with ``smart`` dashes; footnote calls (point anchors) have no text."""
    out: list[str] = []
    for i in nodes(inlines):
        if isinstance(i, (Code, Math)):
            out.append(i.text)
        elif isinstance(i, Text):
            out.append(smart_dashes(i.text))
        elif isinstance(i, (SoftBreak, LineBreak)):
            out.append(" ")
        elif isinstance(i, Image):
            out.append(smart_dashes(i.alt))
    return "".join(out)


def _explicit_ids(doc: Document) -> set[str]:
    """Every id the source gave (headings, divs, spans, images, tables, figures, cells...)."""
    return set(query(doc, lambda n: n.attr.id or None if hasattr(n, "attr") else None))


def _generated_ids(doc: Document) -> set[str]:
    """The ids publish itself gives to this document's notes, entries, people and marks."""
    ids = set(RESERVED_IDS)
    for a in doc.annotations:
        ids |= {a.note_id, a.anchor_id or ""}
    ids |= {e.anchor for e in doc.glossary} | {p.anchor for p in doc.people}
    ids |= set(query(doc, lambda i: i.id if isinstance(i, (TermRef, NoteRef, SpeakerRef)) else None))
    return ids - {""}


def heading_ids(doc: Document) -> Document:
    taken = _explicit_ids(doc) | _generated_ids(doc)

    def new_id(h: Heading) -> str:
        base = slugify(heading_text(h.content))
        ident, n = base, 0
        # a level-1 heading X is wrapped in <section id="section-X"> in the PDF
        while ident in taken or (h.level == 1 and f"section-{ident}" in taken):
            n += 1
            ident = f"{base}-{n}"
        taken.add(ident)
        if h.level == 1:
            taken.add(f"section-{ident}")
        return ident

    def fn(b):
        if isinstance(b, Heading) and not b.id:
            return replace(b, attr=replace(b.attr, id=new_id(b)))
        return b

    return replace(doc, blocks=walk(doc.blocks, fn),
                   annotations=tuple(walk(a, fn) for a in doc.annotations))
