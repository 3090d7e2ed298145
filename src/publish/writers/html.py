"""The model as HTML fragments, written once and shared by the PDF and EPUB writers.

Every fragment is well-formed XHTML (void elements self-closed, text escaped,
attributes quoted), so the EPUB writer can put it in ``.xhtml`` files as is and
WeasyPrint's HTML parser reads it the same way.

``HtmlContext.mode`` selects how note anchors come out:

* ``"epub"``: the anchored span, then ``<a epub:type="noteref" ...>N</a>``
  pointing at the note (the EPUB writer lists the notes from ``Fragments.notes``);
* ``"print"``: the anchored span, a linked call ``<a class="fn-call">N</a>`` and,
  right after it, the note body as ``<span class="footnote">`` for CSS
  ``float: footnote`` (only phrasing elements, since it sits inside a paragraph:
  every block, tables and figures included, becomes a ``<span class="b-TAG">``
  that print.css displays as its block; a table in a note keeps its rows and
  cells as CSS table boxes but loses column and row spans).

Math is MathML with ``alttext`` in EPUB and spans styled by print.css in print
(WeasyPrint has no MathML; see ``mathml.py``); TeX that latex2mathml cannot
read is shown as TeX in ``<code class="math-tex">`` (``check`` warns about it).
Tables: ``<div class="table-wrap">`` (it scrolls on small screens) around a
``<table>`` with caption, colgroup (when widths are given), thead/tbody/tfoot,
``th scope``, spans, alignment as ``align-*`` classes and a ``cols-N`` class
(N = columns, 12 meaning 12 or more) for the styles of wide tables.

Editorial annotations never come out: their anchors render their content only.
Writers never compute numbers: note numbers, first uses and ids come from the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Literal, assert_never

from markupsafe import Markup, escape

from ..diagnostics import Diagnostic, RenderError
from ..model import (
    Annotation, Attr, Block, BlockQuote, Cell, Code, CodeBlock, ColSpec, DefinitionList, Div,
    Document, Emph, Figure, Heading, Image, Inline, LineBreak, Link, ListBlock,
    Math, Meta, NoteRef, Paragraph, Plain, Pos, Row, SoftBreak, Source, Span, SpeakerRef,
    Strikeout, Strong, Subscript, Superscript, Table, TermRef, Text, ThematicBreak, nodes,
    plain_text, query,
)
from ..backmatter import GlossaryItem, Labels, SourceItem, VoiceItem, back_matter, labels_for, note_head
from .common import CJK_RUN, is_rtl
from .mathml import mathml_for_epub, mathml_to_html, tex_to_mathml

Mode = Literal["print", "epub"]

ZH_LANG = "zh-Hans"



def _default_href(target_id: str) -> str:
    return "#" + target_id


@dataclass(frozen=True)
class HtmlContext:
    mode: Mode
    # Maps an element id to a link target; the EPUB writer maps ids to "file.xhtml#id".
    href: Callable[[str], str] = field(default=_default_href)
    # Maps an image to its src; by default the model's src as is (the PDF writer
    # resolves it to a file URL through the resolver, the EPUB writer to its href).
    image_src: Callable[[Image], str] | None = None


# --------------------------------------------------------------------------
# Fragments


@dataclass(frozen=True)
class SectionFragment:
    """One top-level section. ``html`` is the body *without* the heading: the
    template renders ``<h1 id="{{ s.id }}">{{ s.title }}</h1>`` itself.

    The first section is always the untitled opening (id ``"opening"``, title
    None; its ``html`` is empty if the text starts with a level-1 heading).
    Each level-1 heading starts a new section whose id is the heading's id."""

    id: str
    title: Markup | None
    title_text: str
    html: Markup


@dataclass(frozen=True)
class NoteFragment:
    """A reader note (never editorial), in number order. ``html`` = ``body`` + ``sources``."""

    annotation: Annotation
    number: int
    id: str  # "note-<annotation.id>"
    anchor_id: str  # id of the call in the text
    kind: str
    kind_label: str  # its head: kind and title ("Update. The review"); "" for plain footnotes
    html: Markup
    body: Markup = Markup("")
    sources: Markup = Markup("")  # "<p class="sources">…</p>" or ""


