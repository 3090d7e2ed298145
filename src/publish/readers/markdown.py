"""Markdown tokens → model. The only module that imports markdown_it.

Syntax is Pandoc-compatible Markdown as configured markdown-it-py plugins read
it: YAML front matter, ``[text]{.class key=value}`` spans, ``::: {.class}``
fenced divs, footnotes, definition lists, pipe tables, ``~~strike~~``,
``H~2~O``, ``x^2^``, ``$math$``; grid, simple and multiline tables come from
one block rule (``tables.py``). Nothing here parses Markdown by hand; it walks
the token stream and resolves references (terms, notes, speakers) against the
side files. Pandoc's implicit figures and table captions are read here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Callable
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin
from mdit_py_plugins.subscript import sub_plugin
from mdit_py_plugins.superscript import superscript_plugin

from ..diagnostics import Collector
from ..transforms.ids import xml_id_ok
from . import rawhtml
from .tables import WARNINGS as TABLE_WARNINGS, tables_plugin
from .text import describe_char, illegal_char
from ..model import (
    Alignment, Annotation, Attr, Block, BlockQuote, Cell, Code, CodeBlock, ColSpec, DefinitionItem, DefinitionList,
    Div, Emph, Figure, GlossaryEntry, Heading, Image, Inline, LineBreak, Link, ListBlock, Math, NoteRef,
    Paragraph, Person, Plain, Pos, RESERVED_ID_PREFIXES, RESERVED_IDS, Row, SoftBreak, Span, SpeakerRef,
    Strikeout, Strong, Subscript, Superscript, Table, TermRef, Text, ThematicBreak, id_is_reserved, nodes,
)

# markdown-it stops parsing (silently dropping the rest) past maxNesting token
# levels; containers deeper than MAX_BLOCK_DEPTH are refused long before that.
MAX_NESTING = 100
MAX_BLOCK_DEPTH = 8  # quotes, lists, divs inside each other: deeper cannot be set on a page
_CONTAINERS_OPEN = {"blockquote_open", "bullet_list_open", "ordered_list_open", "container_div_open", "dl_open",
                    "table_open"}
_CONTAINERS_CLOSE = {t.replace("_open", "_close") for t in _CONTAINERS_OPEN}
# Ids must be XML names (EPUB; non-ASCII letters are fine) and must not collide
# with the ones publish makes.


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "maxNesting": MAX_NESTING})
    md.use(front_matter_plugin)
    md.use(attrs_plugin, spans=True)
    md.use(attrs_block_plugin)
    md.use(footnote_plugin)
    md.use(deflist_plugin)
    md.use(container_plugin, name="div", marker=":", validate=lambda params, *a: True)
    md.enable(["table", "strikethrough"])  # pipe tables, ~~strike~~
    md.use(tables_plugin)  # grid, simple and multiline tables
    md.use(sub_plugin)
    md.use(superscript_plugin)
    # ^[...] is an inline footnote (Pandoc reads notes before superscripts), never ^superscript^
    sup = next(r.fn for r in md.inline.ruler.__rules__ if r.name == "sup")
    md.inline.ruler.at("sup", lambda state, silent: not state.src.startswith("^[", state.pos) and sup(state, silent))
    # Pandoc's tex_math_dollars: no space inside the dollars, no digit after the closing one
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True,
           allow_labels=False, allow_blank_lines=False)
    # markdown-it silently turns links it distrusts (javascript:, file:, ...) into
    # plain text; accept every URL here and judge it with a diagnostic instead.
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.core.ruler.after("block", "implicit_header_references", _implicit_header_references)
    return md


HEADING_REF = "\x00heading-line:"  # the href of an implicit header reference, until the reader sees it


def _implicit_header_references(state) -> None:
    """Pandoc's implicit_header_references: ``[Heading]`` and ``[text][Heading]`` link to
    the heading whose text is ``Heading``, unless a reference of that name is defined.
    The href names the heading's line; the reader and ``transforms.links`` resolve it."""
    from markdown_it.common.utils import normalizeReference

    refs = state.env.setdefault("references", {})
    offset = int(state.env.get("line_offset", 0))
    toks = state.tokens
    for k, t in enumerate(toks):
        if t.type != "heading_open" or k + 1 >= len(toks) or not t.map:
            continue
        text = re.sub(r"\s*\{[^{}]*\}\s*$", "", toks[k + 1].content).strip()
        label = normalizeReference(text) if text else ""
        if label and label not in refs:
            refs[label] = {"title": "", "href": f"{HEADING_REF}{t.map[0] + 1 + offset}"}


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_ALLOWED_SCHEME = re.compile(r"^(https?://|mailto:)", re.I)
_BAD_LINK = re.compile(r"^\s*(javascript|vbscript|data|file)\s*:", re.I)


_REMOTE = re.compile(r"^(?:(?:https?|ftp)://|//)", re.I)


def is_remote(src: str) -> bool:
    """An image on another machine (``https://…``, ``//host/…``): never fetched."""
    return bool(_REMOTE.match(src.strip()))


_MD = _parser()
_CLASS_KINDS = ("term", "note", "speaker")


