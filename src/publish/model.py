"""The document model: one neutral, immutable tree that every writer consumes.

Only the reader builds it from Markdown and YAML; transforms return new trees
(``dataclasses.replace``); writers read it and never open source files.

References are resolved objects, not strings: a term use holds its
``GlossaryEntry``, a note anchor its ``Annotation``, a speaker mark its ``Person``.
Numbering (notes), first uses (terms, people) and ids are filled in by the
transforms in ``publish.transforms`` before any writer runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Literal, Union

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
class GlossaryEntry:
    id: str
    term: str
    definition: tuple["Inline", ...]
    expansion: str = ""
    zh: str = ""  # Chinese name, simplified characters
    pinyin: str = ""
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
class Code:
    text: str


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
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class Image:
    """An image. ``src`` is the resolved path relative to the source folder."""

    src: str
    alt: str
    title: str = ""
    attr: Attr = Attr()
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class Span:
    attr: Attr
    content: tuple["Inline", ...]


@dataclass(frozen=True)
class TermRef:
    """A use of a glossary term: ``[CAC]{.term}`` or ``[the regulator]{.term ref=cac}``."""

    entry: GlossaryEntry
    content: tuple["Inline", ...]
    id: str = ""  # unique anchor id, e.g. "use-cac-1" (transforms.terms)
    first: bool = False  # first use of this entry in the text
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class NoteRef:
    """The anchor of an annotation: ``[Didi Chuxing]{.note ref=didi-delisting}``.

    For a Markdown footnote ``content`` is empty (a point anchor)."""

    annotation: Annotation
    content: tuple["Inline", ...]
    id: str = ""  # anchor id, e.g. "noteref-didi-delisting"
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class SpeakerRef:
    """A quoted person: ``[Kendra Schaefer]{.speaker ref=kendra-schaefer}``."""

    person: Person
    content: tuple["Inline", ...]
    id: str = ""
    first: bool = False
    pos: Pos | None = _pos()


Inline = Union[
    Text, Emph, Strong, Code, SoftBreak, LineBreak, Link, Image, Span,
    TermRef, NoteRef, SpeakerRef,
]

# --------------------------------------------------------------------------
# Blocks


@dataclass(frozen=True)
class Heading:
    level: int
    content: tuple[Inline, ...]
    id: str = ""
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class Paragraph:
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
    language: str = ""
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class ThematicBreak:
    pos: Pos | None = _pos()


@dataclass(frozen=True)
class Div:
    """A fenced div (``::: {.credit}``). Known classes: ``credit``."""

    attr: Attr
    content: tuple["Block", ...]
    pos: Pos | None = _pos()


Block = Union[
    Heading, Paragraph, BlockQuote, ListBlock, DefinitionList, CodeBlock,
    ThematicBreak, Div,
]

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

    # ---- conveniences for writers (pure views, no computation of numbers) ----
    @property
    def reader_notes(self) -> tuple[Annotation, ...]:
        return tuple(a for a in self.annotations if a.for_readers)

    @property
    def editorial_notes(self) -> tuple[Annotation, ...]:
        return tuple(a for a in self.annotations if not a.for_readers)


# --------------------------------------------------------------------------
# Traversal helpers (read-only; transforms use publish.transforms.base)


def _is_block(node: object) -> bool:
    return isinstance(
        node,
        (Heading, Paragraph, BlockQuote, ListBlock, DefinitionList, CodeBlock,
         ThematicBreak, Div),
    )


def iter_blocks(blocks: tuple[Block, ...]) -> Iterator[Block]:
    """Every block, depth first, in reading order (not annotation bodies)."""
    for b in blocks:
        yield b
        if isinstance(b, (BlockQuote, Div)):
            yield from iter_blocks(b.content)
        elif isinstance(b, ListBlock):
            for item in b.items:
                yield from iter_blocks(item)
        elif isinstance(b, DefinitionList):
            for it in b.items:
                for d in it.definitions:
                    yield from iter_blocks(d)


def iter_inlines(inlines: tuple[Inline, ...]) -> Iterator[Inline]:
    """Every inline, depth first, in reading order."""
    for i in inlines:
        yield i
        if isinstance(i, (Emph, Strong, Link, Span, TermRef, NoteRef, SpeakerRef)):
            yield from iter_inlines(i.content)


def iter_all_inlines(blocks: tuple[Block, ...]) -> Iterator[Inline]:
    for b in iter_blocks(blocks):
        if isinstance(b, (Heading, Paragraph)):
            yield from iter_inlines(b.content)
        elif isinstance(b, DefinitionList):
            for it in b.items:
                yield from iter_inlines(it.term)


def plain_text(inlines: tuple[Inline, ...]) -> str:
    """The text a reader sees, without markup."""
    out: list[str] = []
    for i in inlines:
        if isinstance(i, Text):
            out.append(i.text)
        elif isinstance(i, Code):
            out.append(i.text)
        elif isinstance(i, (SoftBreak, LineBreak)):
            out.append(" ")
        elif isinstance(i, Image):
            out.append(i.alt)
        else:
            out.append(plain_text(i.content))
    return "".join(out)


def blocks_text(blocks: tuple[Block, ...]) -> list[str]:
    """Plain text of each paragraph-like block, in order."""
    out: list[str] = []
    for b in iter_blocks(blocks):
        if isinstance(b, (Heading, Paragraph)):
            out.append(plain_text(b.content))
        elif isinstance(b, CodeBlock):
            out.append(b.text)
    return out