@dataclass(frozen=True)
class GlossaryFragment:
    item: GlossaryItem
    id: str  # "gloss-<entry.id>"
    term: Markup
    expansion: Markup
    native: Markup  # the term in its own script, in a lang span, or "" (the first of ``natives``)
    romanized: Markup  # its romanisation, in a lang span, or ""
    definition: Markup
    see_also: tuple[tuple[str, str], ...]  # (href, term)
    first_use_href: str | None
    natives: tuple["NativeFragment", ...] = ()  # every native name, any language


@dataclass(frozen=True)
class NativeFragment:
    native: Markup  # <span lang=".." dir="rtl"?>text</span>
    romanized: Markup  # <span lang="..-Latn">text</span> or ""


@dataclass(frozen=True)
class VoiceFragment:
    item: VoiceItem
    id: str  # "person-<person.id>"
    name: Markup
    description: Markup
    first_use_href: str | None


@dataclass(frozen=True)
class SourceFragment:
    item: SourceItem
    note_href: str  # the note that cites it
    html: Markup  # title (linked when it has a URL), publisher, date


@dataclass(frozen=True)
class Fragments:
    sections: tuple[SectionFragment, ...]
    notes: tuple[NoteFragment, ...]
    glossary: tuple[GlossaryFragment, ...]
    voices: tuple[VoiceFragment, ...]
    sources: tuple[SourceFragment, ...] = ()
    colophon: tuple[Markup, ...] = ()
    labels: Labels = field(default_factory=lambda: labels_for("en"))


# --------------------------------------------------------------------------
# Helpers

_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# Characters not allowed in XML 1.0 (kept out of the output even if the source has them).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _fail(message: str, pos: Pos | None = None, doc_path: str = "") -> RenderError:
    if pos is not None:
        return RenderError(Diagnostic(pos.path, pos.line, pos.col, "error", message))
    return RenderError(Diagnostic(doc_path or "<document>", 1, 1, "error", message))


def _text(s: str) -> Markup:
    return escape(_XML_ILLEGAL.sub("", s))


_LINE_ENDS = re.compile(r"[ \t]*[\r\n]+[ \t]*")


def lang_wrap(s: str, emoji: bool = False) -> Markup:
    """Escape ``s``, wrapping runs of Chinese characters in a zh-Hans span and,
    with ``emoji`` (print), each run of emoji in a span of its own: WeasyPrint
    measures a justified line that mixes the colour emoji face into a text run
    wrongly (the words after it drift); a span per emoji run measures right.

    Line ends inside running text (from wrapped YAML or Markdown) become spaces:
    the same in HTML, but WeasyPrint breaks lines at them inside footnotes."""
    s = _LINE_ENDS.sub(" ", s)
    out: list[str] = []
    last = 0
    plain = _emoji_wrap if emoji else _text
    for m in CJK_RUN.finditer(s):
        out.append(plain(s[last:m.start()]))
        out.append(
            f'<span lang="{ZH_LANG}" xml:lang="{ZH_LANG}">{_text(m.group())}</span>'
        )
        last = m.end()
    out.append(plain(s[last:]))
    return Markup("".join(out))


# Emoji (pictographs, dingbats, flags) with their joiners, selectors, skin tones and tags.
EMOJI_RUN = re.compile(
    "(?:[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B05-\u2B55\u231A\u231B\u23E9-\u23FA\u24C2\u3030\u303D]"
    "[\uFE0F\u200D\u20E3\U0001F3FB-\U0001F3FF\U000E0020-\U000E007F\U0001F000-\U0001FAFF\u2600-\u27BF]*)+"
)


