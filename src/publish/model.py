"""The document model: one neutral, immutable tree that every writer consumes.

Only the reader builds it from Markdown and YAML; transforms return new trees
(``dataclasses.replace``); writers read it and never open source files.

References between nodes are ids, resolved through the document (as in
Pandoc, where a ``Cite`` names a key): a term use holds its entry's id,
``doc.entry(ref)`` finds the entry; likewise ``doc.note(ref)`` and
``doc.person(ref)``. A transform that updates an entry never has to relink the
tree. Numbering (notes), first uses (terms, people) and ids are filled in by the
transforms in ``publish.transforms`` before any writer runs.

One generic traversal serves everything (Pandoc's ``walk``/``query``):
``walk(node, fn)`` rebuilds a tree bottom-up, ``nodes(node)`` yields every node
in reading order, ``query(node, fn)`` collects what ``fn`` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass, replace
from functools import cached_property
from typing import Any, Callable, Iterator, Literal, TypeVar, Union

# --------------------------------------------------------------------------
# Positions (for diagnostics only; never part of equality)


@dataclass(frozen=True)
class Pos:
    path: str
    line: int
    col: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


def _pos() -> Pos | None:
    return field(default=None, compare=False, repr=False)  # type: ignore[return-value]


# --------------------------------------------------------------------------
# Ids: publish makes ids with these prefixes (notes, term uses, glossary
# entries, people) and its templates use these names; an id in the source may
# use neither, and heading slugs avoid them.
RESERVED_ID_PREFIXES: tuple[str, ...] = ("note-", "noteref-", "use-", "gloss-", "person-", "speaker-", "section-", "fn-")
RESERVED_IDS: frozenset[str] = frozenset({
    "opening", "title", "cover-title", "title-page-title", "glossary", "glossary-heading", "glossary-title",
    "voices", "voices-heading", "voices-title", "colophon-title", "toc", "landmarks", "cover",
})


def id_is_reserved(ident: str) -> bool:
    return ident in RESERVED_IDS or ident.startswith(RESERVED_ID_PREFIXES)


# --------------------------------------------------------------------------
# Side records: people, glossary entries, annotations


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str = ""
    affiliation: str = ""
    # id of the first speaker mark in the text (set by transforms.speakers)
    first_use_id: str | None = None
    pos: Pos | None = _pos()

    @property
    def anchor(self) -> str:
        """The id of this person's entry in the list of voices."""
        return f"person-{self.id}"


@dataclass(frozen=True)
class Source:
    """A citation attached to an annotation."""

    title: str
    url: str = ""
    publisher: str = ""
    date: str = ""


@dataclass(frozen=True)
class NativeName:
    """A glossary term in its own script, any language, with its romanisation."""

    lang: str  # BCP 47 tag of ``text`` (zh-Hans, ar, el, ru, hi, ...)
    text: str
    romanized: str = ""
    romanized_lang: str = ""  # BCP 47 tag of ``romanized`` (zh-Latn-pinyin, ar-Latn, ...)


@dataclass(frozen=True)
class GlossaryEntry:
    id: str
    term: str
    definition: tuple["Inline", ...]
    expansion: str = ""
    native: tuple[NativeName, ...] = ()  # the glossary's zh/pinyin become one (zh-Hans)
    aliases: tuple[str, ...] = ()
    see_also: tuple[str, ...] = ()  # ids of other entries (validated by the reader)
    # set by transforms.terms
    first_use_id: str | None = None
    use_count: int = 0
    pos: Pos | None = _pos()

    @property
    def anchor(self) -> str:
        """The id of this entry in the glossary."""
        return f"gloss-{self.id}"


AnnotationKind = Literal["context", "update", "source", "editorial", "footnote"]


