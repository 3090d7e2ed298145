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
- tables -> Word tables on the reference's "Table" table style, caption ("Table
  Caption") before them as Pandoc; header rows repeat on every page (``w:tblHeader``);
  widths from the column specs (fractions of the text width) or fitted by Word; spans
  as ``w:gridSpan``/``w:vMerge``; cells hold any blocks. Cell alignment is the one
  direct paragraph property (``w:jc``, as Pandoc): it belongs to the column's content.
- figures -> "Figure" paragraph(s), then the caption ("Image Caption"); an image's
  ``width``/``height`` attribute (``50%`` of the text block, ``8cm``...), never wider
  than the text block
- sub/superscript and strikeout -> ``w:vertAlign``/``w:strike`` beside the run's style
  (semantic marks Word uses itself); math -> Office Math (:mod:`._omml`), display math
  in a paragraph of its own
- core properties from the metadata, dates and zip times from ``options.epoch``:
  identical input gives identical bytes.

Raw OOXML lives in :mod:`publish.writers._ooxml`, Office Math in :mod:`publish.writers._omml`.
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
from docx.shared import Cm, Emu, Inches, Mm, Pt
from docx.text.run import Run
from lxml import etree

from ..diagnostics import Diagnostic, PublishError, RenderError
from ..model import (
    Annotation, Attr, Block, BlockQuote, Cell, Code, CodeBlock, ColSpec, DefinitionList, Div,
    Document, Emph, Figure, Heading, Image, Inline, LineBreak, Link, ListBlock, Math, NoteRef,
    Paragraph, Plain, Pos, SoftBreak, Span, SpeakerRef, Strikeout, Strong, Subscript,
    Superscript, Table, TermRef, Text, ThematicBreak, plain_text,
)
from ..options import RenderOptions
from ..resources import Resolver
from . import _ooxml as ox
from ..backmatter import back_matter, display_date, note_head
from ._omml import omml
from .common import CJK_RUN, is_rtl

REFERENCE = "reference.docx"

# Every CJK run is tagged as Chinese (East Asian font slot): split keeping the runs.
_CJK = re.compile(f"({CJK_RUN.pattern})")

# Word names scripts by region: BCP 47 script tags become Word's language ids.
_WORD_LANG = {"zh-Hans": "zh-CN", "zh-Hant": "zh-TW"}