def _emoji_wrap(s: str) -> str:
    out: list[str] = []
    last = 0
    for m in EMOJI_RUN.finditer(s):
        out.append(_text(s[last:m.start()]))
        out.append(f'<span class="emoji">{_text(m.group())}</span>')
        last = m.end()
    out.append(_text(s[last:]))
    return "".join(out)


def _attrs(pairs: list[tuple[str, str | None]]) -> Markup:
    out = []
    for k, v in pairs:
        if v is None or v == "":
            continue
        out.append(f' {k}="{_text(v)}"')
    return Markup("".join(out))


def _attr_pairs(attr: Attr, extra_classes: tuple[str, ...] = ()) -> list[tuple[str, str | None]]:
    classes = " ".join((*extra_classes, *attr.classes))
    pairs: list[tuple[str, str | None]] = [("id", attr.id), ("class", classes)]
    for k, v in attr.kv:
        if k == "lang":
            pairs += [("lang", v), ("xml:lang", v)]
        elif k == "dir" and v.lower() in ("rtl", "ltr", "auto"):
            pairs.append(("dir", v.lower()))
        elif _XML_NAME.match(k):
            pairs.append(("data-" + k.lower(), v))
    return pairs


# Tag names for blocks; inside a print footnote (which sits inside a <p>) every
# block becomes a <span> with the block's name as its class, styled display:block.
_BLOCK_TAGS = ("p", "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "pre", "div",
               "h1", "h2", "h3", "h4", "h5", "h6", "figure", "figcaption",
               "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td")
# Table attributes a span cannot carry (a table in a print footnote).
_TABLE_ONLY_ATTRS = ("scope", "colspan", "rowspan")
# Image sizes kept as CSS (Pandoc's {width=50%}; a bare number is pixels); others are dropped to data-*.
_CSS_LENGTH = re.compile(r"^\d+(?:\.\d+)?(?:%|px|cm|mm|in|pt|pc|em)?$")


_NO_DOCUMENT = Document(Meta(""), ())