@dataclass
class Refs:
    """What references resolve against while reading (shells; transforms finalise them)."""

    glossary: dict[str, GlossaryEntry] = field(default_factory=dict)
    by_name: dict[str, GlossaryEntry] = field(default_factory=dict)  # lowercased term/alias/expansion
    annotations: dict[str, Annotation] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    people_by_name: dict[str, Person] = field(default_factory=dict)
    anchored: dict[str, Pos] = field(default_factory=dict)  # annotation id -> first anchor
    footnotes: list[Annotation] = field(default_factory=list)
    ids: dict[str, Pos] = field(default_factory=dict)  # explicit {#id}s -> where


def parse_tokens(text: str) -> list[Token]:
    return _MD.parse(text)


def parse(text: str) -> tuple[list[Token], dict]:
    """Tokens and markdown-it's environment (it knows unreferenced footnotes)."""
    env: dict = {}
    return _MD.parse(text, env), env


def _fn_key(meta: dict) -> str:
    """A footnote's id: its label, or ``inline-N`` for an inline footnote ^[...]."""
    label = meta.get("label")
    return f"fn-{label}" if label is not None else f"fn-inline-{meta.get('id')}"


class Converter:
    """Walks one token stream (the article, or a note body) into model blocks."""

    def __init__(
        self,
        text: str,
        path: str,
        diag: Collector,
        refs: Refs,
        *,
        line_offset: int = 0,
        in_note: bool = False,
        resolve_image: Callable[[str, Pos], str] | None = None,
    ) -> None:
        self.lines = text.split("\n")
        self.path = path
        self.diag = diag
        self.refs = refs
        self.line_offset = line_offset
        self.in_note = in_note
        self.resolve_image = resolve_image
        self._cursor: tuple[int, int] = (0, 0)  # (line index, col index) for locating inlines
        self._block_end = 0
        self._col0 = 0  # inside a table cell: the cell's first column (text left of it is another cell's)
        self._env: dict = {}  # markdown-it's environment (link references)

    # ------------------------------------------------------------------ blocks
    def blocks(self, tokens: list[Token], env: dict | None = None) -> tuple[Block, ...]:
        if not self._depth_ok(tokens):
            return ()
        if env is not None:
            self._env = env
        for line, col, message in (env or {}).get(TABLE_WARNINGS, ()):
            self.diag.warning(self.path, line + 1 + self.line_offset, col + 1, message)
        out, _ = self._blocks(tokens, 0, None)
        for key, index in ((env or {}).get("footnotes", {}).get("refs", {}) or {}).items():
            if index == -1:  # defined, never referenced: it would be lost
                label = key.lstrip(":")
                line = next((n for n, ln in enumerate(self.lines) if ln.lstrip().startswith(f"[^{label}]:")), 0)
                self.diag.error(self.path, line + 1 + self.line_offset, 1,
                                f"footnote '[^{label}]' is defined but never referenced")
        return tuple(out)

    def _depth_ok(self, tokens: list[Token]) -> bool:
        depth = 0
        for t in tokens:
            if t.type in _CONTAINERS_OPEN:
                depth += 1
                if depth > MAX_BLOCK_DEPTH:
                    p = self._pos(t)
                    self.diag.error(p.path, p.line, 1, f"blocks nested more than {MAX_BLOCK_DEPTH} deep "
                                    "(quotes, lists, divs inside each other)")
                    return False
            elif t.type in _CONTAINERS_CLOSE:
                depth -= 1
        return True

    @staticmethod
    def _heading_attrs(content: tuple[Inline, ...], ident: str) -> tuple[tuple[Inline, ...], str]:
        """Pandoc's ``# Heading {#id .class}``: the attributes end the heading's text."""
        if content and isinstance(content[-1], Text):
            m = re.search(r"\s*\{([^{}]*)\}\s*$", content[-1].text)
            if m and (m.group(1).strip().startswith(("#", ".", "-")) or "=" in m.group(1)):
                attr = parse_attr_text("{" + m.group(1) + "}")
                rest = content[-1].text[: m.start()]
                content = content[:-1] + ((replace(content[-1], text=rest),) if rest else ())
                ident = attr.id or ident
        return content, ident

    def _ident(self, ident: str, pos: Pos) -> str:
        """An explicit id ({#id}): a valid XML name, unique, not one of publish's own."""
        if not ident:
            return ""
        if not xml_id_ok(ident):
            self.diag.error(pos.path, pos.line, pos.col,
                            f"id '{ident}' must start with a letter or '_' and hold only letters, digits, "
                            "'-', '_', '.' (an XML name)")
            return ""
        if id_is_reserved(ident):
            self.diag.error(pos.path, pos.line, pos.col, f"id '{ident}' is reserved by publish (its own ids use "
                            f"{', '.join(sorted(RESERVED_IDS))} and the prefixes {', '.join(RESERVED_ID_PREFIXES)})")
            return ""
        first = self.refs.ids.get(ident)
        if first is not None:
            self.diag.error(pos.path, pos.line, pos.col, f"duplicate id '{ident}' (first at line {first.line})")
            return ""
        self.refs.ids[ident] = pos
        return ident

    def _pos(self, tok: Token | None) -> Pos:
        line = (tok.map[0] if tok is not None and tok.map else 0) + 1 + self.line_offset
        return Pos(self.path, line, 1)

    def _blocks(self, toks: list[Token], i: int, close: str | None,
                close_html: str | None = None) -> tuple[list[Block], int]:
        """Blocks up to the token ``close`` (consumed) or, with ``close_html``, up to the
        HTML block that ends that element (consumed; ``close`` is then left for the caller)."""
        out: list[Block] = []
        while i < len(toks):
            t = toks[i]
            if close is not None and t.type == close:
                return self._captions(out), (i if close_html else i + 1)
            ty = t.type
            if close_html and ty == "html_block" and re.match(rf"\s*</{close_html}\s*>", t.content, re.I):
                rest = re.sub(rf"^\s*</{close_html}\s*>", "", t.content, count=1, flags=re.I)
                if rest.strip():  # more HTML after the end tag: read it as a block of its own
                    tail = Token("html_block", "", 0, content=rest, map=t.map)
                    toks.insert(i + 1, tail)
                return self._captions(out), i + 1
            if ty == "front_matter":
                i += 1
            elif ty == "heading_open":
                self._enter(t)
                content, ident = self._heading_attrs(self.inlines(toks[i + 1]), str(t.attrs.get("id", "")))
                out.append(Heading(int(t.tag[1]), content, Attr(self._ident(ident, self._pos(t))), pos=self._pos(t)))
                i += 3
            elif ty == "paragraph_open":
                self._enter(t)
                out.append(self._paragraph(toks[i + 1], self._pos(t)))
                i += 3
            elif ty == "math_block":  # $$…$$ on lines of its own: Pandoc's paragraph of display math
                pos = self._pos(t)
                out.append(Paragraph((Math(t.content, display=True, pos=pos),), pos=pos))
                i += 1
            elif ty == "table_open":
                table, i = self._table(toks, i)
                out.append(table)
            elif ty == "blockquote_open":
                inner, i = self._blocks(toks, i + 1, "blockquote_close")
                out.append(BlockQuote(tuple(inner), pos=self._pos(t)))
            elif ty in ("bullet_list_open", "ordered_list_open"):
                items: list[tuple[Block, ...]] = []
                close_ty = ty.replace("_open", "_close")
                j = i + 1
                while toks[j].type != close_ty:
                    assert toks[j].type == "list_item_open", toks[j].type
                    inner, j = self._blocks(toks, j + 1, "list_item_close")
                    items.append(tuple(inner))
                start = int(t.attrs.get("start", 1))  # a list may start at 0 (markdown-it omits 1)
                out.append(ListBlock(ty.startswith("ordered"), tuple(items), start=start, pos=self._pos(t)))
                i = j + 1
            elif ty in ("fence", "code_block"):
                lang = (t.info or "").strip().split(" ")[0] if ty == "fence" else ""
                out.append(CodeBlock(t.content, Attr(classes=(lang,) if lang else ()), pos=self._pos(t)))
                i += 1
            elif ty == "html_block":
                made = self._html_block(t)
                i += 1
                # <div markdown="1">, <details><summary>…</summary>, <aside>: an element left
                # open here holds the Markdown blocks up to its end tag (Pandoc's native divs)
                tag = rawhtml.unclosed_container(t.content)
                if tag and made and isinstance(made[-1], (Div, BlockQuote, Figure)):
                    inner, i = self._blocks(toks, i, close, close_html=tag)
                    made = made[:-1] + (replace(made[-1], content=made[-1].content + tuple(inner)),)
                out.extend(made)
            elif ty == "hr":
                out.append(ThematicBreak(pos=self._pos(t)))
                i += 1
            elif ty == "dl_open":
                dl_items: list[DefinitionItem] = []
                j = i + 1
                while toks[j].type != "dl_close":
                    assert toks[j].type == "dt_open", toks[j].type
                    self._enter(toks[j + 1]) if toks[j + 1].map else None
                    term = self.inlines(toks[j + 1])
                    j += 3
                    defs: list[tuple[Block, ...]] = []
                    while j < len(toks) and toks[j].type == "dd_open":
                        inner, j = self._blocks(toks, j + 1, "dd_close")
                        defs.append(tuple(inner))
                    dl_items.append(DefinitionItem(term, tuple(defs)))
                out.append(DefinitionList(tuple(dl_items), pos=self._pos(t)))
                i = j + 1
            elif ty == "container_div_open":
                attr = parse_attr_text(t.info or "")
                attr = replace(attr, id=self._ident(attr.id, self._pos(t)))
                inner, i = self._blocks(toks, i + 1, "container_div_close")
                out.append(Div(attr, tuple(inner), pos=self._pos(t)))
            elif ty == "footnote_block_open":
                i = self._footnote_block(toks, i + 1)
            else:  # pragma: no cover - every token type markdown-it emits here is handled above
                self.diag.error(self.path, self._pos(t).line, 1, f"unsupported Markdown construct ({ty})")
                i += 1
        return self._captions(out), i

    # ------------------------------------------------------------------ figures and tables
    def _paragraph(self, tok: Token, pos: Pos) -> Block:
        """A paragraph, or Pandoc's implicit figure: an image alone in its paragraph,
        with alt text, is a figure captioned by that text (the image's id goes to the figure)."""
        ch = tok.children or []
        bare = len(ch) == 2 and ch[1].type == "text" and _BARE_ATTRS.fullmatch(ch[1].content.rstrip())
        if (ch and ch[0].type == "image" and ch[0].children and (len(ch) == 1 or bare)
                and not is_remote(str(ch[0].attrs.get("src", "")))):
            caption = self.inlines(ch[0])
            (img,) = self.inlines(tok)  # the image, with {width=50%} if it follows
            if caption:
                return Figure((Plain((replace(img, attr=replace(img.attr, id="")),), pos=pos),),
                              caption=(Plain(caption, pos=pos),), attr=Attr(img.attr.id), pos=pos)
            return Paragraph((img,), pos=pos)
        return Paragraph(self.inlines(tok), pos=pos)

    def _table(self, toks: list[Token], i: int) -> tuple[Table, int]:
        """Tokens of a pipe table (markdown-it) or a grid/simple/multiline table (tables.py)."""
        t = toks[i]
        pos = self._pos(t)
        sections: dict[str, list[Row]] = {"thead": [], "tbody": [], "tfoot": []}
        rows = sections["tbody"]
        first_aligns: list[Alignment] = []
        j = i + 1
        while toks[j].type != "table_close":
            ty = toks[j].type
            if ty in ("thead_open", "tbody_open", "tfoot_open"):
                rows = sections[ty[:5]]
                j += 1
            elif ty == "tr_open":
                cells: list[Cell] = []
                j += 1
                while toks[j].type != "tr_close":
                    style = str(toks[j].attrs.get("style", ""))
                    cell, j = self._cell(toks, j, header=rows is sections["thead"])
                    cells.append(cell)
                    if len(first_aligns) < len(cells):
                        first_aligns.append(_style_align(style))
                rows.append(Row(tuple(cells)))
                j += 1
            else:  # closing tokens of the sections
                j += 1
        meta = t.meta or {}
        aligns = meta.get("aligns") or first_aligns
        widths = meta.get("widths") if "widths" in meta else self._pipe_widths(t)
        ncols = max((sum(c.colspan for c in r.cells) for r in sections["thead"] + sections["tbody"]), default=0)
        colspecs = tuple(ColSpec(aligns[k] if k < len(aligns) else "default", widths[k] if widths and k < len(widths) else None)
                         for k in range(max(ncols, len(aligns))))
        table = Table(colspecs, tuple(sections["thead"]), tuple(sections["tbody"]), foot=tuple(sections["tfoot"]), pos=pos)
        return table, j + 1

    def _cell(self, toks: list[Token], j: int, header: bool) -> tuple[Cell, int]:
        c = toks[j]
        tag = c.type[:2]
        meta = c.meta or {}
        saved = self._col0
        line = toks[j + 1].map[0] if toks[j + 1].map else self._cursor[0]
        col = meta.get("col")
        if col is None:  # a pipe-table cell: the next one on the same line
            col = self._cursor[1] if self._cursor[0] == line else 0
        self._col0 = col
        if toks[j + 1].type == "inline" and toks[j + 2].type == f"{tag}_close":
            tok = toks[j + 1]
            if tok.map:
                self._cursor, self._block_end = (tok.map[0], col), tok.map[1]
            content = self.inlines(tok)
            blocks: tuple[Block, ...] = (Plain(content, pos=Pos(self.path, line + 1 + self.line_offset, col + 1)),) if content else ()
            j += 3
        else:
            inner, j = self._blocks(toks, j + 1, f"{tag}_close")
            blocks = tuple(inner)
            if len(blocks) == 1 and isinstance(blocks[0], Paragraph):  # Pandoc: a lone paragraph is Plain
                blocks = (Plain(blocks[0].content, pos=blocks[0].pos),)
        self._col0 = saved
        return Cell(blocks, rowspan=int(meta.get("rowspan", 1)), colspan=int(meta.get("colspan", 1)), header=header), j

    def _pipe_widths(self, t: Token) -> list[float] | None:
        """Pandoc's pipe tables: relative widths from the delimiter row's dashes, only
        when some line of the table is wider than the text (72 columns)."""
        if not t.map:
            return None
        lines = self.lines[t.map[0] : t.map[1]]
        if not any(len(ln) > 72 for ln in lines) or len(lines) < 2:
            return None
        segs = [len(s.strip()) for s in lines[1].strip().strip("|").split("|")]
        total = sum(segs)
        return [n / total for n in segs] if total else None

    def _captions(self, blocks: list[Block]) -> list[Block]:
        """Pandoc's table_captions: a paragraph ``Table: …`` or ``: …`` right before or
        after a table is its caption; ``{#id}`` at its end is the table's id."""
        if not any(isinstance(b, Table) for b in blocks):
            return blocks
        used: set[int] = set()
        out = list(blocks)
        for k, b in enumerate(blocks):
            if not isinstance(b, Table) or b.caption:
                continue
            for other in (k - 1, k + 1):
                if 0 <= other < len(blocks) and other not in used and (cap := _caption_of(blocks[other])) is not None:
                    content, ident = self._heading_attrs(cap, "")
                    pos = blocks[other].pos or b.pos or Pos(self.path, 1)
                    out[k] = replace(b, caption=(Plain(_trim_inlines(content), pos=pos),),
                                     attr=replace(b.attr, id=self._ident(ident, pos)))
                    used.add(other)
                    break
        return [b for k, b in enumerate(out) if k not in used]

    def _footnote_block(self, toks: list[Token], i: int) -> int:
        """Footnote definitions become Annotation(kind="footnote") shells."""
        while toks[i].type != "footnote_block_close":
            t = toks[i]
            assert t.type == "footnote_open", t.type
            ann_id = _fn_key(t.meta)
            j = i + 1
            body_toks: list[Token] = []
            depth = 0
            while not (toks[j].type == "footnote_close" and depth == 0):
                if toks[j].type == "footnote_anchor":
                    j += 1
                    continue
                body_toks.append(toks[j])
                j += 1
            shell = self.refs.annotations.get(ann_id)
            if shell is not None and shell.kind == "footnote":  # else: its reference was refused
                inner, _ = self._blocks(body_toks, 0, None)
                self.refs.annotations[ann_id] = Annotation(
                    id=ann_id, kind="footnote", body=tuple(inner), pos=shell.pos
                )
            i = j + 1
        return i + 1

    # ----------------------------------------------------------------- inlines
    def _enter(self, tok: Token) -> None:
        if tok.map:
            self._cursor = (tok.map[0], self._col0)
            self._block_end = tok.map[1]

    def _locate(self, needle: str) -> Pos:
        """Find ``needle`` at or after the cursor within the current block."""
        li, ci = self._cursor
        end = max(self._block_end, li + 1)
        for k in range(li, min(end, len(self.lines))):
            start = ci if k == li else self._col0
            found = self.lines[k].find(needle, start) if needle else -1
            if found >= 0:
                self._cursor = (k, found + max(len(needle), 1))
                return Pos(self.path, k + 1 + self.line_offset, found + 1)
        return Pos(self.path, li + 1 + self.line_offset, ci + 1)

    def _locate_span(self, attrs: dict) -> Pos:
        ref = attrs.get("ref")
        if ref:
            li, ci = self._cursor
            end = max(self._block_end, li + 1)
            pat = re.compile(r"ref\s*=\s*[\"']?" + re.escape(str(ref)))
            for k in range(li, min(end, len(self.lines))):
                m = pat.search(self.lines[k], ci if k == li else self._col0)
                if m:
                    brace = self.lines[k].rfind("{", 0, m.start())
                    col = self._span_start(k, brace if brace >= 0 else m.start())
                    self._cursor = (k, col + 1)  # the span's text comes next, inside [ ]
                    return Pos(self.path, k + 1 + self.line_offset, col + 1)
            return Pos(self.path, li + 1 + self.line_offset, ci + 1)
        cls = str(attrs.get("class", "")).split()
        ident = str(attrs.get("id", ""))
        pos = self._locate("{." + cls[0]) if cls else self._locate("{#" + ident if ident else "]{")
        k = pos.line - 1 - self.line_offset
        if 0 <= k < len(self.lines):
            col = self._span_start(k, pos.col - 1 + (1 if not cls and not ident else 0))
            self._cursor = (k, col + 1)
            return Pos(pos.path, pos.line, col + 1)
        return pos

    def _span_start(self, k: int, brace: int) -> int:
        """Column of the ``[`` that opens the span whose ``]{`` is at ``brace``."""
        line = self.lines[k]
        if brace <= 0 or brace > len(line) or line[brace - 1] != "]":
            return max(0, min(brace, len(line)))
        depth = 0
        for j in range(brace - 1, -1, -1):
            if j > 0 and line[j - 1] == "\\":
                continue
            if line[j] == "]":
                depth += 1
            elif line[j] == "[":
                depth -= 1
                if depth == 0:
                    return j
        return brace

    def inlines(self, tok: Token) -> tuple[Inline, ...]:
        children = tok.children or []
        out, _ = self._inlines(children, 0, None)
        return tuple(out)

    def _inlines(self, ch: list[Token], i: int, close: str | None) -> tuple[list[Inline], int]:
        out: list[Inline] = []
        while i < len(ch):
            t = ch[i]
            ty = t.type
            if close is not None and ty == close:
                return out, i + 1
            if ty == "text":
                if t.content:
                    pos = self._locate(t.content)
                    bad = illegal_char(t.content)
                    if bad is not None:  # from an entity such as &#1;
                        self.diag.error(pos.path, pos.line, pos.col + bad,
                                        f"{describe_char(t.content[bad])} (from an entity): no output format can hold it")
                    out.append(Text(t.content, pos=pos))
                i += 1
            elif ty == "softbreak":
                out.append(SoftBreak())
                i += 1
            elif ty == "hardbreak":
                out.append(LineBreak())
                i += 1
            elif ty == "code_inline":
                self._locate(t.content)
                out.append(Code(t.content))
                i += 1
            elif ty == "em_open":
                inner, i = self._inlines(ch, i + 1, "em_close")
                out.append(Emph(tuple(inner)))
            elif ty == "strong_open":
                inner, i = self._inlines(ch, i + 1, "strong_close")
                out.append(Strong(tuple(inner)))
            elif ty in _WRAPPERS:
                inner, i = self._inlines(ch, i + 1, ty.replace("_open", "_close"))
                out.append(_WRAPPERS[ty](tuple(inner)))
            elif ty in ("math_inline", "math_inline_double"):
                pos = self._locate(t.content)
                out.append(Math(t.content, display=ty == "math_inline_double", pos=Pos(pos.path, pos.line, max(pos.col - 1, 1))))
                i += 1
            elif ty == "link_open":
                href = str(t.attrs.get("href", ""))
                pos = self._locate("](" + href[:20]) if href else self._locate("](")
                pos = Pos(pos.path, pos.line, pos.col + 2)
                inner, i = self._inlines(ch, i + 1, "link_close")
                out.append(self._link(href, tuple(inner), str(t.attrs.get("title", "") or ""), pos))
            elif ty == "image":
                img = self._image(t)
                i += 1
                if not isinstance(img, Image):
                    out.append(img)
                    continue
                # Pandoc reads bare values such as {width=50%} or {height=3.5in}, which the
                # attrs plugin refuses (it leaves them as text): take them from that text
                nxt = ch[i] if i < len(ch) else None
                m = _BARE_ATTRS.match(nxt.content) if nxt is not None and nxt.type == "text" else None
                if m and not t.attrs.get("width") and not t.attrs.get("height"):
                    extra = parse_attr_text(m.group(0))
                    img = replace(img, attr=replace(img.attr, kv=img.attr.kv + extra.kv,
                                                    classes=img.attr.classes + extra.classes))
                    self._locate(m.group(0))
                    rest = nxt.content[m.end():]
                    if rest:
                        nxt.content = rest
                    else:
                        i += 1
                out.append(img)
            elif ty == "html_inline":
                node, i = self._html_inline(ch, i, close)
                if node is not None:
                    out.append(node)
            elif ty == "footnote_ref":
                out.append(self._footnote_ref(t))
                i += 1
            elif ty == "span_open":
                pos = self._locate_span(t.attrs)
                inner, i = self._inlines(ch, i + 1, "span_close")
                out.append(self._span(dict(t.attrs), tuple(inner), pos))
            else:  # pragma: no cover
                self.diag.error(self.path, self._cursor[0] + 1 + self.line_offset, 1,
                                f"unsupported inline Markdown ({ty})")
                i += 1
        return out, i

    def _link(self, href: str, inner: tuple[Inline, ...], title: str, pos: Pos) -> Inline:
        """Absolute URLs and #ids stay links; links to other files cannot be followed
        in a PDF, an EPUB and a DOCX alike, so they keep their text and lose the link."""
        bad = _BAD_LINK.match(href)
        if bad:
            self.diag.error(pos.path, pos.line, pos.col,
                            f"link to '{href[:40]}' refused ({bad.group(1).lower()}: URLs are not allowed)")
            return Span(Attr(), inner)
        nested = next((i for i in nodes(inner) if isinstance(i, (Link, NoteRef))), None)
        if nested is not None:
            what = "a link" if isinstance(nested, Link) else "a note anchor"
            self.diag.error(pos.path, pos.line, pos.col, f"{what} cannot stand inside a link")
            return Span(Attr(), inner)
        if href.startswith(HEADING_REF):  # [Heading]: transforms.links gives it the heading's id
            return Link("#", inner, title=title, attr=Attr(kv=(("heading-line", href[len(HEADING_REF):]),)), pos=pos)
        if href.startswith("#"):
            fragment = unquote(href[1:])  # markdown-it percent-encodes: compare ids decoded
            if not fragment:
                self.diag.warning(pos.path, pos.line, pos.col,
                                  "link to '#' is a placeholder that goes nowhere: the text is kept without the link")
                return Span(Attr(), inner)
            return Link("#" + fragment, inner, title=title, pos=pos)
        if _ALLOWED_SCHEME.match(href):
            return Link(href, inner, title=title, pos=pos)
        if _SCHEME.match(href):
            self.diag.error(pos.path, pos.line, pos.col,
                            f"link to '{href[:40]}' refused: only https:, http: and mailto: links are allowed")
            return Span(Attr(), inner)
        self.diag.warning(pos.path, pos.line, pos.col,
                          f"link to '{href[:60]}' is a file of its own, which no output carries: "
                          "the text is kept without the link (use an https:// URL or #id)")
        return Span(Attr(), inner)

    # ------------------------------------------------------------ raw HTML
    def _report(self, problems, where) -> bool:
        """Report raw-HTML problems (``where(offset)`` is their position); True if any is an error."""
        errors = False
        for p in problems:
            at = where(p.offset)
            (self.diag.error if p.severity == "error" else self.diag.warning)(at.path, at.line, at.col, p.message)
            errors |= p.severity == "error"
        return errors

    def _html_block(self, t: Token) -> tuple[Block, ...]:
        pos = self._pos(t)
        problems, _, text = rawhtml.scan_literal(t.content)

        def where(offset: int) -> Pos:
            dl, dc = rawhtml.offset_to_line_col(t.content, offset)
            return Pos(self.path, pos.line + dl, dc + 1)

        if self._report(problems, where):
            return ()
        return rawhtml.html_block_to_model(text, pos, ident=self._ident, link=self._link, image=self._html_image,
                                          markdown=self._markdown)

    def _markdown(self, text: str, pos: Pos) -> tuple[Block, ...]:
        """The content of an HTML element marked ``markdown="1"``, read as Markdown
        (with the document's link references)."""
        env: dict = {"references": dict(self._env.get("references", {})), "line_offset": pos.line - 1}
        sub = Converter(text, self.path, self.diag, self.refs, line_offset=pos.line - 1, in_note=self.in_note,
                        resolve_image=self.resolve_image)
        sub._env = env
        return sub.blocks(_MD.parse(text, env), env)

    def _html_image(self, src: str, alt: str, title: str, pos: Pos) -> Inline:
        """``<img src alt title>``: an image through the resolver, as ``![alt](src "title")``."""
        if is_remote(src):
            return self.remote_image(src, alt, pos)
        if self.in_note:
            self.diag.error(pos.path, pos.line, pos.col, "images cannot be placed inside notes")
        resolved = self.resolve_image(src, pos) if self.resolve_image is not None else src
        return Image(src=resolved, alt=alt, title=title, pos=pos)

    def _html_inline(self, ch: list[Token], i: int, close: str | None) -> tuple[Inline | None, int]:
        """An inline tag: refused, kept as text (not HTML at all), or paired with its
        closing tag into a model node."""
        t = ch[i]
        pos = self._locate(t.content)
        problems, _, literal = rawhtml.scan_literal(t.content)
        if self._report(problems, lambda off: Pos(pos.path, pos.line, pos.col + off)):
            return None, i + 1
        if literal != t.content:  # <year>, <name of author>: text
            return Text(t.content, pos=pos), i + 1
        parsed = rawhtml.parse_tag(t.content)
        if parsed is None:  # a comment
            return None, i + 1
        kind, tag, attrs = parsed
        role = rawhtml.INLINE_TAGS.get(tag)
        if tag == "img" and kind != "end":
            return self._html_image(attrs.get("src", ""), attrs.get("alt", ""), attrs.get("title", ""), pos), i + 1
        if kind == "void" or kind == "end" or role is None or role == "drop":
            # <br/> is a line break; a stray or block-level tag is dropped (its text stays)
            return (LineBreak() if tag == "br" else None), i + 1
        # find the matching end tag among the siblings at this level
        depth = 0
        same = 0
        for j in range(i + 1, len(ch)):
            c = ch[j]
            if close is not None and c.type == close and depth == 0:
                break
            depth += c.nesting if c.type != "html_inline" else 0
            if depth < 0:
                break
            if c.type == "html_inline" and depth == 0:
                other = rawhtml.parse_tag(c.content)
                if other and other[1] == tag:
                    if other[0] == "start":
                        same += 1
                    elif other[0] == "end":
                        if same == 0:
                            inner, _ = self._inlines(ch[i + 1 : j], 0, None)
                            return self._html_node(role, attrs, tuple(inner), pos), j + 1
                        same -= 1
        return None, i + 1  # unclosed: the tag is dropped, the text after it stays

    def _html_node(self, role: str, attrs: dict[str, str], inner: tuple[Inline, ...], pos: Pos) -> Inline:
        if role == "strong":
            return Strong(inner)
        if role == "emph":
            return Emph(inner)
        if role in ("sub", "sup", "strike"):
            return {"sub": Subscript, "sup": Superscript, "strike": Strikeout}[role](inner)
        if role == "code" and all(isinstance(x, Text) for x in inner):
            return Code("".join(x.text for x in inner))  # type: ignore[union-attr]
        if role == "link" and attrs.get("href"):
            return self._link(attrs["href"], inner, attrs.get("title", ""), pos)
        kv = tuple((k, v) for k, v in attrs.items() if k in ("lang", "dir", "title"))
        return Span(Attr(self._ident(attrs.get("id", ""), pos), tuple(attrs.get("class", "").split()), kv), inner)

    def _image(self, t: Token) -> Inline:
        attrs = dict(t.attrs)
        src = str(attrs.pop("src", ""))
        title = str(attrs.pop("title", "") or "")
        attrs.pop("alt", None)  # markdown-it's copy of the alt text, which is ``alt`` itself
        alt = "".join(c.content for c in (t.children or []) if c.type in ("text", "code_inline"))
        pos = self._locate(src) if src else self._locate("![")
        if is_remote(src):
            return self.remote_image(src, alt, pos)
        ident = self._ident(str(attrs.pop("id", "")), pos)
        classes = tuple(str(attrs.pop("class", "")).split())
        if self.in_note:
            self.diag.error(pos.path, pos.line, pos.col, "images cannot be placed inside notes")
        resolved = src
        if self.resolve_image is not None:
            resolved = self.resolve_image(src, pos)
        img = Image(src=resolved, alt=alt, title=title,
                    attr=Attr(ident, classes, tuple((k, str(v)) for k, v in attrs.items())), pos=pos)
        return img

    def remote_image(self, src: str, alt: str, pos: Pos) -> Inline:
        """Nothing is ever fetched: a remote image is replaced by its alt text (or a
        line naming it), with a warning."""
        text = alt.strip() or f"image not included: {src}"
        self.diag.warning(pos.path, pos.line, pos.col,
                          f"image '{src[:80]}' is not fetched (publish never fetches): "
                          + (f"its alt text '{alt.strip()[:40]}' stands in its place" if alt.strip()
                             else "a line 'image not included: <URL>' stands in its place")
                          + "; put the file beside the source to include it")
        return Span(Attr(classes=("image-not-included",)), (Text(text, pos=pos),))

    def _footnote_ref(self, t: Token) -> Inline:
        label = t.meta.get("label")
        pos = self._locate("[^" + label) if label is not None else self._locate("^[")
        ann_id = _fn_key(t.meta)
        if self.in_note:
            self.diag.error(pos.path, pos.line, pos.col, "a note cannot contain another note")
            return Text("")
        if ann_id in self.refs.anchored:
            self.diag.error(pos.path, pos.line, pos.col, f"footnote '{label}' is referenced twice")
        self.refs.anchored.setdefault(ann_id, pos)
        shell = self.refs.annotations.get(ann_id)
        if shell is None:  # body comes later in the stream: keep a shell, fill in afterwards
            shell = Annotation(id=ann_id, kind="footnote", body=(), pos=pos)
            self.refs.annotations[ann_id] = shell
            self.refs.footnotes.append(shell)
        return NoteRef(shell.id, (), pos=pos)

    def _span(self, attrs: dict, content: tuple[Inline, ...], pos: Pos) -> Inline:
        classes = tuple(str(attrs.pop("class", "")).split())
        ident = self._ident(str(attrs.pop("id", "")), pos)
        kinds = [c for c in classes if c in _CLASS_KINDS]
        if len(kinds) > 1:
            self.diag.error(pos.path, pos.line, pos.col,
                            f"a span can be only one of .term, .note, .speaker (got {', '.join(kinds)}); nest spans instead")
            return Span(Attr(ident, classes, _kv(attrs)), content)
        if not kinds:
            return Span(Attr(ident, classes, _kv(attrs)), content)
        kind = kinds[0]
        ref = str(attrs.get("ref", "")).strip()
        text = _flat(content).strip()
        if kind == "term":
            entry = self.refs.glossary.get(ref) if ref else self.refs.by_name.get(_norm(text))
            if entry is None:
                what = f"'{ref}'" if ref else f"for '{text}' (no entry has that term or alias; add ref=ID)"
                self.diag.error(pos.path, pos.line, pos.col, f"unknown glossary term {what}")
                return Span(Attr(ident, classes, _kv(attrs)), content)
            return TermRef(entry.id, content, pos=pos)
        if kind == "note":
            if self.in_note:
                self.diag.error(pos.path, pos.line, pos.col, "a note cannot contain another note")
                return Span(Attr(ident, (), ()), content)
            if not ref:
                self.diag.error(pos.path, pos.line, pos.col, "a .note span needs ref=ID")
                return Span(Attr(ident, (), ()), content)
            ann = self.refs.annotations.get(ref)
            if ann is None:
                self.diag.error(pos.path, pos.line, pos.col, f"unknown annotation '{ref}'")
                return Span(Attr(ident, (), ()), content)
            if ref in self.refs.anchored:
                first = self.refs.anchored[ref]
                self.diag.error(pos.path, pos.line, pos.col,
                                f"annotation '{ref}' is already anchored at line {first.line}")
                return Span(Attr(ident, (), ()), content)
            self.refs.anchored[ref] = pos
            return NoteRef(ann.id, content, pos=pos)
        # speaker
        person = self.refs.people.get(ref) if ref else self.refs.people_by_name.get(_norm(text))
        if person is None:
            what = f"'{ref}'" if ref else f"for '{text}' (add ref=ID)"
            self.diag.error(pos.path, pos.line, pos.col, f"unknown person {what}")
            return Span(Attr(ident, (), ()), content)
        return SpeakerRef(person.id, content, pos=pos)