PAPER_MM = {"a4": (210, 297), "letter": (215.9, 279.4)}
EMU_PER_TWIP = 635
# an image's width/height attribute (Pandoc's units; a bare number is pixels at 96 dpi)
_LENGTH = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*(%|cm|mm|in|pt|px)?\s*")


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
    # semantic run properties Word uses itself (w:vertAlign, w:strike), beside the style
    vert_align: str = ""  # "subscript" | "superscript"
    strike: bool = False

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
        self.back = back_matter(doc)
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
            props = {"vert_align": marks.vert_align or None, "strike": marks.strike}
            if i % 2:  # a CJK stretch
                style = marks.style() or "Chinese Name"
                r = ox.run(chunk, self.csid(style), marks.lang or "zh-CN", **props)
            else:
                lang = marks.lang if marks.lang and not marks.lang.startswith("zh") else None
                r = ox.run(chunk, self.csid(marks.style()), lang, **props)
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
            case Strikeout(content=c):
                return self.inlines(c, parent, story, replace(marks, strike=True))
            case Subscript(content=c):
                return self.inlines(c, parent, story, replace(marks, vert_align="subscript"))
            case Superscript(content=c):
                return self.inlines(c, parent, story, replace(marks, vert_align="superscript"))
            case Math(text=tex, display=display):
                # display math inside other inlines stays in its paragraph (m:oMathPara is
                # valid there); at the top of a paragraph it gets one of its own (paragraph())
                el, _ = omml(tex, display)
                parent.append(el)
                return [el]
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
            h = ox.hyperlink_anchor(ox.bookmark_name(self.model.entry(node.ref).anchor))
            parent.append(h)
            self.inlines(node.content, h, story, replace(marks, link=True, term=True))
            made = [h]
        if node.first and node.id and made:
            self.bookmark(parent, made[0], made[-1], node.id)
        return made

    def noteref(self, node: NoteRef, parent, story: _Story, marks: _Marks) -> list:
        ann = self.model.note(node.ref)
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
        max_w = Emu(self.text_width() * EMU_PER_TWIP)
        width = image.width
        if node.attr.get("width"):
            width = self.length(node.attr.get("width") or "", max_w, node)
        elif node.attr.get("height"):
            height = self.length(node.attr.get("height") or "", max_w, node)
            width = Emu(int(image.width * height / image.height)) if image.height else width
        width = Emu(min(width, max_w))  # never wider than the text block
        inline = self.part.new_pic_inline(io.BytesIO(data), width=width)
        inline.docPr.set("descr", node.alt)
        inline.docPr.set("name", f"Picture {inline.docPr.id}")
        r = ox.run("", self.csid(marks.style()))
        drawing = OxmlElement("w:drawing")
        drawing.append(inline)
        r.append(drawing)
        parent.append(r)
        return [r]

    def text_width(self) -> int:
        """The width of the text block in twips, on the paper the document is set on."""
        section = self.docx.sections[0]
        page = Mm(PAPER_MM[self.options.paper][0]) if self.options.paper in PAPER_MM \
            else section.page_width
        return int((page - section.left_margin - section.right_margin) / EMU_PER_TWIP)

    def length(self, value: str, whole: int, node: Image) -> int:
        """An image's width/height attribute in EMU; percentages are of ``whole``."""
        m = _LENGTH.fullmatch(value)
        if not m:
            raise self.fail(f"image '{node.src}': size {value!r} is not a length "
                            f"(50%, 8cm, 3in, 300px...)", node.pos)
        n, unit = float(m.group(1)), m.group(2) or "px"
        if unit == "%":
            return Emu(int(whole * n / 100))
        return {"cm": Cm, "mm": Mm, "in": Inches, "pt": Pt,
                "px": lambda v: Inches(v / 96)}[unit](n)

    # ------------------------------------------------------------------ notes and comments
    def footnote(self, ann: Annotation) -> None:
        fn = self.footnotes.add(ann.number)
        story = _Story("note", "Footnote Text")
        first = self.new_p(fn, "Footnote Text")
        first.append(ox.footnote_ref_mark_run(self.csid("Footnote Reference")))
        first.append(ox.run(" "))
        head = note_head(ann, self.back.labels)
        if head:
            first.append(ox.run(head + ". ", self.csid("Note Label")))
        self.note_body(ann, fn, first, story)
        for src in ann.sources:
            p = self.new_p(fn, "Footnote Text")
            self.text_runs(p, self.back.labels["source-one"] + ": ", _Marks())
            self.source(src, p, story)

    def source(self, src, p, story: _Story, date: str = "") -> None:
        if src.url:
            h = self.external_link(src.url, story)
            p.append(h)
            self.text_runs(h, src.title or src.url, _Marks(link=True))
        else:
            self.text_runs(p, src.title, _Marks(emph=True))
        rest = ", ".join(x for x in (src.publisher, date or src.date) if x)
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
            self.text_runs(p, self.back.labels["source-one"] + ": ", _Marks())
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
            case Heading(level=level, content=c, attr=Attr(id=hid)):
                p = self.new_p(container, f"Heading {min(max(level, 1), 6)}")
                made = self.inlines(c, p, story)
                if hid:
                    self.bookmark(p, made[0] if made else None, made[-1] if made else None, hid)
            case Paragraph(content=c) | Plain(content=c):
                style = story.para
                if story.kind == "body" and len(c) == 1 and isinstance(c[0], Image):
                    style = "Figure"
                self.paragraph(c, container, story, style)
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
            case Table():
                self.table(node, container, story)
            case Figure():
                self.figure(node, container, story)
            case _:
                assert_never(node)

    def paragraph(self, content: tuple[Inline, ...], container, story: _Story,
                  style: str) -> list:
        """One paragraph for ``content``, or several when it holds display math: a formula
        of its own (``m:oMathPara``) between the text around it, as Pandoc writes it."""
        pieces: list[list[Inline]] = [[]]
        for node in content:
            if isinstance(node, Math) and node.display:
                pieces += [[node], []]
            else:
                pieces[-1].append(node)
        made = []
        for piece in pieces:
            while piece and _blank(piece[0]):
                piece.pop(0)
            while piece and _blank(piece[-1]):
                piece.pop()
            if not piece and (made or len(pieces) > 1):
                continue
            p = self.new_p(container, style)
            self.inlines(tuple(piece), p, story)
            made.append(p)
        return made

    # ------------------------------------------------------------------ tables and figures
    def table(self, node: Table, container, story: _Story,
              caption: tuple[Block, ...] = ()) -> None:
        """A Word table on the reference's "Table" style: its caption ("Table Caption")
        before it, as Pandoc; header rows repeat on every page; spans merge cells."""
        caption = node.caption or caption
        rows = node.rows
        ncols = max([len(node.colspecs)] + [sum(c.colspan for c in r.cells) for r in rows[:1]])
        if ncols == 0:
            raise self.fail("a table without columns cannot be rendered", node.pos)
        colspecs = node.colspecs + (ColSpec(),) * (ncols - len(node.colspecs))
        made_caption = []
        if not caption and _last_child(container) is not None and \
                _last_child(container).tag == ox.qn("w:tbl"):
            self.new_p(container, story.para)  # Word joins tables that touch into one
        if caption:
            before = set(container)
            self.blocks(caption, container, replace(story, para="Table Caption"))
            made_caption = _added_paragraphs(container, before)
        grid, width_pct = _column_widths(colspecs, self.text_width())
        tbl = ox.table(self.sid("Table", WD_STYLE_TYPE.TABLE), grid, width_pct, bool(node.head),
                       re.sub(r"\s+", " ", plain_text(caption)).strip())
        if isinstance(container, CT_Body):
            container._insert_tbl(tbl)
        else:
            container.append(tbl)
        fixed = width_pct is not None
        cell_story = replace(story, para="Compact", depth=0)
        covered: dict[int, list[int]] = {}  # grid column -> [rows still covered, colspan]
        first_p = None
        for ri, row in enumerate(rows):
            tr = ox.table_row(header=ri < len(node.head))
            tbl.append(tr)
            col = 0

            def cover() -> None:  # continuation cells of row spans from above
                nonlocal col
                while col in covered:
                    left, span = covered[col]
                    tc = ox.table_cell(sum(grid[col:col + span]) if fixed else None, span,
                                       "continue")
                    tr.append(tc)
                    self.new_p(tc, "Compact")
                    if left == 1:
                        del covered[col]
                    else:
                        covered[col][0] = left - 1
                    col += span

            for cell in row.cells:
                cover()
                if col >= ncols:
                    raise self.fail(f"table row {ri + 1} has more cells than the table's "
                                    f"{ncols} columns", node.pos)
                span = min(max(cell.colspan, 1), ncols - col)
                down = min(max(cell.rowspan, 1), len(rows) - ri)
                tc = ox.table_cell(sum(grid[col:col + span]) if fixed else None, span,
                                   "restart" if down > 1 else None)
                tr.append(tc)
                self.cell(cell, colspecs[col], tc, cell_story)
                first_p = first_p if first_p is not None else tc.find(ox.qn("w:p"))
                if down > 1:
                    covered[col] = [down - 1, span]
                col += span
            cover()
            while col < ncols:  # a short row: empty cells to the table's edge
                tc = ox.table_cell(grid[col] if fixed else None)
                tr.append(tc)
                self.new_p(tc, "Compact")
                col += 1
                cover()
        if node.attr.id:
            target = made_caption[0] if made_caption else first_p
            if target is not None:
                self.bookmark_content(target, node.attr.id)

    def cell(self, cell: Cell, spec: ColSpec, tc, story: _Story) -> None:
        """A cell's blocks; a Word cell must end with a paragraph. Its alignment (the cell's,
        else the column's) goes on its text paragraphs as direct ``w:jc``, as Pandoc does:
        alignment belongs to the column's content (figures right), not to the house look."""
        self.blocks(cell.content, tc, story)
        last = tc[-1] if len(tc) else None
        if last is None or last.tag != ox.qn("w:p"):
            self.new_p(tc, "Compact")
        align = cell.align if cell.align != "default" else spec.align
        if align != "default":
            compact = self.sid("Compact")
            for p in tc.findall(ox.qn("w:p")):
                if p.style == compact:
                    ox.set_alignment(p, align)

    def figure(self, node: Figure, container, story: _Story) -> None:
        """The figure's content ("Figure" paragraphs), then its caption ("Image Caption"),
        as Pandoc places them; a bookmark for the figure's id on the image."""
        content = node.content
        if len(content) == 1 and isinstance(content[0], Table) and not content[0].caption:
            table = content[0]
            if node.attr.id and not table.attr.id:
                table = replace(table, attr=replace(table.attr, id=node.attr.id))
            self.table(table, container, story, caption=node.caption)
            return
        before = set(container)
        for b in content:
            if isinstance(b, (Paragraph, Plain)):
                self.paragraph(b.content, container, story, "Figure")
            else:
                self.block(b, container, story)
        made = _added_paragraphs(container, before)
        self.blocks(node.caption, container, replace(story, para="Image Caption"))
        if node.attr.id and made:
            self.bookmark_content(made[0], node.attr.id)

    def bookmark_content(self, p, anchor: str) -> None:
        """A bookmark around the content of paragraph ``p`` (at its end when empty)."""
        content = [el for el in p if el.tag != ox.qn("w:pPr")]
        self.bookmark(p, content[0] if content else None, content[-1] if content else None,
                      anchor)

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
                if j == 0 and isinstance(b, (Paragraph, Plain)):
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
            para("Byline", self.back.labels.fmt("by", names=self.back.labels.names(m.authors)))
        para("Dateline", ", ".join(x for x in (m.publisher, display_date(m)) if x))

    def back_matter(self, body) -> None:
        """Glossary, voices, sources and colophon: the same data and headings as
        every format (publish.backmatter)."""
        back, labels = self.back, self.back.labels

        def heading(key: str) -> None:
            self.text_runs(self.new_p(body, "Heading 1"), labels[key], _Marks())

        if back.glossary:
            heading("glossary")
            story = _Story("body", "Glossary Definition")
        for g in back.glossary:
            p = self.new_p(body, "Glossary Term")
            made = self.text_runs(p, g.term, _Marks())
            for n in g.natives:  # any language: tagged; Chinese in its East Asian style, RTL set RTL
                made += self.text_runs(p, " ", _Marks())
                chinese = n.lang.lower().startswith("zh")
                made.append(ox.run(n.text, self.csid("Chinese Name") if chinese else None,
                                   _WORD_LANG.get(n.lang, n.lang), rtl=is_rtl(n.lang)))
                p.append(made[-1])
                if n.romanized:
                    made += self.text_runs(p, " ", _Marks())
                    made += self.text_runs(p, n.romanized, _Marks(custom="Pinyin", lang=n.romanized_lang))
            self.bookmark(p, made[0], made[-1], g.anchor)
            d = self.new_p(body, "Glossary Definition")
            if g.expansion:
                self.text_runs(d, g.expansion + ". ", _Marks(emph=True))
            self.inlines(g.definition, d, story)
            for k, (anchor, term) in enumerate(g.see_also):
                self.text_runs(d, f" {labels['see-also']} " if k == 0 else ", ", _Marks())
                h = ox.hyperlink_anchor(ox.bookmark_name(anchor))
                d.append(h)
                self.text_runs(h, term, _Marks(link=True, term=True))
            if g.see_also:
                self.text_runs(d, ".", _Marks())
            if g.first_use_id:
                self.text_runs(d, " ", _Marks())
                h = ox.hyperlink_anchor(ox.bookmark_name(g.first_use_id))
                d.append(h)
                self.text_runs(h, labels["first-use"], _Marks(link=True))
                self.text_runs(d, ".", _Marks())
        if back.voices:
            heading("voices")
        for v in back.voices:
            p = self.new_p(body, "Voice")
            made = self.text_runs(p, v.name, _Marks(strong=True))
            self.bookmark(p, made[0], made[-1], v.anchor)
            if v.description:
                self.text_runs(p, f", {v.description}", _Marks())
        if back.sources:
            heading("sources")
        for src in back.sources:
            p = self.new_p(body, "Source Entry")
            self.text_runs(p, f"{src.note_number}\t", _Marks())
            self.source(src.source, p, _Story("body", "Source Entry"), src.date)
        heading("colophon")
        self.text_runs(self.new_p(body, "Colophon"), self.model.meta.title, _Marks(emph=True))
        for line in back.colophon:
            self.text_runs(self.new_p(body, "Colophon"), line, _Marks())

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
        self.back_matter(body)
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