class _Renderer:
    def __init__(self, ctx: HtmlContext, doc: Document = _NO_DOCUMENT) -> None:
        self.ctx = ctx
        self.doc = doc  # references (terms, notes, speakers) resolve through it
        self.doc_path = doc.source_path
        self.labels = labels_for(doc.meta.lang)
        self.in_link = 0
        self.phrasing = 0  # >0: inside a print footnote, blocks become spans

    # ------------------------------------------------------------ elements
    def _open(self, tag: str, pairs: list[tuple[str, str | None]] = []) -> str:  # noqa: B006
        if self.phrasing and tag in _BLOCK_TAGS:
            cls = " ".join(x for x in (f"b-{tag}", dict(pairs).get("class") or "") if x)
            pairs = [(k, v) for k, v in pairs if k != "class" and k not in _TABLE_ONLY_ATTRS]
            return f"<span{_attrs(pairs + [('class', cls)])}>"
        return f"<{tag}{_attrs(pairs)}>"

    def _close(self, tag: str) -> str:
        if self.phrasing and tag in _BLOCK_TAGS:
            return "</span>"
        return f"</{tag}>"

    def _el(self, tag: str, inner: str, pairs: list[tuple[str, str | None]] = []) -> str:  # noqa: B006
        return self._open(tag, pairs) + inner + self._close(tag)

    # ------------------------------------------------------------ inlines
    def inlines(self, content: tuple[Inline, ...]) -> str:
        return "".join(self.inline(i) for i in content)

    def inline(self, node: Inline) -> str:
        match node:
            case Text(text=t):
                return lang_wrap(t, emoji=self.ctx.mode == "print")
            case Emph(content=c):
                return f"<em>{self.inlines(c)}</em>"
            case Strong(content=c):
                return f"<strong>{self.inlines(c)}</strong>"
            case Strikeout(content=c):
                return f"<del>{self.inlines(c)}</del>"
            case Subscript(content=c):
                return f"<sub>{self.inlines(c)}</sub>"
            case Superscript(content=c):
                return f"<sup>{self.inlines(c)}</sup>"
            case Code(text=t, attr=attr):
                return f"<code{_attrs(_attr_pairs(attr))}>{_text(t)}</code>"
            case Math():
                return self.math(node)
            case SoftBreak():
                return " "
            case LineBreak():
                return "<br/>"
            case Link(url=url, content=c, title=title, attr=attr):
                if self.in_link:
                    raise _fail("a link inside a link cannot be rendered", None, self.doc_path)
                href = self.ctx.href(url[1:]) if url.startswith("#") else url
                self.in_link += 1
                try:
                    inner = self.inlines(c)
                finally:
                    self.in_link -= 1
                return f"<a{_attrs([('href', href), *_attr_pairs(attr), ('title', title)])}>{inner}</a>"
            case Image():
                return self.image(node)
            case Span(attr=attr, content=c):
                return f"<span{_attrs(_attr_pairs(attr))}>{self.inlines(c)}</span>"
            case TermRef():
                return self.term(node)
            case NoteRef():
                return self.noteref(node)
            case SpeakerRef(ref=ref, content=c, id=sid, first=first):
                cls = "speaker first" if first else "speaker"
                return (f"<span{_attrs([('class', cls), ('id', sid), ('data-person', ref)])}>"
                        f"{self.inlines(c)}</span>")
            case _:
                assert_never(node)

    def image(self, node: Image) -> str:
        src = self.ctx.image_src(node) if self.ctx.image_src is not None else node.src
        attr = node.attr
        sizes = {k: v.strip() for k, v in attr.kv if k in ("width", "height") and _CSS_LENGTH.match(v.strip())}
        style = ";".join(f"{k}:{v if not v[-1].isdigit() else v + 'px'}" for k, v in sizes.items())
        pairs = _attr_pairs(Attr(attr.id, attr.classes, tuple((k, v) for k, v in attr.kv if k not in sizes)))
        return (f"<img{_attrs([('src', src), *pairs, ('style', style), ('title', node.title)])}"
                f' alt="{_text(node.alt)}"/>')

    def math(self, node: Math) -> str:
        cls = "math display" if node.display else "math inline"
        if self.ctx.mode == "epub":
            mathml = mathml_for_epub(node.text, node.display)
            if mathml is not None:
                return mathml
        else:
            mathml = tex_to_mathml(node.text, node.display)
            if mathml is not None:
                return f'<span class="{cls}">{mathml_to_html(mathml, node.display)}</span>'
        # latex2mathml cannot read it: the TeX as written (check.lint warns)
        return f'<code class="math-tex {cls}">{_text(node.text)}</code>'

    def term(self, node: TermRef) -> str:
        cls = "term first" if node.first else "term"
        holds_link = any(isinstance(i, (Link, NoteRef)) for i in nodes(node.content))
        if self.in_link or holds_link:  # links cannot nest: mark the term without linking it
            return f"<span{_attrs([('class', cls), ('id', node.id)])}>{self.inlines(node.content)}</span>"
        self.in_link += 1
        try:
            inner = self.inlines(node.content)
        finally:
            self.in_link -= 1
        entry = self.doc.entry(node.ref)
        href = self.ctx.href(entry.anchor)
        title = entry.expansion or entry.term
        return f"<a{_attrs([('class', cls), ('href', href), ('id', node.id), ('title', title)])}>{inner}</a>"

    def noteref(self, node: NoteRef) -> str:
        ann = self.doc.note(node.ref)
        inner = self.inlines(node.content)
        if not ann.for_readers:
            return inner
        if ann.number is None:
            raise _fail(f"note '{ann.id}' has no number (transforms not run?)", node.pos, self.doc_path)
        if self.in_link:
            raise _fail(f"note anchor '{ann.id}' inside a link cannot be rendered", node.pos,
                        self.doc_path)
        anchor = node.id or ann.anchor_id
        note_id = ann.note_id
        span = f'<span class="noted">{inner}</span>' if inner else ""
        n = str(ann.number)
        if self.ctx.mode == "epub":
            return (f'{span}<a epub:type="noteref" role="doc-noteref"'
                    f'{_attrs([("href", self.ctx.href(note_id)), ("id", anchor), ("class", "noteref")])}>'
                    f"{n}</a>")
        # print: linked call, then the body for float: footnote, linked back.
        label = note_head(ann, self.labels)
        self.phrasing += 1
        try:
            body = self.blocks(ann.body)
            sources = self.sources(ann)
        finally:
            self.phrasing -= 1
        kind = f'<span class="fn-kind">{_text(label)}:</span> ' if label else ""
        return (
            f'{span}<a class="fn-call" href="#{_text(note_id)}" id="{_text(anchor)}"'
            f' role="doc-noteref">{n}</a>'
            f'<span class="footnote fn-{_text(ann.kind)}" id="{_text(note_id)}" role="doc-footnote">'
            f'<a class="fn-marker" href="#{_text(anchor)}" role="doc-backlink">{n}</a>'
            f"{kind}{body}{sources}</span>"
        )

    def source(self, s: Source, date: str = "") -> str:
        title = lang_wrap(s.title or s.url)
        if s.url and not self.in_link:
            title = Markup(f"<a{_attrs([('href', s.url)])}>{title}</a>")
        return ", ".join([str(title)] + [str(lang_wrap(x)) for x in (s.publisher, date or s.date) if x])

    def sources(self, ann: Annotation) -> str:
        if not ann.sources:
            return ""
        items = [self.source(s) for s in ann.sources]
        label = self.labels["source-one" if len(items) == 1 else "source-many"]
        return self._el("p", f'<span class="sources-label">{label}:</span> ' + "; ".join(items),
                        [("class", "sources")])

    # ------------------------------------------------------------ blocks
    def blocks(self, content: tuple[Block, ...]) -> str:
        return "\n".join(self.block(b) for b in content)

    def block(self, node: Block) -> str:
        match node:
            case Heading(level=level, content=c, attr=attr):
                tag = f"h{min(max(level, 1), 6)}"
                return self._el(tag, self.inlines(c), _attr_pairs(attr))
            case Paragraph(content=c):
                return self._el("p", self.inlines(c))
            case Plain(content=c):
                return self.inlines(c)
            case BlockQuote(content=c):
                return self._el("blockquote", self.blocks(c))
            case ListBlock(ordered=ordered, items=items, start=start):
                tag = "ol" if ordered else "ul"
                pairs: list[tuple[str, str | None]] = []
                if ordered and start != 1:
                    pairs.append(("start", str(start)))
                    if self.phrasing or self.ctx.mode == "print":  # WeasyPrint ignores start=
                        pairs.append(("style", f"counter-reset: list-item {start - 1}"))
                lis = "".join(self._el("li", self.blocks(item)) for item in items)
                return self._el(tag, lis, pairs)
            case DefinitionList(items=items):
                parts = []
                for it in items:
                    parts.append(self._el("dt", self.inlines(it.term)))
                    parts.extend(self._el("dd", self.blocks(d)) for d in it.definitions)
                return self._el("dl", "".join(parts))
            case CodeBlock(text=t, attr=attr):
                lang = node.language
                code_cls = f"language-{lang}" if lang else None
                code = f"<code{_attrs([('class', code_cls)])}>{_text(t.rstrip(chr(10)))}</code>"
                return self._el("pre", code, _attr_pairs(Attr(attr.id, attr.classes[1:], attr.kv)))
            case ThematicBreak():
                return '<span class="b-hr"></span>' if self.phrasing else "<hr/>"
            case Div(attr=attr, content=c):
                return self._el("div", self.blocks(c), _attr_pairs(attr))
            case Table():
                return self.table(node)
            case Figure(content=c, caption=cap, attr=attr):
                caption = self._el("figcaption", self.caption(cap)) if cap else ""
                return self._el("figure", self.blocks(c) + caption, _attr_pairs(attr))
            case _:
                assert_never(node)

    def caption(self, blocks: tuple[Block, ...]) -> str:
        """A caption's blocks; one paragraph is set as its inlines."""
        if len(blocks) == 1 and isinstance(blocks[0], (Paragraph, Plain)):
            return self.inlines(blocks[0].content)
        return self.blocks(blocks)

    def table(self, node: Table) -> str:
        ncols = max(len(node.colspecs), 1)
        classes = [f"cols-{min(ncols, 12)}"]
        if any(c.width for c in node.colspecs):
            classes.append("fixed-widths")
        parts = []
        if node.caption:
            parts.append(self._el("caption", self.caption(node.caption)))
        if any(c.width for c in node.colspecs) and not self.phrasing:
            cols = "".join(f'<col style="width:{c.width * 100:.4g}%"/>' if c.width else "<col/>"
                           for c in node.colspecs)
            parts.append(f"<colgroup>{cols}</colgroup>")
        for tag, rows in (("thead", node.head), ("tbody", node.body), ("tfoot", node.foot)):
            if rows:
                parts.append(self._el(tag, self.rows(rows, node.colspecs, head=tag == "thead")))
        table = self._el("table", "\n".join(parts), _attr_pairs(node.attr, tuple(classes)))
        if self.phrasing:
            return self._el("div", table, [("class", "table-wrap")])
        # the wrapper scrolls a wide table on a small screen: a named region that the
        # keyboard can reach and scroll (WCAG 2.1.1; Ace: scrollable-region-focusable)
        name = " ".join(plain_text(node.caption).split()) or self.labels["table"]
        return self._el("div", table, [("class", "table-wrap"), ("role", "region"),
                                       ("aria-label", name), ("tabindex", "0")])

    def rows(self, rows: tuple[Row, ...], colspecs: tuple[ColSpec, ...], head: bool) -> str:
        """The rows of one table section; each cell takes its column's alignment
        (columns found through the spans of the cells before and above it)."""
        out = []
        taken: dict[tuple[int, int], bool] = {}  # (row, column) covered by a rowspan from above
        for r, row in enumerate(rows):
            col = 0
            cells = []
            for cell in row.cells:
                while taken.get((r, col)):
                    col += 1
                for dr in range(1, cell.rowspan):
                    for dc in range(cell.colspan):
                        taken[(r + dr, col + dc)] = True
                align = cell.align
                if align == "default" and col < len(colspecs):
                    align = colspecs[col].align
                cells.append(self.cell(cell, align, head))
                col += cell.colspan
            out.append(self._el("tr", "".join(cells), _attr_pairs(row.attr)))
        return "\n".join(out)

    def cell(self, cell: Cell, align: str, head: bool) -> str:
        tag = "th" if head or cell.header else "td"
        pairs = _attr_pairs(cell.attr, (f"align-{align}",) if align != "default" else ())
        if tag == "th":
            pairs.append(("scope", ("colgroup" if cell.colspan > 1 else "col") if head else "row"))
        if cell.colspan > 1:
            pairs.append(("colspan", str(cell.colspan)))
        if cell.rowspan > 1:
            pairs.append(("rowspan", str(cell.rowspan)))
        return self._el(tag, self.caption(cell.content) if cell.content else "", pairs)