@dataclass(frozen=True)
class Annotation:
    """A note anchored to a span of the text.

    ``footnote`` is the kind given to plain Markdown footnotes (``[^1]``).
    ``editorial`` notes are for editors only and never reach reader formats.
    """

    id: str
    kind: AnnotationKind
    body: tuple["Block", ...]
    title: str = ""
    sources: tuple[Source, ...] = ()
    author: str = ""
    date: str = ""
    # set by transforms.notes: reader notes are numbered 1..n in reading order;
    # editorial notes keep number None.
    number: int | None = None
    anchor_id: str | None = None  # id of the NoteRef in the text
    pos: Pos | None = _pos()

    @property
    def for_readers(self) -> bool:
        return self.kind != "editorial"

    @property
    def note_id(self) -> str:
        """The id of the note's body (the anchor in the text is ``anchor_id``)."""
        return f"note-{self.id}"


# --------------------------------------------------------------------------
# Inlines


@dataclass(frozen=True)
class Attr:
    """Pandoc's generic (id, classes, key-values) for what the syntax does not name."""

    id: str = ""
    classes: tuple[str, ...] = ()
    kv: tuple[tuple[str, str], ...] = ()

    def get(self, key: str, default: str | None = None) -> str | None:
        for k, v in self.kv:
            if k == key:
                return v
        return default


NO_ATTR = Attr()


@dataclass(frozen=True)
class Text:
    text: str
    pos: Pos | None = _pos()  # where the text starts in the source (diagnostics only)


@dataclass(frozen=True)
class Emph:
    content: tuple["Inline", ...]


@dataclass(frozen=True)
class Strong:
    content: tuple["Inline", ...]


@dataclass(frozen=True)
class Strikeout:
    content: tuple["Inline", ...]


@dataclass(frozen=True)
class Subscript:
    content: tuple["Inline", ...]


@dataclass(frozen=True)
class Superscript:
    content: tuple["Inline", ...]


@dataclass(frozen=True)
class Code:
    text: str
    attr: Attr = NO_ATTR


@dataclass(frozen=True)
class Math:
    """TeX math: ``$x^2$`` (inline) or ``$$…$$`` (display), as Pandoc's ``Math``."""

    text: str
    display: bool = False
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class SoftBreak:
    pass


@dataclass(frozen=True)
class LineBreak:
    pass


@dataclass(frozen=True)
class Link:
    url: str  # an absolute URL (https:, mailto:, ...) or "#id" of a place in the document
    content: tuple["Inline", ...]
    title: str = ""
    attr: Attr = NO_ATTR
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class Image:
    """An image. ``src`` is the resolved path relative to the source folder.
    ``attr`` may hold ``width``/``height`` (``{width=50%}``, as Pandoc)."""

    src: str
    alt: str
    title: str = ""
    attr: Attr = NO_ATTR
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class Span:
    attr: Attr
    content: tuple["Inline", ...]


@dataclass(frozen=True)
class TermRef:
    """A use of a glossary term: ``[CAC]{.term}`` or ``[the regulator]{.term ref=cac}``.
    ``ref`` is the entry's id (``doc.entry(ref)``)."""

    ref: str
    content: tuple["Inline", ...]
    id: str = ""  # unique anchor id, e.g. "use-cac-1" (transforms.terms)
    first: bool = False  # first use of this entry in the text
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class NoteRef:
    """The anchor of an annotation: ``[Didi Chuxing]{.note ref=didi-delisting}``.
    ``ref`` is the annotation's id (``doc.note(ref)``).

    For a Markdown footnote ``content`` is empty (a point anchor)."""

    ref: str
    content: tuple["Inline", ...]
    id: str = ""  # anchor id, e.g. "noteref-didi-delisting"
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class SpeakerRef:
    """A quoted person: ``[Kendra Schaefer]{.speaker ref=kendra-schaefer}``.
    ``ref`` is the person's id (``doc.person(ref)``)."""

    ref: str
    content: tuple["Inline", ...]
    id: str = ""
    first: bool = False
    pos: Pos | None = _pos()


Inline = Union[
    Text, Emph, Strong, Strikeout, Subscript, Superscript, Code, Math, SoftBreak, LineBreak,
    Link, Image, Span, TermRef, NoteRef, SpeakerRef,
]
INLINE_TYPES: tuple[type, ...] = Inline.__args__  # type: ignore[attr-defined]

# --------------------------------------------------------------------------
# Blocks