_WRAPPERS: dict[str, Callable[[tuple[Inline, ...]], Inline]] = {
    "s_open": Strikeout, "sub_open": Subscript, "sup_open": Superscript,
}
_CAPTION = re.compile(r"^(?:[Tt]able:|:(?![!-/:-@\[-`{-~]))\s*")


def _caption_of(block: Block) -> tuple[Inline, ...] | None:
    """The inlines of a ``Table: …`` / ``: …`` paragraph without that mark, else None."""
    if not isinstance(block, Paragraph) or not block.content or not isinstance(block.content[0], Text):
        return None
    first = block.content[0]
    m = _CAPTION.match(first.text)
    if m is None:
        return None
    rest = first.text[m.end():]
    return ((replace(first, text=rest),) if rest else ()) + block.content[1:]


def _trim_inlines(content: tuple[Inline, ...]) -> tuple[Inline, ...]:
    items = list(content)
    while items and isinstance(items[0], SoftBreak):
        items.pop(0)
    while items and isinstance(items[-1], SoftBreak):
        items.pop()
    if items and isinstance(items[-1], Text):
        items[-1] = replace(items[-1], text=items[-1].text.rstrip())
    return tuple(i for i in items if not (isinstance(i, Text) and not i.text))


def _style_align(style: str) -> Alignment:
    m = re.search(r"text-align\s*:\s*(left|right|center)", style or "")
    return m.group(1) if m else "default"  # type: ignore[return-value]