# --------------------------------------------------------------------------
# Public API


def render_inlines(content: tuple[Inline, ...], ctx: HtmlContext, doc: Document = _NO_DOCUMENT) -> Markup:
    return Markup(_Renderer(ctx, doc).inlines(content))


def render_blocks(content: tuple[Block, ...], ctx: HtmlContext, doc: Document = _NO_DOCUMENT) -> Markup:
    return Markup(_Renderer(ctx, doc).blocks(content))


def _note_fragment(ann: Annotation, ctx: HtmlContext, doc: Document) -> NoteFragment:
    r = _Renderer(ctx, doc)
    body = Markup(r.blocks(ann.body))
    sources = Markup(r.sources(ann))
    assert ann.number is not None
    return NoteFragment(
        annotation=ann, number=ann.number, id=ann.note_id,
        anchor_id=ann.anchor_id or "", kind=ann.kind,
        kind_label=note_head(ann, r.labels),
        html=Markup(body + (Markup("\n") + sources if sources else Markup(""))),
        body=body, sources=sources,
    )


def _lang_span(text: str, lang: str) -> Markup:
    """``text`` tagged with its language; right-to-left scripts set right to left."""
    if not text:
        return Markup("")
    rtl = ' dir="rtl"' if is_rtl(lang) else ""
    return Markup(f'<span lang="{_text(lang)}" xml:lang="{_text(lang)}"{rtl}>{_text(text)}</span>')