@dataclass(frozen=True)
class Heading:
    level: int
    content: tuple[Inline, ...]
    attr: Attr = NO_ATTR
    pos: Pos | None = _pos()

    @property
    def id(self) -> str:
        return self.attr.id


@dataclass(frozen=True)
class Paragraph:
    content: tuple[Inline, ...]
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class Plain:
    """Inlines not set as a paragraph of their own (a table cell, a short caption): Pandoc's ``Plain``."""

    content: tuple[Inline, ...]
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class BlockQuote:
    content: tuple["Block", ...]
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class ListBlock:
    ordered: bool
    items: tuple[tuple["Block", ...], ...]
    start: int = 1
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class DefinitionItem:
    term: tuple[Inline, ...]
    definitions: tuple[tuple["Block", ...], ...]


@dataclass(frozen=True)
class DefinitionList:
    items: tuple[DefinitionItem, ...]
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class CodeBlock:
    text: str
    attr: Attr = NO_ATTR
    pos: Pos | None = _pos()

    @property
    def language(self) -> str:
        return self.attr.classes[0] if self.attr.classes else ""


@dataclass(frozen=True)
class ThematicBreak:
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class Div:
    """A fenced div (``::: {.credit}``). Known classes: ``credit``."""

    attr: Attr
    content: tuple["Block", ...]
    pos: Pos | None = _pos()


Alignment = Literal["default", "left", "right", "center"]


@dataclass(frozen=True)
class ColSpec:
    align: Alignment = "default"
    width: float | None = None  # fraction of the text width; None: as the content needs


@dataclass(frozen=True)
class Cell:
    content: tuple["Block", ...]
    align: Alignment = "default"  # "default": the column's alignment
    rowspan: int = 1
    colspan: int = 1
    header: bool = False  # a header cell (all cells of head rows; row headers in the body)
    attr: Attr = NO_ATTR


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]
    attr: Attr = NO_ATTR


@dataclass(frozen=True)
class Table:
    """Pandoc's table, simplified to one body: column specs, head rows (repeated on
    every page), body rows, foot rows; cells hold blocks and may span rows and columns."""

    colspecs: tuple[ColSpec, ...]
    head: tuple[Row, ...]
    body: tuple[Row, ...]
    caption: tuple["Block", ...] = ()
    foot: tuple[Row, ...] = ()
    attr: Attr = NO_ATTR
    pos: Pos | None = _pos()

    @property
    def rows(self) -> tuple[Row, ...]:
        return self.head + self.body + self.foot


@dataclass(frozen=True)
class Figure:
    """An image or a table with its caption (Pandoc's implicit figure: an image
    alone in its paragraph, its alt text the caption)."""

    content: tuple["Block", ...]
    caption: tuple["Block", ...] = ()
    attr: Attr = NO_ATTR
    pos: Pos | None = _pos()


Block = Union[
    Heading, Paragraph, Plain, BlockQuote, ListBlock, DefinitionList, CodeBlock,
    ThematicBreak, Div, Table, Figure,
]
BLOCK_TYPES: tuple[type, ...] = Block.__args__  # type: ignore[attr-defined]

# --------------------------------------------------------------------------
# Metadata and document


@dataclass(frozen=True)
class Meta:
    title: str
    title_note: str = ""  # e.g. "Working headline for this edition"
    short_title: str = ""
    subtitle: str = ""
    standfirst: str = ""
    series_note: str = ""
    authors: tuple[str, ...] = ()
    publisher: str = ""
    date: str = ""  # ISO 8601, possibly partial ("2021-09"); "" if the date could not be read
    # the date as the source wrote it when that was not ISO ("July 17, 2006"): shown as written
    date_text: str = ""
    lang: str = "en"
    rights: str = ""
    identifier: str = ""
    keywords: tuple[str, ...] = ()
    pos: Pos | None = _pos()

    @property
    def running_title(self) -> str:
        return self.short_title or self.title


