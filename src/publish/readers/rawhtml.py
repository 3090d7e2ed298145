"""Raw HTML in a Markdown source: refuse what is dangerous, turn the rest into the model.

Sources come from many hands (pasted web text among them). Scripts, frames,
embedded objects, stylesheets, ``<base>``/``<meta>``/``<link>``, event-handler
attributes and ``javascript:`` URLs are refused with their position. Harmless
markup is not passed through as raw text for writers to trust: it becomes
ordinary model nodes (``<b>`` → Strong, ``<p>`` → Paragraph, …), so every
writer renders it and the EPUB stays well-formed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

REFUSED_TAGS = {
    "script": "scripts are not allowed",
    "iframe": "frames are not allowed",
    "frame": "frames are not allowed",
    "frameset": "frames are not allowed",
    "object": "embedded objects are not allowed",
    "embed": "embedded objects are not allowed",
    "applet": "embedded objects are not allowed",
    "link": "<link> is not allowed (styles live in styles/)",
    "style": "<style> is not allowed (styles live in styles/)",
    "base": "<base> is not allowed",
    "meta": "<meta> is not allowed",
    "form": "forms are not allowed",
    "input": "forms are not allowed",
    "button": "forms are not allowed",
    "textarea": "forms are not allowed",
    "select": "forms are not allowed",
    "video": "media elements are not allowed",
    "audio": "media elements are not allowed",
    "svg": "inline SVG is not allowed; use an image file",
    "math": "inline MathML is not allowed",
    "template": "<template> is not allowed",
    "portal": "<portal> is not allowed",
    "noscript": "<noscript> is not allowed",
}
INLINE_TAGS = {
    "b": "strong", "strong": "strong", "i": "emph", "em": "emph", "a": "link", "br": "br", "wbr": "wbr",
    "code": "code", "kbd": "code", "samp": "code", "tt": "code",
    "span": "span", "u": "span", "s": "strike", "sub": "sub", "sup": "sup", "small": "span", "mark": "span",
    "abbr": "span", "cite": "span", "q": "span", "dfn": "span", "var": "span", "del": "strike", "ins": "span",
    "time": "span", "bdi": "span", "bdo": "span", "big": "span", "font": "span", "nobr": "span", "strike": "strike",
    "img": "img", "picture": "span", "source": "drop", "track": "drop",
    # other (and obsolete) HTML elements that stand in text: their content is kept
    "acronym": "span", "label": "span", "ruby": "span", "rt": "span", "rp": "span", "rb": "span", "rtc": "span",
    "data": "span", "output": "span", "meter": "span", "progress": "span", "canvas": "span", "map": "span",
    "area": "drop", "blink": "span", "marquee": "span", "basefont": "drop", "slot": "span", "param": "drop",
    "option": "span", "optgroup": "span", "datalist": "span", "legend": "span", "spacer": "drop",
}
BLOCK_TAGS = {
    "p", "div", "section", "article", "aside", "header", "footer", "main", "nav", "blockquote", "ul", "ol",
    "li", "dl", "dt", "dd", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "figure", "figcaption",
    "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "center", "address", "details", "summary",
    "colgroup", "col", "html", "body", "head", "title",
    "dialog", "menu", "hgroup", "search", "fieldset", "dir", "listing", "xmp", "plaintext", "noframes",
    "noembed", "multicol",
}
VOID_TAGS = {"br", "wbr", "hr", "col", "img", "input", "meta", "link", "base", "source", "embed", "track", "area",
             "param", "basefont", "spacer"}
ALLOWED_ATTRS = {"class", "id", "title", "lang", "dir", "href", "cite", "datetime", "colspan", "rowspan",
                 "abbr", "align", "start", "type", "reversed", "open", "xml:lang", "name", "style", "src", "alt",
                 "width", "height"}
# Harmless attributes that mean nothing in a book: dropped without a word (markdown="1"
# is PHP Markdown Extra's / Pandoc's "parse my content as Markdown", which publish does).
SILENT_ATTRS = {"target", "rel", "for", "markdown", "valign", "border", "cellpadding", "cellspacing", "bgcolor",
                "color", "face", "size", "nowrap", "loading", "decoding", "srcset", "sizes", "media", "role",
                "tabindex", "hidden", "translate", "itemprop", "itemscope", "itemtype", "referrerpolicy",
                "crossorigin", "clear", "hspace", "vspace", "frame", "rules", "summary", "scope", "headers",
                "span", "value", "label", "download", "hreflang", "ping", "draggable", "spellcheck",
                "contenteditable", "accesskey", "autocapitalize", "inert", "popover", "nonce", "is", "slot",
                "longdesc", "usemap", "ismap", "shape", "coords", "compact", "noshade", "char", "charoff",
                "axis", "datetime"}
_BAD_URL = re.compile(r"^\s*(javascript|vbscript|data|file)\s*:", re.I)
_BAD_STYLE = re.compile(r"url\s*\(|expression\s*\(|@import|behavior\s*:|-moz-binding", re.I)


@dataclass(frozen=True)
class Problem:
    offset: int  # character offset in the raw HTML text
    message: str
    severity: str = "error"  # "warning": harmless, degraded (the text is kept)


def is_html_tag(tag: str) -> bool:
    """A tag HTML knows (refused or not); anything else (``<year>``, ``<name of
    author>`` in a licence text) is literal text."""
    return tag in INLINE_TAGS or tag in BLOCK_TAGS or tag in REFUSED_TAGS


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[Problem] = []
        self.tags: list[tuple[str, str, dict[str, str]]] = []  # (kind, tag, attrs)
        self.literal: list[tuple[int, int]] = []  # (start, end) of tags that are not HTML: text
        self._line_starts = [0]
        self._text = ""

    def feed_text(self, text: str) -> None:
        self._text = text
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.feed(text)
        self.close()

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col if line - 1 < len(self._line_starts) else 0

    def _literal(self, off: int, raw: str) -> None:
        self.literal.append((off, off + len(raw)))
        self.problems.append(Problem(off, f"'{raw[:60]}' is not an HTML tag: it is kept as text "
                                          "(write &lt; for a literal '<' to say so)", "warning"))

    def _check(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        """False for a tag that is not HTML at all (kept as text)."""
        off = self._offset()
        if tag in REFUSED_TAGS:
            self.problems.append(Problem(off, f"raw HTML <{tag}> refused: {REFUSED_TAGS[tag]}"))
            return True
        if not is_html_tag(tag):
            self._literal(off, self.get_starttag_text() or f"<{tag}>")
            return False
        for name, value in attrs:
            name = name.lower()
            v = value or ""
            if name.startswith("on"):
                self.problems.append(Problem(off, f"raw HTML event-handler attribute '{name}' refused"))
            elif name in ("href", "src", "cite", "action", "formaction", "xlink:href", "background", "poster") and _BAD_URL.match(v):
                self.problems.append(Problem(off, f"raw HTML URL '{v[:40]}' refused ({_BAD_URL.match(v).group(1).lower()}: URLs are not allowed)"))  # type: ignore[union-attr]
            elif name == "style" and _BAD_STYLE.search(v):
                self.problems.append(Problem(off, "raw HTML style attribute with url()/import refused"))
            elif name not in ALLOWED_ATTRS and name not in SILENT_ATTRS and not name.startswith(("data-", "aria-")):
                self.problems.append(Problem(off, f"raw HTML attribute '{name}' on <{tag}> is dropped "
                                                  "(it means nothing in a book)", "warning"))
        return True

    def handle_starttag(self, tag, attrs):
        if self._check(tag, attrs):
            self.tags.append(("start", tag, {k.lower(): v or "" for k, v in attrs}))

    def handle_startendtag(self, tag, attrs):
        if self._check(tag, attrs):
            self.tags.append(("void", tag, {k.lower(): v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        if is_html_tag(tag):
            self.tags.append(("end", tag, {}))
            return
        off = self._offset()
        m = re.compile(r"</[^>]*>").match(self._text, off)
        self._literal(off, m.group(0) if m else f"</{tag}>")

    def handle_pi(self, data):
        self.problems.append(Problem(self._offset(), "processing instructions are not allowed"))

    def unknown_decl(self, data):
        self.problems.append(Problem(self._offset(), "CDATA and declarations are not allowed"))

    def handle_decl(self, decl):
        pass  # <!DOCTYPE ...>: harmless, ignored


def scan(text: str) -> tuple[list[Problem], list[tuple[str, str, dict[str, str]]]]:
    """Problems in a piece of raw HTML, and its (HTML) tags in order."""
    problems, tags, _ = scan_literal(text)
    return problems, tags


def scan_literal(text: str) -> tuple[list[Problem], list[tuple[str, str, dict[str, str]]], str]:
    """``scan``, and the text with every tag that is not HTML escaped (literal text)."""
    s = _Scanner()
    try:
        s.feed_text(text)
    except Exception as exc:  # noqa: BLE001 - html.parser is lenient; be safe
        return [Problem(0, f"raw HTML cannot be read: {exc}")], [], text
    out = text
    for a, b in sorted(s.literal, reverse=True):
        out = out[:a] + out[a:b].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + out[b:]
    return s.problems, s.tags, out


# Elements that may hold Markdown blocks between an HTML block that opens them and
# one that closes them.
CONTAINERS = {"div", "aside", "details", "section", "article", "blockquote", "figure", "header", "footer", "main",
              "nav", "center", "dialog", "search", "hgroup", "fieldset"}


def unclosed_container(text: str) -> str | None:
    """The outermost element an HTML block opens and does not close, if it can hold blocks."""
    problems, tags = scan(text)
    if any(p.severity == "error" for p in problems):
        return None
    stack: list[str] = []
    for kind, tag, _ in tags:
        if kind == "start" and tag not in VOID_TAGS:
            stack.append(tag)
        elif kind == "end" and tag in stack:
            del stack[len(stack) - 1 - stack[::-1].index(tag):]
    return stack[0] if stack and stack[0] in CONTAINERS else None


def parse_tag(text: str) -> tuple[str, str, dict[str, str]] | None:
    """The single tag of an inline HTML token: (kind, tag, attrs), or None for a comment."""
    _, tags = scan(text)
    if not tags:
        return None
    kind, tag, attrs = tags[0]
    if kind == "start" and tag in VOID_TAGS:
        kind = "void"
    return kind, tag, attrs


def offset_to_line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset)
    col = offset - (text.rfind("\n", 0, offset) + 1)
    return line, col


# --------------------------------------------------------------------------- HTML blocks → model


def html_block_to_model(text: str, pos, ident=lambda i, p: "", link=None, image=None, markdown=None):
    """Convert an (already scanned, harmless) HTML block into model blocks.

    ``ident(id, pos)`` vets explicit ids; ``link(href, content, title, pos)`` makes links;
    ``image(src, alt, title, pos)`` makes an image (or its stand-in); ``markdown(text, pos)``
    reads the content of an element marked ``markdown="1"`` as Markdown blocks."""
    import lxml.html

    from dataclasses import replace

    from ..model import (
        Attr, BlockQuote, Cell, CodeBlock, ColSpec, Div, Figure, Heading, ListBlock, Paragraph, Plain, Row, Table,
        ThematicBreak,
    )

    try:
        parts = lxml.html.fragments_fromstring(text)
    except Exception:  # noqa: BLE001 - e.g. only a comment: nothing to convert
        return ()

    def attr(el) -> Attr:
        kv = tuple((k, v) for k, v in el.attrib.items() if k in ("lang", "dir", "title"))
        return Attr(ident(el.get("id", ""), pos), tuple((el.get("class") or "").split()), kv)

    def blocks_of(nodes) -> list:
        out: list = []
        run: list = []  # pending inline nodes/strings

        def flush():
            content = _trim(inlines_of(run))
            if content:
                out.append(Paragraph(content, pos=pos))
            run.clear()

        for n in nodes:
            if isinstance(n, str):
                run.append(n)
                continue
            if not isinstance(n.tag, str):  # comment / processing instruction
                if n.tail:
                    run.append(n.tail)
                continue
            tag = n.tag.lower()
            if tag in BLOCK_TAGS and tag not in ("html", "body"):
                flush()
                out.extend(block_of(n, tag))
                if n.tail and n.tail.strip():
                    run.append(n.tail)
            elif tag in ("html", "body"):
                flush()
                out.extend(blocks_of(_children(n)))
            else:
                run.append(n)
        flush()
        return out

    def at(el):
        """Where ``el`` starts in the source (lxml counts lines from the block's first)."""
        line = getattr(el, "sourceline", None)
        return type(pos)(pos.path, pos.line + line - 1, 1) if line else pos

    def inner_source(el) -> str:
        return (el.text or "") + "".join(lxml.html.tostring(c, encoding="unicode") for c in el)

    def block_of(el, tag: str) -> list:
        if markdown is not None and (el.get("markdown") or "").lower() in ("1", "block", "span") \
                and tag not in ("pre", "table", "ul", "ol", "dl", "hr"):
            inner = tuple(markdown(inner_source(el), at(el)))
            if tag in ("p", "dt", "dd", "li", "figcaption", "caption", "td", "th", "address", "title"):
                return list(inner)
            if tag == "summary":
                return [Div(Attr(classes=("summary",)), inner, pos=pos)]
            cls = ("details",) if tag == "details" else ("aside",) if tag == "aside" else ()
            a = attr(el)
            return [Div(replace(a, classes=cls + a.classes), inner, pos=pos)]
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            return [Heading(int(tag[1]), _trim(inlines_of(_children(el))), Attr(ident(el.get("id", ""), pos)), pos=pos)]
        if tag == "hr":
            return [ThematicBreak(pos=pos)]
        if tag == "pre":
            return [CodeBlock(el.text_content(), pos=pos)]
        if tag == "blockquote":
            return [BlockQuote(tuple(blocks_of(_children(el))), pos=pos)]
        if tag in ("ul", "ol"):
            items = [tuple(blocks_of(_children(li))) for li in el if isinstance(li.tag, str)]
            start = int(el.get("start", "1")) if (el.get("start") or "").isdigit() else 1
            return [ListBlock(tag == "ol", tuple(items), start=start, pos=pos)]
        if tag == "table":
            return [table_of(el)]
        if tag in ("tr", "thead", "tbody", "tfoot"):  # outside a table: its cells' blocks
            return [b for c in _elements(el) for b in block_of(c, c.tag.lower())]
        if tag == "figure":
            caps = [c for c in _elements(el) if c.tag.lower() == "figcaption"]
            content = [c for c in _children(el) if not (not isinstance(c, str) and c in caps)]
            caption = tuple(b for c in caps for b in plain(blocks_of(_children(c))))
            return [Figure(tuple(blocks_of(content)), caption=caption, attr=attr(el), pos=pos)]
        if tag in ("p", "dt", "dd", "li", "figcaption", "caption", "td", "th", "address", "title"):
            inner = blocks_of(_children(el))
            return inner
        if tag == "summary":  # the title of a <details>: set apart, always shown
            return [Div(Attr(classes=("summary",)), tuple(blocks_of(_children(el))), pos=pos)]
        a = attr(el)
        if tag in ("details", "aside"):
            a = replace(a, classes=(tag,) + a.classes)
        return [Div(a, tuple(blocks_of(_children(el))), pos=pos)]

    def plain(blocks: list) -> tuple:
        """Pandoc: a cell or caption holding one paragraph holds its inlines (Plain)."""
        if len(blocks) == 1 and isinstance(blocks[0], Paragraph):
            return (Plain(blocks[0].content, pos=pos),)
        return tuple(blocks)

    def table_of(el) -> Table:
        """<table>: <caption>, <thead>/<tbody>/<tfoot> (or bare <tr>), <th>/<td> with
        colspan/rowspan and align or style="text-align: …"."""
        caption: tuple = ()
        sections: dict[str, list] = {"thead": [], "tbody": [], "tfoot": []}
        for part in _elements(el):
            ptag = part.tag.lower()
            if ptag == "caption":
                caption = plain(blocks_of(_children(part)))
            elif ptag in sections:
                sections[ptag].extend(row_of(tr, ptag == "thead") for tr in _elements(part) if tr.tag.lower() == "tr")
            elif ptag == "tr":
                sections["tbody"].append(row_of(part, False))
        head, body, foot = sections["thead"], sections["tbody"], sections["tfoot"]
        if not head and body and all(c.header for c in body[0].cells):  # a first row of <th> is the head
            head, body = body[:1], body[1:]
        ncols = _column_count([[(c.rowspan, c.colspan) for c in r.cells] for r in head + body + foot])
        return Table(tuple(ColSpec() for _ in range(ncols)), tuple(head), tuple(body), caption=caption,
                     foot=tuple(foot), attr=attr(el), pos=pos)

    def row_of(tr, in_head: bool) -> Row:
        cells = []
        for c in _elements(tr):
            ctag = c.tag.lower()
            if ctag not in ("td", "th"):
                continue
            cells.append(Cell(plain(blocks_of(_children(c))), align=_align(c), rowspan=_span(c, "rowspan"),
                              colspan=_span(c, "colspan"), header=in_head or ctag == "th", attr=attr(c)))
        return Row(tuple(cells), attr=attr(tr))

    def inlines_of(nodes) -> tuple:
        from ..model import Code, Emph, LineBreak, Span, Strikeout, Strong, Subscript, Superscript

        out: list = []
        for n in nodes:
            if isinstance(n, str):
                if n:
                    out.append(_text(n))
                continue
            if not isinstance(n.tag, str):
                if n.tail:
                    out.append(_text(n.tail))
                continue
            tag = n.tag.lower()
            kind = INLINE_TAGS.get(tag, "span")
            inner = inlines_of(_children(n))
            if kind == "strong":
                out.append(Strong(inner))
            elif kind == "emph":
                out.append(Emph(inner))
            elif kind == "code":
                out.append(Code(n.text_content()))
            elif kind in ("sub", "sup", "strike"):
                out.append({"sub": Subscript, "sup": Superscript, "strike": Strikeout}[kind](inner))
            elif kind == "br":
                out.append(LineBreak())
            elif kind in ("wbr", "drop"):
                pass
            elif kind == "img":
                if image is not None and n.get("src"):
                    out.append(image(n.get("src"), n.get("alt", ""), n.get("title", ""), at(n)))
                elif n.get("alt"):
                    out.append(_text(n.get("alt")))
            elif kind == "link" and n.get("href") and link is not None:
                out.append(link(n.get("href"), inner, n.get("title", ""), pos))
            else:
                out.append(Span(attr(n), inner))
            if n.tail:
                out.append(_text(n.tail))
        return tuple(out)

    return tuple(blocks_of(parts))


def _elements(el) -> list:
    return [c for c in el if isinstance(c.tag, str)]


def _span(el, name: str) -> int:
    """colspan/rowspan: a whole number from 1 to 1000 (HTML's limits; else 1)."""
    value = (el.get(name) or "").strip()
    return min(int(value), 1000) if value.isdigit() and int(value) > 0 else 1


def _align(el) -> str:
    m = re.search(r"text-align\s*:\s*(left|right|center)", el.get("style") or "", re.I)
    value = (m.group(1) if m else el.get("align") or "").lower()
    return value if value in ("left", "right", "center") else "default"


def _column_count(rows: list[list[tuple[int, int]]]) -> int:
    """Columns of a table whose cells may span rows (rowspan, colspan) and columns."""
    carried: list[int] = []  # per column: rows still covered by a cell from above
    ncols = 0
    for cells in rows:
        col = 0
        for rowspan, colspan in cells:
            while col < len(carried) and carried[col] > 0:
                col += 1
            for c in range(col, col + colspan):
                if c >= len(carried):
                    carried.append(0)
                carried[c] = max(carried[c], rowspan)
            col += colspan
        ncols = max(ncols, len(carried))
        carried = [max(0, n - 1) for n in carried]
    return ncols


def _children(el) -> list:
    out: list = []
    if el.text:
        out.append(el.text)
    for c in el:
        out.append(c)
    return [c for c in out if not isinstance(c, str) or c]


def _text(s: str):
    from ..model import Text

    return Text(re.sub(r"\s+", " ", s))


def _trim(content: tuple) -> tuple:
    from dataclasses import replace

    from ..model import Text

    items = list(content)
    if items and isinstance(items[0], Text):
        items[0] = replace(items[0], text=items[0].text.lstrip())
    if items and isinstance(items[-1], Text):
        items[-1] = replace(items[-1], text=items[-1].text.rstrip())
    return tuple(i for i in items if not (isinstance(i, Text) and not i.text))