def split_sections(doc: Document) -> list[tuple[str, Heading | None, tuple[Block, ...]]]:
    """The untitled opening (id "opening"), then one section per level-1 heading:
    (id, heading or None, the blocks after it)."""
    out: list[tuple[str, Heading | None, tuple[Block, ...]]] = []
    cur_id, cur_head, cur_blocks = "opening", None, []  # type: ignore[var-annotated]
    for b in doc.blocks:
        if isinstance(b, Heading) and b.level == 1:
            out.append((cur_id, cur_head, tuple(cur_blocks)))
            if not b.id:
                raise _fail("level-1 heading without an id (transforms not run?)", b.pos, doc.source_path)
            cur_id, cur_head, cur_blocks = b.id, b, []
        else:
            cur_blocks.append(b)
    out.append((cur_id, cur_head, tuple(cur_blocks)))
    return out


def rendered_ids(doc: Document, content: object) -> set[str]:
    """The ids the renderer gives ``content`` (so a writer can place ids in files
    before rendering): every {#id}, term-use, speaker and reader-note call id."""
    def ident(n: object) -> str | None:
        if isinstance(n, NoteRef):
            return n.id if doc.note(n.ref).for_readers else None
        if isinstance(n, (TermRef, SpeakerRef)):
            return n.id or None
        attr = getattr(n, "attr", None)
        return attr.id or None if isinstance(attr, Attr) else None
    return set(query(content, ident))