@dataclass(frozen=True)
class Document:
    meta: Meta
    blocks: tuple[Block, ...]
    glossary: tuple[GlossaryEntry, ...] = ()  # in glossary-file order
    annotations: tuple[Annotation, ...] = ()  # in reading order of their anchors
    people: tuple[Person, ...] = ()  # in order of first speaker mark
    source_path: str = ""  # for messages only; writers never open it

    # ---- references by id (pure views; cached on first use) ----
    @cached_property
    def _index(self) -> tuple[dict[str, GlossaryEntry], dict[str, Annotation], dict[str, Person]]:
        return ({e.id: e for e in self.glossary}, {a.id: a for a in self.annotations},
                {p.id: p for p in self.people})

    def entry(self, ref: str) -> GlossaryEntry:
        return self._index[0][ref]

    def note(self, ref: str) -> Annotation:
        return self._index[1][ref]

    def person(self, ref: str) -> Person:
        return self._index[2][ref]

    # ---- conveniences for writers (pure views, no computation of numbers) ----
    @property
    def reader_notes(self) -> tuple[Annotation, ...]:
        return tuple(a for a in self.annotations if a.for_readers)

    @property
    def editorial_notes(self) -> tuple[Annotation, ...]:
        return tuple(a for a in self.annotations if not a.for_readers)


# --------------------------------------------------------------------------
# The one traversal (Pandoc's Walk): every transform, check, writer and test
# dump goes through ``walk``, ``nodes`` or ``query``.

_LEAVES = (Pos, Attr)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(cls: type) -> tuple[str, ...]:
    names = _CHILD_FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in fields(cls) if f.name != "pos")
        _CHILD_FIELDS[cls] = names
    return names


def _is_node(x: object) -> bool:
    return is_dataclass(x) and not isinstance(x, (type, *_LEAVES))


N = TypeVar("N")


def walk(node: N, fn: Callable[[Any], Any]) -> N:
    """Rebuild ``node`` bottom-up: every node's children first, then ``fn(node)``.

    ``fn`` sees every node (blocks, inlines, cells, entries, notes, the document
    itself) in reading order of their ends and returns it, or a replacement of
    the same kind. Unchanged subtrees keep their identity."""
    if isinstance(node, tuple):
        new = tuple(walk(x, fn) for x in node)
        return node if all(a is b for a, b in zip(new, node)) else new  # type: ignore[return-value]
    if not _is_node(node):
        return node
    changes = {}
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, tuple) or _is_node(value):
            new_value = walk(value, fn)
            if new_value is not value:
                changes[name] = new_value
    if changes:
        node = replace(node, **changes)  # type: ignore[type-var]
    return fn(node)


def nodes(node: object) -> Iterator[Any]:
    """Every node under ``node`` (itself included), depth first, in reading order."""
    return (n for _, n in nodes_with_depth(node) if not isinstance(n, tuple))


def nodes_with_depth(node: object, depth: int = 0) -> Iterator[tuple[int, Any]]:
    """``nodes`` with each node's depth below ``node`` (for dumps). A tuple that
    stands in a tuple (a list item's blocks) is yielded too, as a level of its own."""
    if isinstance(node, tuple):
        for x in node:
            if isinstance(x, tuple):
                yield depth, x
                yield from nodes_with_depth(x, depth + 1)
            else:
                yield from nodes_with_depth(x, depth)
        return
    if not _is_node(node):
        return
    yield depth, node
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, tuple) or _is_node(value):
            yield from nodes_with_depth(value, depth + 1)


def query(node: object, fn: Callable[[Any], Any]) -> list[Any]:
    """What ``fn`` returns (when not None) for every node, in reading order."""
    return [r for n in nodes(node) if (r := fn(n)) is not None]


def plain_text(content: object) -> str:
    """The text a reader sees, without markup (inlines or blocks)."""
    out: list[str] = []
    for i in nodes(content):
        if isinstance(i, (Text, Code, Math)):
            out.append(i.text)
        elif isinstance(i, (SoftBreak, LineBreak)):
            out.append(" ")
        elif isinstance(i, Image):
            out.append(i.alt)
    return "".join(out)


def blocks_text(blocks: tuple[Block, ...]) -> list[str]:
    """Plain text of each paragraph-like block (and table cell), in order."""
    return query(blocks, lambda b: plain_text(b.content) if isinstance(b, (Heading, Paragraph, Plain))
                 else b.text if isinstance(b, CodeBlock) else None)
