"""DOCX writer: the model to an editors' Word document, with python-docx.

Built from the model (not from HTML) on ``styles/reference.docx``, as Pandoc's
``--reference-doc``: every paragraph and run gets a *named* style from that file and
no direct formatting, so restyling the reference restyles every output. A style the
reference lacks is an error naming it.

- reader annotations -> real Word footnotes (``word/footnotes.xml``)
- editorial annotations -> Word comments anchored on their span (never footnotes)
- glossary -> a section with one bookmark per entry (``gloss-<id>``); every term use
  is an internal hyperlink to it; Chinese names are tagged ``zh-CN``
- header: running title; footer: "Page N of M" (PAGE / NUMPAGES fields)
- core properties from the metadata, dates and zip times from ``options.epoch``:
  identical input gives identical bytes.

Raw OOXML lives in :mod:`publish.writers._ooxml`.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, replace
from typing import assert_never

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.document import CT_Body
from docx.shared import Mm
from docx.text.run import Run
from lxml import etree

from ..diagnostics import Diagnostic, PublishError, RenderError
from ..model import (
    Annotation, Block, BlockQuote, Code, CodeBlock, DefinitionList, Div, Document, Emph,
    Heading, Image, Inline, LineBreak, Link, ListBlock, NoteRef, Paragraph,
    Pos, SoftBreak, Span, SpeakerRef, Strong, TermRef, Text,
    ThematicBreak, blocks_text,
)
from ..options import RenderOptions
from ..resources import Resolver
from . import _ooxml as ox
from .common import CJK_RUN, KIND_LABELS, human_date, join_names

REFERENCE = "reference.docx"

# Every CJK run is tagged as Chinese (East Asian font slot): split keeping the runs.
_CJK = re.compile(f"({CJK_RUN.pattern})")

PAPER_MM = {"a4": (210, 297), "letter": (215.9, 279.4)}


@dataclass(frozen=True)
class _Marks:
    """Inline context: which character style a run gets (one per run, no direct format)."""

    emph: bool = False
    strong: bool = False
    code: bool = False
    link: bool = False  # inside a w:hyperlink (no nested links)
    term: bool = False
    smallcaps: bool = False
    custom: str = ""  # custom-style on a span (Pandoc convention)
    lang: str = ""

    def style(self) -> str | None:
        if self.custom:
            return self.custom
        if self.code:
            return "Verbatim Char"
        if self.term:
            return "Glossary Link"
        if self.link:
            return "Hyperlink"
        if self.emph and self.strong:
            return "Strong Emphasis"
        if self.strong:
            return "Strong"
        if self.emph:
            return "Emphasis"
        if self.smallcaps:
            return "Small Caps"
        return None


@dataclass(frozen=True)
class _Story:
    """Where content goes: the body, a footnote or a comment."""

    kind: str  # "body" | "note" | "comment"
    para: str  # default paragraph style here
    depth: int = 0  # list nesting


class _Writer:
    def __init__(self, doc: Document, options: RenderOptions, resolver: Resolver) -> None:
        self.model = doc
        self.options = options
        self.resolver = resolver
        ref = resolver.style(REFERENCE)
        self.docx = docx.Document(io.BytesIO(resolver.read_bytes(ref)))
        self.part = self.docx.part
        self._style_ids: dict[tuple[str, WD_STYLE_TYPE], str] = {}
        self._bookmark = 0
        self.footnotes = ox.Footnotes(self.part)
        self.now = dt.datetime.fromtimestamp(options.epoch, dt.timezone.utc)
        self._hyperlinks: dict[tuple[str, str], str] = {}

    # ------------------------------------------------------------------ helpers
    def fail(self, message: str, pos: Pos | None = None) -> RenderError:
        path = pos.path if pos else (self.model.source_path or "<document>")
        return RenderError(Diagnostic(path, pos.line if pos else 1, pos.col if pos else 1,
                                      "error", f"DOCX: {message}"))

    def sid(self, name: str, kind: WD_STYLE_TYPE = WD_STYLE_TYPE.PARAGRAPH) -> str:
        """The style id of a named style in the reference document; missing -> error."""
        key = (name, kind)
        if key not in self._style_ids:
            try:
                style = self.docx.styles[name]
            except KeyError:
                raise self.fail(f"style '{name}' is missing from styles/{REFERENCE}; "
                                f"add it to the reference document") from None
            if style.type != kind:
                raise self.fail(f"style '{name}' in styles/{REFERENCE} is a {style.type} "
                                f"style; a {kind} style is needed")
            self._style_ids[key] = style.style_id
        return self._style_ids[key]

    def csid(self, name: str | None) -> str | None:
        return self.sid(name, WD_STYLE_TYPE.CHARACTER) if name else None

    def new_p(self, container: etree._Element, style: str) -> etree._Element:
        if isinstance(container, CT_Body):
            p = container.add_p()
        else:
            p = OxmlElement("w:p")
            container.append(p)
        ox.set_paragraph_style(p, self.sid(style))
        return p

    def next_bookmark(self) -> int:
        self._bookmark += 1
        return self._bookmark

    def bookmark(self, parent, first, last, anchor: str) -> None:
        ox.bookmark_around(parent, first, last, self.next_bookmark(), ox.bookmark_name(anchor))

    def text_runs(self, parent: etree._Element, text: str, marks: _Marks) -> list:
        """Runs for plain text; CJK stretches are tagged zh-CN (Chinese Name style when
        no other character style applies)."""
        runs = []
        for i, chunk in enumerate(_CJK.split(text)):
            if not chunk:
                continue
            if i % 2:  # a CJK stretch
                style = marks.style() or "Chinese Name"
                r = ox.run(chunk, self.csid(style), marks.lang or "zh-CN")
            else:
                lang = marks.lang if marks.lang and not marks.lang.startswith("zh") else None
                r = ox.run(chunk, self.csid(marks.style()), lang)
            parent.append(r)
            runs.append(r)
        return runs

    def external_link(self, url: str, story: _Story) -> etree._Element:
        if story.kind == "note":
            rid = self.footnotes.relate_hyperlink(url)
        elif story.kind == "comment":
            rid = self.docx.part._comments_part.relate_to(url, ox.RT.HYPERLINK, is_external=True)
        else:
            rid = self.part.relate_to(url, ox.RT.HYPERLINK, is_external=True)
        return ox.hyperlink_external(rid)

    # ------------------------------------------------------------------ inlines
    def inlines(self, nodes: tuple[Inline, ...], parent: etree._Element, story: _Story,
                marks: _Marks = _Marks()) -> list:
        """Append runs for ``nodes`` to ``parent`` (a w:p or w:hyperlink); return the
        top-level elements created (runs and hyperlinks), in order."""
        out: list = []
        for node in nodes:
            out.extend(self.inline(node, parent, story, marks))
        return out

    def inline(self, node: Inline, parent, story: _Story, marks: _Marks) -> list:
        match node:
            case Text(text=t):
                return self.text_runs(parent, t, marks)
            case SoftBreak():
                return self.text_runs(parent, " ", marks)
            case LineBreak():
                r = ox.break_run(self.csid(marks.style()))
                parent.append(r)
                return [r]
            case Emph(content=c):
                return self.inlines(c, parent, story, replace(marks, emph=True))
            case Strong(content=c):
                return self.inlines(c, parent, story, replace(marks, strong=True))
            case Code(text=t):
                return self.text_runs(parent, t, replace(marks, code=True))
            case Link(url=url, content=c):
                if marks.link:
                    raise self.fail(f"a link inside a link cannot be rendered ({url})")
                h = (ox.hyperlink_anchor(ox.bookmark_name(url[1:])) if url.startswith("#")
                     else self.external_link(url, story))
                parent.append(h)
                self.inlines(c, h, story, replace(marks, link=True))
                return [h]
            case Image():
                return self.image(node, parent, story, marks)
            case Span(attr=attr, content=c):
                m = marks
                if "smallcaps" in attr.classes:
                    m = replace(m, smallcaps=True)
                if attr.get("custom-style"):
                    m = replace(m, custom=attr.get("custom-style") or "")
                if attr.get("lang"):
                    m = replace(m, lang=attr.get("lang") or "")
                made = self.inlines(c, parent, story, m)
                if attr.id and made:
                    self.bookmark(parent, made[0], made[-1], attr.id)
                return made
            case TermRef():
                return self.term(node, parent, story, marks)
            case NoteRef():
                return self.noteref(node, parent, story, marks)
            case SpeakerRef(content=c, id=sid, first=first):
                made = self.inlines(c, parent, story, marks)
                if first and sid and made:
                    self.bookmark(parent, made[0], made[-1], sid)
                return made
            case _:
                assert_never(node)

    def term(self, node: TermRef, parent, story: _Story, marks: _Marks) -> list:
        if marks.link:  # no nested hyperlinks: mark the term without linking it
            made = self.inlines(node.content, parent, story, marks)
        else:
            h = ox.hyperlink_anchor(ox.bookmark_name(node.entry.anchor))
            parent.append(h)
            self.inlines(node.content, h, story, replace(marks, link=True, term=True))
            made = [h]
        if node.first and node.id and made:
            self.bookmark(parent, made[0], made[-1], node.id)
        return made

    def noteref(self, node: NoteRef, parent, story: _Story, marks: _Marks) -> list:
        ann = node.annotation
        if story.kind != "body":
            raise self.fail(f"note '{ann.id}' is anchored inside another note; Word cannot "
                            f"nest notes", node.pos)
        made = self.inlines(node.content, parent, story, marks)
        if ann.for_readers:
            if ann.number is None:
                raise self.fail(f"reader note '{ann.id}' has no number", node.pos)
            r = ox.footnote_reference_run(self.footnotes.id_for(ann.number), self.csid("Footnote Reference"))
            parent.append(r)
            self.footnote(ann)
            return [*made, r]
        # editorial: a comment on the span (a point anchor gets an empty run)
        if not made:
            r = ox.run()
            parent.append(r)
            made = [r]
        self.comment(ann, made[0], made[-1])
        return made

    def image(self, node: Image, parent, story: _Story, marks: _Marks) -> list:
        if story.kind != "body":
            raise self.fail(f"image '{node.src}' inside a note cannot be rendered", node.pos)
        try:
            path = self.resolver.resolve(node.src, node.pos)
            data = self.resolver.read_bytes(path)
        except PublishError as e:
            raise RenderError(e.diagnostics) from None
        _, image = self.part.get_or_add_image(io.BytesIO(data))
        section = self.docx.sections[0]
        max_w = section.page_width - section.left_margin - section.right_margin
        width = min(image.width, max_w)
        inline = self.part.new_pic_inline(io.BytesIO(data), width=width)
        inline.docPr.set("descr", node.alt)
        inline.docPr.set("name", f"Picture {inline.docPr.id}")
        r = ox.run("", self.csid(marks.style()))
        drawing = OxmlElement("w:drawing")
        drawing.append(inline)
        r.append(drawing)
        parent.append(r)
        return [r]

    # ------------------------------------------------------------------ notes and comments
    def footnote(self, ann: Annotation) -> None:
        fn = self.footnotes.add(ann.number)
        story = _Story("note", "Footnote Text")
        first = self.new_p(fn, "Footnote Text")
        first.append(ox.footnote_ref_mark_run(self.csid("Footnote Reference")))
        first.append(ox.run(" "))
        label = KIND_LABELS[ann.kind]
        head = ". ".join(x for x in (label, ann.title) if x)
        if head:
            first.append(ox.run(head + ". ", self.csid("Note Label")))
        self.note_body(ann, fn, first, story)
        for src in ann.sources:
            p = self.new_p(fn, "Footnote Text")
            self.text_runs(p, "Source: ", _Marks())
            self.source(src, p, story)

    def source(self, src, p, story: _Story) -> None:
        if src.url:
            h = self.external_link(src.url, story)
            p.append(h)
            self.text_runs(h, src.title or src.url, _Marks(link=True))
        else:
            self.text_runs(p, src.title, _Marks(emph=True))
        rest = ", ".join(x for x in (src.publisher, src.date) if x)
        self.text_runs(p, f", {rest}." if rest else ".", _Marks())

    def note_body(self, ann: Annotation, container, first_p, story: _Story) -> None:
        """Body blocks of a note/comment; a leading paragraph continues ``first_p``."""
        body = ann.body
        if body and isinstance(body[0], Paragraph):
            self.inlines(body[0].content, first_p, story)
            body = body[1:]
        self.blocks(body, container, story)

    def comment(self, ann: Annotation, first_el, last_el) -> None:
        author = ann.author or "Editor"
        initials = "".join(w[0] for w in author.split() if w[:1].isalnum()).upper()[:4]
        first_run = self._as_run(first_el, first=True)
        last_run = self._as_run(last_el, first=False)
        c = self.docx.add_comment([first_run, last_run], text="", author=author,
                                  initials=initials)
        c._comment_elm.date = self.annotation_date(ann)
        story = _Story("comment", "Comment Text")
        first_p = c._comment_elm.p_lst[0]
        if ann.title:
            first_p.append(ox.run(ann.title + ". ", self.csid("Note Label")))
        self.note_body(ann, c._comment_elm, first_p, story)
        for src in ann.sources:
            p = self.new_p(c._comment_elm, "Comment Text")
            self.text_runs(p, "Source: ", _Marks())
            self.source(src, p, story)

    def _as_run(self, el, first: bool) -> Run:
        """python-docx anchors comments on runs; a hyperlink is anchored by its runs."""
        if el.tag == ox.qn("w:hyperlink"):
            runs = el.findall(ox.qn("w:r"))
            if not runs:
                r = ox.run()
                el.append(r)
                runs = [r]
            el = runs[0] if first else runs[-1]
        return Run(el, None)  # type: ignore[arg-type]

    def annotation_date(self, ann: Annotation) -> dt.datetime:
        if not ann.date:
            return self.now
        d = ann.date.strip()
        for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%Y-%m", "%Y"):
            try:
                value = dt.datetime.strptime(d.replace("Z", "+0000"), fmt)
            except ValueError:
                continue
            return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        raise self.fail(f"annotation '{ann.id}': date {ann.date!r} is not an ISO 8601 date",
                        ann.pos)

    # ------------------------------------------------------------------ blocks
    def blocks(self, blocks: tuple[Block, ...], container, story: _Story) -> None:
        for b in blocks:
            self.block(b, container, story)

    def block(self, node: Block, container, story: _Story) -> None:
        match node:
            case Heading(level=level, content=c, id=hid):
                p = self.new_p(container, f"Heading {min(max(level, 1), 6)}")
                made = self.inlines(c, p, story)
                if hid:
                    self.bookmark(p, made[0] if made else None, made[-1] if made else None, hid)
            case Paragraph(content=c):
                style = story.para
                if story.kind == "body" and len(c) == 1 and isinstance(c[0], Image):
                    style = "Figure"
                p = self.new_p(container, style)
                self.inlines(c, p, story)
                if style == "Figure" and isinstance(c[0], Image) and c[0].title:
                    cap = self.new_p(container, "Image Caption")
                    self.text_runs(cap, c[0].title, _Marks())
            case BlockQuote(content=c):
                self.blocks(c, container, replace(story, para="Quote"))
            case ListBlock():
                self.list_block(node, container, story)
            case DefinitionList(items=items):
                for it in items:
                    p = self.new_p(container, "Definition Term")
                    self.inlines(it.term, p, story)
                    for d in it.definitions:
                        self.blocks(d, container, replace(story, para="Definition"))
            case CodeBlock(text=t):
                p = self.new_p(container, "Source Code")
                self.text_runs(p, t.rstrip("\n"), _Marks())
            case ThematicBreak():
                self.new_p(container, "Thematic Break")
            case Div(attr=attr, content=c):
                style = story.para
                if attr.get("custom-style"):
                    style = attr.get("custom-style") or style
                elif "credit" in attr.classes:
                    style = "Credit"
                before = {id(el) for el in container}
                self.blocks(c, container, replace(story, para=style))
                made = [el for el in container if id(el) not in before and el.tag == ox.qn("w:p")]
                if attr.id and made:
                    self.bookmark(made[0], None, None, attr.id)
            case _:
                assert_never(node)

    def list_block(self, node: ListBlock, container, story: _Story) -> None:
        level = story.depth + 1
        suffix = "" if level == 1 else " 2"
        kind = "List Number" if node.ordered else "List Bullet"
        style = kind + suffix
        cont = "List Continue" + suffix
        num_id = None
        if node.ordered or level > 2:
            base = ox.style_num_id(self.docx.styles[style].element) if style else None
            self.sid(style)
            if base is None:
                raise self.fail(f"style '{style}' in styles/{REFERENCE} has no list numbering")
            numbering = self.part.numbering_part.element
            num_id = ox.restart_list(numbering, base, level - 1, node.start) \
                if node.ordered else base
        inner = replace(story, depth=level)
        for item in node.items:
            for j, b in enumerate(item):
                if j == 0 and isinstance(b, Paragraph):
                    p = self.new_p(container, style)
                    if num_id is not None:
                        ox.set_numbering(p, num_id, level - 1)
                    self.inlines(b.content, p, inner)
                elif isinstance(b, ListBlock):
                    self.list_block(b, container, inner)
                else:
                    self.block(b, container, replace(inner, para=cont))

    # ------------------------------------------------------------------ document parts
    def front_matter(self, body) -> None:
        m = self.model.meta

        def para(style: str, text: str) -> None:
            if text:
                self.text_runs(self.new_p(body, style), text, _Marks())

        para("Title", m.title)
        para("Title Note", m.title_note)
        para("Subtitle", m.subtitle)
        para("Subtitle", m.standfirst)
        para("Series Note", m.series_note)
        if m.authors:
            para("Byline", "By " + join_names(m.authors))
        para("Dateline", ", ".join(x for x in (m.publisher, human_date(m.date)) if x))

    def glossary(self, body) -> None:
        entries = self.model.glossary
        if not entries:
            return
        by_id = {e.id: e for e in entries}
        story = _Story("body", "Glossary Definition")
        self.text_runs(self.new_p(body, "Heading 1"), "Glossary", _Marks())
        for e in entries:
            p = self.new_p(body, "Glossary Term")
            made = self.text_runs(p, e.term, _Marks())
            if e.expansion and e.expansion != e.term:
                made += self.text_runs(p, f" ({e.expansion})", _Marks())
            if e.zh:
                made += self.text_runs(p, " ", _Marks())
                made.append(ox.run(e.zh, self.csid("Chinese Name"), "zh-CN"))
                p.append(made[-1])
            if e.pinyin:
                made += self.text_runs(p, " ", _Marks())
                made += self.text_runs(p, e.pinyin, _Marks(custom="Pinyin"))
            self.bookmark(p, made[0], made[-1], e.anchor)
            d = self.new_p(body, "Glossary Definition")
            self.inlines(e.definition, d, story)
            see = [by_id[i] for i in e.see_also if i in by_id]
            if see:
                self.text_runs(d, " See also: ", _Marks())
                for k, other in enumerate(see):
                    if k:
                        self.text_runs(d, ", ", _Marks())
                    h = ox.hyperlink_anchor(ox.bookmark_name(other.anchor))
                    d.append(h)
                    self.text_runs(h, other.term, _Marks(link=True, term=True))
                self.text_runs(d, ".", _Marks())
            if e.first_use_id:
                self.text_runs(d, " ", _Marks())
                h = ox.hyperlink_anchor(ox.bookmark_name(e.first_use_id))
                d.append(h)
                self.text_runs(h, "First use", _Marks(link=True))
                self.text_runs(d, ".", _Marks())

    def voices(self, body) -> None:
        people = self.model.people
        if not people:
            return
        self.text_runs(self.new_p(body, "Heading 1"), "Voices", _Marks())
        for person in people:
            p = self.new_p(body, "Voice")
            made = self.text_runs(p, person.name, _Marks(strong=True))
            self.bookmark(p, made[0], made[-1], person.anchor)
            rest = ", ".join(x for x in (person.role, person.affiliation) if x)
            if rest:
                self.text_runs(p, f", {rest}", _Marks())

    def rights(self, body) -> None:
        r = self.model.meta.rights
        if r and not any(r.strip() in t for t in blocks_text(self.model.blocks)):
            self.text_runs(self.new_p(body, "Rights"), r, _Marks())

    def _empty_story(self, part, style: str):
        """The header or footer, emptied of the reference's content, with one paragraph."""
        part.is_linked_to_previous = False
        element = part._element
        for child in list(element):
            element.remove(child)
        return self.new_p(element, style)

    def furniture(self) -> None:
        section = self.docx.sections[0]
        if self.options.paper in PAPER_MM:
            w, h = PAPER_MM[self.options.paper]
            section.page_width, section.page_height = Mm(w), Mm(h)
        hp = self._empty_story(section.header, "Header")
        self.text_runs(hp, self.model.meta.running_title, _Marks())
        fp = self._empty_story(section.footer, "Footer")
        self.text_runs(fp, "Page ", _Marks())
        for r in ox.field_runs("PAGE", "1"):
            fp.append(r)
        self.text_runs(fp, " of ", _Marks())
        for r in ox.field_runs("NUMPAGES", "1"):
            fp.append(r)

    def properties(self) -> None:
        m = self.model.meta
        cp = self.docx.core_properties
        cp.title = m.title
        cp.author = "; ".join(m.authors)
        cp.subject = m.standfirst or m.subtitle
        cp.keywords = ", ".join(m.keywords)
        cp.language = m.lang
        cp.identifier = m.identifier
        cp.comments = m.series_note
        cp.created = self.now.replace(tzinfo=None)
        cp.modified = self.now.replace(tzinfo=None)
        cp.revision = 1
        ox.clean_core_properties(cp._element)
        ox.set_default_language(self.docx.styles.element, m.lang)

    # ------------------------------------------------------------------ entry
    def render(self) -> bytes:
        body = self.docx.element.body
        for child in list(body):  # keep only the reference's section properties
            if child.tag != ox.qn("w:sectPr"):
                body.remove(child)
        self.front_matter(body)
        self.blocks(self.model.blocks, body, _Story("body", "Body Text"))
        self.glossary(body)
        self.voices(body)
        self.rights(body)
        self._check_notes()
        self.furniture()
        self.properties()
        self.footnotes.finish()
        ox.renumber_comments(self.part, 1 + max(
            (int(fn.get(ox.qn("w:id"))) for fn in self.footnotes.element.findall(ox.qn("w:footnote"))),
            default=0))
        buf = io.BytesIO()
        self.docx.save(buf)
        return ox.deterministic_zip(buf.getvalue(), self.options.epoch,
                                    drop=("docProps/thumbnail.jpeg",))

    def _check_notes(self) -> None:
        """Every reader note reached the footnotes part exactly once (none dropped)."""
        ids = [fn.get(ox.qn("w:id")) for fn in self.footnotes.element.findall(ox.qn("w:footnote"))
               if fn.get(ox.qn("w:type")) is None]
        for ann in self.model.reader_notes:
            n = ids.count(str(self.footnotes.id_for(ann.number)))
            if n != 1:
                raise self.fail(f"reader note '{ann.id}' rendered {n} times (its anchor is "
                                f"missing from the text)" if n == 0 else
                                f"reader note '{ann.id}' rendered {n} times", ann.pos)


def render(doc: Document, options: RenderOptions, resolver: Resolver) -> bytes:
    """The finished .docx file's bytes."""
    return _Writer(doc, options, resolver).render()


__all__ = ["render"]