def render_fragments(doc: Document, ctx: HtmlContext) -> Fragments:
    r = _Renderer(ctx, doc)

    sections = [
        SectionFragment(sid, Markup(r.inlines(h.content)) if h else None, plain_text(h.content) if h else "",
                        Markup(r.blocks(blocks)))
        for sid, h, blocks in split_sections(doc)
    ]

    notes = []
    for ann in doc.reader_notes:
        if ann.number is None:
            raise _fail(f"note '{ann.id}' has no number (transforms not run?)", ann.pos, doc.source_path)
        notes.append(_note_fragment(ann, ctx, doc))
    notes.sort(key=lambda n: n.number)

    back = back_matter(doc)
    glossary = tuple(
        GlossaryFragment(
            item=g, id=g.anchor, term=lang_wrap(g.term), expansion=lang_wrap(g.expansion),
            native=_lang_span(g.native, g.native_lang), romanized=_lang_span(g.romanized, g.romanized_lang),
            definition=Markup(r.inlines(g.definition)),
            see_also=tuple((ctx.href(anchor), term) for anchor, term in g.see_also),
            first_use_href=ctx.href(g.first_use_id) if g.first_use_id else None,
            natives=tuple(NativeFragment(_lang_span(n.text, n.lang), _lang_span(n.romanized, n.romanized_lang))
                          for n in g.natives),
        )
        for g in back.glossary
    )
    voices = tuple(
        VoiceFragment(item=v, id=v.anchor, name=lang_wrap(v.name), description=lang_wrap(v.description),
                      first_use_href=ctx.href(v.first_use_id) if v.first_use_id else None)
        for v in back.voices
    )
    sources = tuple(SourceFragment(s, ctx.href(s.note_id), Markup(r.source(s.source, s.date)))
                    for s in back.sources)
    return Fragments(tuple(sections), tuple(notes), glossary, voices, sources,
                     tuple(lang_wrap(line) for line in back.colophon), back.labels)
