"""A stable, readable dump of the model for fixture comparisons (like docutils' pformat)."""

from __future__ import annotations

from publish.model import (
    Annotation, BlockQuote, Code, CodeBlock, DefinitionList, Div, Document, Emph, Heading, Image,
    LineBreak, Link, ListBlock, NoteRef, Paragraph, SoftBreak, Span,
    SpeakerRef, Strong, TermRef, Text, ThematicBreak,
)


def dump(doc: Document) -> str:
    out: list[str] = []
    m = doc.meta
    out.append(f"Meta title={m.title!r} authors={list(m.authors)!r} lang={m.lang!r} date={m.date!r}")
    for b in doc.blocks:
        _block(b, 0, out)
    for a in doc.annotations:
        out.append(f"Annotation {a.id} kind={a.kind} number={a.number} anchor={a.anchor_id}")
        for b in a.body:
            _block(b, 1, out)
    for e in doc.glossary:
        out.append(f"Glossary {e.id} term={e.term!r} uses={e.use_count} first={e.first_use_id}")
    for p in doc.people:
        out.append(f"Person {p.id} name={p.name!r} first={p.first_use_id}")
    return "\n".join(out) + "\n"


def _block(b, d: int, out: list[str]) -> None:
    pad = "  " * d
    match b:
        case Heading():
            out.append(f"{pad}Heading {b.level} #{b.id}")
            _inlines(b.content, d + 1, out)
        case Paragraph():
            out.append(f"{pad}Paragraph")
            _inlines(b.content, d + 1, out)
        case BlockQuote():
            out.append(f"{pad}BlockQuote")
            for c in b.content:
                _block(c, d + 1, out)
        case ListBlock():
            out.append(f"{pad}List ordered={b.ordered} start={b.start}")
            for item in b.items:
                out.append(f"{pad}  Item")
                for c in item:
                    _block(c, d + 2, out)
        case DefinitionList():
            out.append(f"{pad}DefinitionList")
            for it in b.items:
                out.append(f"{pad}  Term")
                _inlines(it.term, d + 2, out)
                for defn in it.definitions:
                    out.append(f"{pad}  Definition")
                    for c in defn:
                        _block(c, d + 2, out)
        case CodeBlock():
            out.append(f"{pad}CodeBlock {b.language!r} {b.text!r}")
        case ThematicBreak():
            out.append(f"{pad}ThematicBreak")
        case Div():
            out.append(f"{pad}Div #{b.attr.id} {list(b.attr.classes)}")
            for c in b.content:
                _block(c, d + 1, out)
        case _:
            raise AssertionError(f"unknown block {b!r}")


def _inlines(items, d: int, out: list[str]) -> None:
    pad = "  " * d
    for i in items:
        match i:
            case Text():
                out.append(f"{pad}Text {i.text!r}")
            case SoftBreak():
                out.append(f"{pad}SoftBreak")
            case LineBreak():
                out.append(f"{pad}LineBreak")
            case Code():
                out.append(f"{pad}Code {i.text!r}")
            case Emph() | Strong():
                out.append(f"{pad}{type(i).__name__}")
                _inlines(i.content, d + 1, out)
            case Link():
                out.append(f"{pad}Link {i.url!r}")
                _inlines(i.content, d + 1, out)
            case Image():
                out.append(f"{pad}Image {i.src!r} alt={i.alt!r}")
            case Span():
                out.append(f"{pad}Span #{i.attr.id} {list(i.attr.classes)} {list(i.attr.kv)}")
                _inlines(i.content, d + 1, out)
            case TermRef():
                out.append(f"{pad}TermRef {i.entry.id} #{i.id}{' first' if i.first else ''}")
                _inlines(i.content, d + 1, out)
            case NoteRef():
                a: Annotation = i.annotation
                out.append(f"{pad}NoteRef {a.id} #{i.id} kind={a.kind} number={a.number}")
                _inlines(i.content, d + 1, out)
            case SpeakerRef():
                out.append(f"{pad}SpeakerRef {i.person.id} #{i.id}{' first' if i.first else ''}")
                _inlines(i.content, d + 1, out)
            case _:
                raise AssertionError(f"unknown inline {i!r}")