def _added_paragraphs(container, before: set) -> list:
    """The paragraphs of ``container`` not in ``before`` (a set of its children, which holds
    their lxml proxies alive: ``id()`` of a dropped proxy may be reused by another)."""
    return [el for el in container if el not in before and el.tag == ox.qn("w:p")]


def _last_child(container):
    """The last content element of a container (in the body: the one before w:sectPr)."""
    kids = [el for el in container if el.tag != ox.qn("w:sectPr")]
    return kids[-1] if kids else None


def _blank(node: Inline) -> bool:
    return isinstance(node, (SoftBreak, LineBreak)) or (isinstance(node, Text) and not node.text.strip())


def _column_widths(colspecs: tuple[ColSpec, ...], text_width: int) -> tuple[list[int], int | None]:
    """Grid column widths in twips, and the table's width in fiftieths of a percent when
    the source gives relative widths (None: Word fits the columns to their content, the
    grid only shares the text width out evenly).

    Columns without a width share what the others leave; widths adding up to more than
    the text width are scaled down to it: a table is never wider than the text block."""
    n = len(colspecs)
    widths = [c.width if c.width and c.width > 0 else None for c in colspecs]
    if all(w is None for w in widths):
        return [text_width // n] * n, None
    known = sum(w for w in widths if w is not None)
    unknown = widths.count(None)
    share = max((1.0 - known) / unknown, 0.05) if unknown else 0.0
    fractions = [w if w is not None else share for w in widths]
    total = sum(fractions)
    if total > 1.0:
        fractions = [f / total for f in fractions]
        total = 1.0
    return [round(f * text_width) for f in fractions], round(total * 5000)


def render(doc: Document, options: RenderOptions, resolver: Resolver) -> bytes:
    """The finished .docx file's bytes."""
    return _Writer(doc, options, resolver).render()


__all__ = ["render"]