def _kv(attrs: dict) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in attrs.items())


def _flat(content: tuple[Inline, ...]) -> str:
    from ..model import plain_text

    return plain_text(content)


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("\u2019", "'")).strip().casefold()


# {width=50%}, {height=3.5in .x}: attributes right after an image with a bare value
# holding characters the attrs plugin does not accept in one
_BARE_ATTRS = re.compile(r"""\{(?=[^{}\n]*\b(?:width|height)=[^\s"'}]*[%.])[^{}\n]*\}""")

_ATTR_TOKEN = re.compile(r"""\s*(?:\.([\w-]+)|#([\w-]+)|([\w-]+)=("[^"]*"|'[^']*'|[^\s}]+)|([\w-]+))""")


def parse_attr_text(info: str) -> Attr:
    """Attributes of a fenced div: ``credit`` or ``{#id .credit key=value}``."""
    s = info.strip()
    if s.startswith("{") and s.endswith("}"):
        s = s[1:-1]
    ident, classes, kv = "", [], []
    pos = 0
    while pos < len(s):
        m = _ATTR_TOKEN.match(s, pos)
        if not m or m.end() == pos:
            break
        cls, hid, key, val, bare = m.groups()
        if cls:
            classes.append(cls)
        elif hid:
            ident = hid
        elif key:
            kv.append((key, val.strip("\"'")))
        elif bare:
            classes.append(bare)
        pos = m.end()
    return Attr(ident, tuple(classes), tuple(kv))


def normalise_name(s: str) -> str:
    return _norm(s)
