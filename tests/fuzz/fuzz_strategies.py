"""Hypothesis strategies: Markdown articles built from a tree, with what a reader must see.

Every generated document is a :class:`Generated`: the Markdown source (front
matter included), the *words* that must come out of every format (runs of plain
letters in one script, each written where Markdown shows it as text), the
*decorations* (emoji, symbols) that the text-preserving formats must keep, and
``expect_error`` — the reasons, if any, why the build must be refused (a
dangerous HTML tag where HTML is parsed, a ``javascript:`` link, a ``.term``
span without a glossary, a missing image).

Words are never placed where Markdown hides them (URLs, attributes, comments,
image alt text, footnote labels), so "word missing from an output" is always a
real loss of text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

# --------------------------------------------------------------------------- alphabets

SCRIPTS: dict[str, str] = {
    "latin": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "latin-ext": "éèêëüöäßøåçñłžšőűąęțăœæ",
    "greek": "αβγδεζηθικλμνξοπρστυφχψωΔΛΣΩ",
    "cyrillic": "абвгдежзийклмнопрстуфхцчшщыэюяЖЩЯ",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "hebrew": "אבגדהוזחטיכלמנסעפצקרשת",
    "cjk": "中文字数据控制国家北京上海人民监管网络安全经济社会",
    "kana": "あいうえおかきくけこさしすせそアイウエオカキクケコ",
    "hangul": "한국어데이터보안정부시장경제",
}
# Base letters that take a combining mark and have no precomposed form (so NFC
# keeps the mark separate), and the marks.
COMBINING_BASES = "qjxwvzQ"
COMBINING_MARKS = "\u0301\u0308\u0323\u0331\u0327\u030c"

# Between words: ordinary and odd whitespace (never at a line start, where
# indentation means code), and invisible separators.
SEPARATORS = [" ", " ", " ", "  ", "\u00a0", "\u2009", "\u202f", "\u3000", "\u2003", "\t", " \u200b", "\u200b"]
# Non-letter text that must survive in EPUB and DOCX (checked there, exactly).
# (Private-use characters have no glyph in any font here: a warning, and the PDF
# prints [U+XXXX] in their place; see UNCOVERED, drawn rarely. Emoji such as 🐉 have one since
# Noto Color Emoji is in the print font stack.)
UNCOVERED = ["\ue000", "\U000f0001"]
DECORATIONS = ["😀", "☺", "✓", "→", "§", "©", "€", "½", "…", "—", "«", "»", "「", "」", "、", "。"]
# Markdown-level punctuation (not checked: quotes may become typographic)
PUNCT = [",", ".", ";", ":", "!", "?", "(", ")", "\"", "'", "&amp;", "&lt;", "&gt;", "&copy;", "&#x263A;", "&nbsp;",
         "\\*", "\\_", "\\[", "\\]", "\\`", "\\<", "&", "<", ">", "%", "$", "#", "~", "|", "\\\\"]

CLASSES = ["x", "credit", "smallcaps", "lead", "aside", "rtl", "zh", "kicker", "höhe", "中", "a-b_c"]
ATTR_VALUES = ["v", "two words", "ar", "zh-Hans", "rtl", "ltr", "日本", "\"quoted\"", "a=b", "x}y", "'single'"]

HARMLESS_INLINE = ["b", "strong", "i", "em", "code", "kbd", "span", "u", "s", "sub", "sup", "small", "mark", "abbr",
                   "cite", "q", "dfn", "var", "del", "ins", "time", "bdi", "bdo", "tt", "big", "font", "nobr", "strike"]
HARMLESS_ATTRS = ['', ' class="x y"', ' lang="ar" dir="rtl"', ' title="t &amp; u"', ' id="hid"', ' data-k="v"',
                  ' aria-label="z"', ' style="color: red"', " lang='zh-Hans'", ' dir="auto"']
# (markup, message fragment) — refused wherever HTML is parsed
DANGEROUS_INLINE = [
    ("<script>alert(1)</script>", "script"),
    ("<img src=\"/etc/passwd\">", "absolute paths"),  # an <img> goes through the resolver
    ("<b onclick=\"alert(1)\">", "event-handler"),
    ("<a href=\"javascript:alert(1)\">", "javascript"),
    ("<iframe src=\"http://example.com\"></iframe>", "frame"),
    ("<embed src=\"x.swf\">", "embedded objects"),
    ("<span style=\"background: url(x.png)\">", "style"),
    ("<svg>", "SVG"),
    ("<?php echo 1 ?>", "processing"),
]


# --------------------------------------------------------------------------- fragments


@dataclass
class Frag:
    """A piece of Markdown and what it shows."""

    text: str
    words: list[str] = field(default_factory=list)
    deco: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)  # labels referenced (definitions appended)
    images: list[str] = field(default_factory=list)

    def add(self, other: "Frag") -> None:
        self.words += other.words
        self.deco += other.deco
        self.errors += other.errors
        self.footnotes += other.footnotes
        self.images += other.images


@dataclass
class Generated:
    markdown: str
    title: str
    words: list[str]
    deco: list[str]
    expect_error: list[str]
    images: list[str]

    def __repr__(self) -> str:  # what Hypothesis prints for a falsifying example
        return f"Generated(markdown={self.markdown!r}, expect_error={self.expect_error!r})"


def _combine(parts: list[Frag], text: str) -> Frag:
    out = Frag(text)
    for p in parts:
        out.add(p)
    return out


# --------------------------------------------------------------------------- words and inlines


@st.composite
def words(draw) -> str:
    """A word of 3-8 letters from one script (plus, sometimes, combining marks)."""
    script = draw(st.sampled_from(sorted(SCRIPTS) + ["combining"]))
    if script == "combining":
        n = draw(st.integers(1, 3))
        parts = [draw(st.sampled_from(COMBINING_BASES)) + draw(st.sampled_from(COMBINING_MARKS)) for _ in range(n)]
        lead = draw(st.text(SCRIPTS["latin"], min_size=2, max_size=4))
        return lead + "".join(parts)
    return draw(st.text(SCRIPTS[script], min_size=3, max_size=8))


def _word_frag(w: str) -> Frag:
    return Frag(w, words=[w])


sep = st.sampled_from(SEPARATORS)


@st.composite
def plain_run(draw, min_words: int = 1, max_words: int = 6) -> Frag:
    """Words separated by (odd) whitespace, with some punctuation and emoji."""
    ws = draw(st.lists(words(), min_size=min_words, max_size=max_words))
    out: list[str] = []
    f = Frag("")
    for i, w in enumerate(ws):
        if i:
            out.append(draw(sep))
        out.append(w)
        f.words.append(w)
        r = draw(st.integers(0, 9))
        if r == 0:
            d = draw(st.sampled_from(UNCOVERED if draw(st.integers(0, 30)) == 17 else DECORATIONS))
            out.append(" " + d)
            f.deco.append(d)
        elif r == 1:
            out.append(draw(st.sampled_from(PUNCT)))
    f.text = "".join(out)
    return f


@st.composite
def inline_html_harmless(draw, inner: Frag) -> Frag:
    tag = draw(st.sampled_from(HARMLESS_INLINE))
    attrs = draw(st.sampled_from(HARMLESS_ATTRS))
    if tag == "bdo" and "dir=" not in attrs:
        attrs += ' dir="rtl"'
    style = draw(st.integers(0, 5))
    if style == 0:  # unclosed: the tag is dropped, the text stays
        return _combine([inner], f"<{tag}{attrs}>{inner.text}")
    if style == 1:  # stray end tag
        return _combine([inner], f"{inner.text}</{tag}>")
    return _combine([inner], f"<{tag}{attrs}>{inner.text}</{tag}>")


@st.composite
def inlines(draw, depth: int = 0, in_link: bool = False) -> Frag:
    """A run of inline content; nests up to ``depth`` 4."""
    n = draw(st.integers(1, 4))
    parts: list[Frag] = []
    for _ in range(n):
        kinds = ["words", "words", "words", "code", "break", "entity", "comment", "footnote", "image"]
        if depth < 4:
            kinds += ["emph", "strong", "emph_", "strong_", "span", "html", "strike"]
            if not in_link:
                kinds += ["link", "autolink"]
        kinds += ["deep"]
        # input that must be refused: rare, so that most documents build
        if draw(st.integers(0, 40)) == 17:
            kinds = ["danger", "badlink", "term", "badimage"]
        kind = draw(st.sampled_from(kinds))
        if kind == "words":
            parts.append(draw(plain_run()))
        elif kind == "code":
            run = draw(plain_run(1, 3))
            body = run.text.replace("`", "'").replace("\\", "/")
            extra = draw(st.sampled_from(["", " <script>x</script>", " *not emph*", " [a]{.term}", " <b>"]))
            ticks = "``" if "`" in extra else "`"
            parts.append(Frag(f"{ticks}{body}{extra}{ticks}", words=run.words, deco=run.deco))
        elif kind == "break":
            # a line never starts with markup (a comment or '<?' there would begin an HTML block)
            w = draw(words())
            parts.append(Frag(draw(st.sampled_from(["  \n", "\\\n", "\n", "<br/>", "<br>", "<wbr>"])) + w, words=[w]))
        elif kind == "entity":
            parts.append(Frag(draw(st.sampled_from(["&amp;", "&#1575;", "&#x4E2D;", "&hellip;", "&ZeroWidthSpace;", "&shy;", "&lrm;", "&rlm;"]))))
        elif kind == "comment":
            parts.append(Frag("<!-- hidden " + draw(words()) + " -->"))
        elif kind == "footnote":
            label = draw(st.sampled_from(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "a", "b", "c", "note", "x-y", "長", "Ab", "ZZ"]))
            parts.append(Frag(f"[^{label}]", footnotes=[label]))
        elif kind == "image":
            if draw(st.integers(0, 5)) == 0:  # a remote image: never fetched, its alt text stands in (a warning)
                w = draw(words())
                parts.append(Frag(draw(st.sampled_from([f"![{w}](https://example.com/x.png)",
                                                        f'<img src="https://example.com/x.png" alt="{w}">'])), words=[w]))
            else:
                parts.append(Frag(f"![alt {draw(words())}](pic.png)", images=["pic.png"]))
        elif kind == "emph":
            inner = draw(inlines(depth + 1, in_link))
            parts.append(_combine([inner], f"*{inner.text}*"))
        elif kind == "strong":
            inner = draw(inlines(depth + 1, in_link))
            parts.append(_combine([inner], f"**{inner.text}**"))
        elif kind == "emph_":
            inner = draw(plain_run(1, 3))
            parts.append(_combine([inner], f"_{inner.text}_"))
        elif kind == "strong_":
            inner = draw(plain_run(1, 3))
            parts.append(_combine([inner], f"__{inner.text}__"))
        elif kind == "strike":
            inner = draw(inlines(depth + 1, in_link))
            parts.append(_combine([inner], f"~~{inner.text}~~"))
        elif kind == "span":
            inner = draw(inlines(depth + 1, in_link))
            parts.append(_combine([inner], f"[{inner.text}]{draw(span_attrs())}"))
        elif kind == "html":
            inner = draw(inlines(depth + 1, in_link))
            parts.append(draw(inline_html_harmless(inner)))
        elif kind == "link":
            inner = draw(inlines(depth + 1, True))
            url = draw(st.sampled_from(["http://example.com/", "https://example.com/a?b=c&d=e#f", "mailto:a@b.c",
                                        "<https://example.com/a b>", "https://例子.测试/路径", "other.md", "https://example.com/(x)"]))
            if draw(st.integers(0, 30)) == 17:
                url = "#nowhere"  # an internal link to no anchor (a warning: the text is kept without the link)
            title = draw(st.sampled_from(["", ' "a title"', " 'x & y'"]))
            parts.append(_combine([inner], f"[{inner.text}]({url}{title})"))
        elif kind == "autolink":
            parts.append(Frag(draw(st.sampled_from(["<https://example.com/x>", "<mailto:a@example.com>", "<a@example.com>"]))))
        elif kind == "danger":
            markup, why = draw(st.sampled_from(DANGEROUS_INLINE))
            parts.append(Frag(markup, errors=[why]))
        elif kind == "badlink":
            parts.append(Frag(draw(st.sampled_from(["[x](javascript:alert(1))", "[x](JavaScript:void)", "[x](file:///etc/passwd)",
                                                    "[x](data:text/html,hi)", "[x]( vbscript:msgbox)"])), errors=["URLs are not allowed"]))
        elif kind == "term":
            parts.append(Frag(draw(st.sampled_from(["[CAC]{.term}", "[x]{.note ref=nope}", "[y]{.speaker}", "[z]{.term .note}"])),
                              errors=["term/note/speaker"]))
        elif kind == "badimage":
            parts.append(Frag(draw(st.sampled_from(["![a](missing.png)", "![a](../../etc/passwd)", "![a](file:///x.png)",
                                                    "![a](/abs.png)", "![a](notimage.png)"])), errors=["image"], images=["notimage.png"]))
        elif kind == "deep":  # nesting beyond markdown-it's limits
            d = draw(st.integers(10, 60))
            w = draw(words())
            opener, closer = draw(st.sampled_from([("*", "*"), ("**", "**"), ("[", "]{.x}"), ("<b>", "</b>"), ("[", "](http://e.x)")]))
            if opener == "[" and closer.startswith("](") and in_link:
                opener, closer = "*", "*"
            parts.append(Frag(opener * d + w + closer * d, words=[w]))
    out: list[str] = []
    for i, p in enumerate(parts):
        if i:
            out.append(draw(sep))
        out.append(p.text)
    return _combine(parts, "".join(out))


@st.composite
def span_attrs(draw) -> str:
    items = []
    for _ in range(draw(st.integers(0, 4))):
        k = draw(st.integers(0, 3))
        if k == 0:
            items.append("." + draw(st.sampled_from(CLASSES)))
        elif k == 1:
            items.append("#" + draw(st.sampled_from(["a", "sec-1", "1abc", "dup", "dup", "ü", "x.y", "cover", "toc", "nav"])))
        elif k == 2:
            key = draw(st.sampled_from(["key", "lang", "dir", "data-x", "title", "style", "custom-attr"]))
            v = draw(st.sampled_from(ATTR_VALUES))
            if " " in v or "=" in v or "}" in v:
                v = '"' + v.replace('"', "") + '"'
            items.append(f"{key}={v}")
        else:
            items.append(draw(st.sampled_from(["lang=ar dir=rtl", 'lang="zh"', "dir=ltr", "onclick=x", "href=javascript:x"])))
    return "{" + " ".join(items) + "}"


# --------------------------------------------------------------------------- blocks


def _indent(lines: list[str], first: str, rest: str) -> list[str]:
    out = []
    for i, ln in enumerate(lines):
        if i == 0:
            out.append(first + ln)
        else:
            out.append((rest + ln) if ln.strip() else rest.rstrip())
    return out


def _frag_lines(f: Frag) -> list[str]:
    return f.text.split("\n")


@st.composite
def paragraph(draw) -> Frag:
    f = draw(inlines())
    lead = draw(words())
    f.text = lead + draw(sep) + f.text
    f.words.insert(0, lead)
    # a paragraph must not start with what makes another block (indentation is
    # code; '#', '>', '-', digits are not produced by ``words``)
    text = f.text.lstrip(" \t\n")
    lines = [ln.lstrip(" \t") for ln in text.split("\n")]
    lines = [ln for ln in lines if ln.strip()] or [draw(words())]
    if not f.words and lines[0] not in f.words:
        w = draw(words())
        lines.append(w)
        f.words.append(w)
    f.text = "\n".join(lines).rstrip("\\ ")
    return f


@st.composite
def heading(draw) -> Frag:
    f = draw(inlines())
    lead = draw(words())
    f.text = lead + " " + f.text
    f.words.insert(0, lead)
    one = " ".join(ln.strip(" \\") for ln in f.text.split("\n") if ln.strip(" \\"))
    if not one.strip():
        w = draw(words())
        one = w
        f.words.append(w)
    level = draw(st.integers(1, 6))
    style = draw(st.integers(0, 3))
    if style == 0 and level <= 2:
        f.text = one + "\n" + ("=" if level == 1 else "-") * draw(st.integers(1, 8))
    else:
        f.text = "#" * level + " " + one + draw(st.sampled_from(["", " #", " ###", " {#hid}", " {.cls}"]))
    return f


@st.composite
def code_block(draw) -> Frag:
    runs = draw(st.lists(plain_run(1, 4), min_size=1, max_size=4))
    lang = draw(st.sampled_from(["", "python", "html", "c++", "{.x}", "日本"]))
    body_lines = []
    f = Frag("")
    for r in runs:
        body_lines.append(draw(st.sampled_from(["", "  ", "\t"])) + r.text.replace("```", "'''").replace("~~~", "'''"))
        f.add(r)
    body_lines.append(draw(st.sampled_from(["", "<script>alert(1)</script>", "[^1] [x]{.term} **b**", "    indented", "&amp; &#0;"])))
    fence = draw(st.sampled_from(["```", "~~~", "````"]))
    f.text = "\n".join([fence + lang, *body_lines, fence])
    return f


@st.composite
def html_block(draw) -> Frag:
    kind = draw(st.integers(0, 6))
    run = draw(plain_run(1, 5))
    run2 = draw(plain_run(1, 3))
    text = run.text.replace("<", "").replace(">", "").replace("&", "and").replace("\n", " ")
    text2 = run2.text.replace("<", "").replace(">", "").replace("&", "and").replace("\n", " ")
    f = _combine([run, run2], "")
    if kind == 0:
        f.text = f'<div class="box">\n<p>{text} <b>{text2}</b></p>\n</div>'
    elif kind == 1:
        f.text = f"<table>\n<tr><td>{text}</td><td>{text2}</td></tr>\n</table>"
    elif kind == 2:
        f.text = f"<ul>\n<li>{text}</li>\n<li><i>{text2}</i></li>\n</ul>"
    elif kind == 3:
        f.text = f"<blockquote>\n<p>{text}</p>\n<pre>{text2}</pre>\n</blockquote>"
    elif kind == 4:
        f.text = f"<h3>{text}</h3>\n<p dir=\"rtl\">{text2}<br>x</p>"
    elif kind == 5:
        f.text = f"<details><summary>{text}</summary>\n<p>{text2}</p></details>"
    elif draw(st.integers(0, 6)) == 0:
        markup, why = draw(st.sampled_from(DANGEROUS_INLINE))
        f = Frag(f"<div>\n{markup}\n</div>", errors=[why])
    else:
        f.text = f"<section lang=\"zh\">\n<h2>{text}</h2>\n<hr>\n<ol start=\"3\"><li>{text2}</li></ol>\n</section>"
    return f


@st.composite
def blocks(draw, depth: int = 0, max_blocks: int = 4) -> Frag:
    n = draw(st.integers(1, max_blocks))
    parts: list[Frag] = []
    for _ in range(n):
        kinds = ["para", "para", "para", "heading", "code", "hr", "html", "deflist"]
        if depth < 3:
            kinds += ["quote", "bullets", "ordered", "div"]
        kinds += ["deepquote", "deeplist"]
        kind = draw(st.sampled_from(kinds))
        if kind == "para":
            parts.append(draw(paragraph()))
        elif kind == "heading":
            parts.append(draw(heading()))
        elif kind == "code":
            parts.append(draw(code_block()))
        elif kind == "hr":
            parts.append(Frag(draw(st.sampled_from(["---", "***", "___", "* * *"]))))
        elif kind == "html":
            parts.append(draw(html_block()))
        elif kind == "deflist":
            term = draw(plain_run(1, 3))
            defs = draw(st.lists(paragraph(), min_size=1, max_size=2))
            f = _combine([term, *defs], "")
            f.text = term.text.replace("\n", " ").strip() + "\n\n" + "\n\n".join(
                "\n".join(_indent(_frag_lines(d), ":   ", "    ")) for d in defs)
            if not term.text.strip():
                f.text = "x" + f.text
            parts.append(f)
        elif kind == "quote":
            inner = draw(blocks(depth + 1, 3))
            parts.append(_combine([inner], "\n".join("> " + ln if ln else ">" for ln in _frag_lines(inner))))
        elif kind in ("bullets", "ordered"):
            items = draw(st.lists(blocks(depth + 1, 2), min_size=1, max_size=4))
            lines: list[str] = []
            loose = draw(st.booleans())
            start = draw(st.sampled_from([1, 1, 3, 0, 999999999]))
            for k, it in enumerate(items):
                marker = draw(st.sampled_from(["- ", "* ", "+ "])) if kind == "bullets" else f"{start + k}. "
                if kind == "bullets":
                    marker = "- "
                lines += _indent(_frag_lines(it), marker, " " * len(marker))
                if loose:
                    lines.append("")
            parts.append(_combine(items, "\n".join(lines).rstrip("\n")))
        elif kind == "div":
            inner = draw(blocks(depth + 1, 3))
            colons = ":" * (3 + (3 - depth))
            attrs = draw(st.sampled_from(["{.credit}", "credit", "{#d1 .x lang=ar}", "{.a .b key=\"v w\"}", "", "{.中}"]))
            parts.append(_combine([inner], f"{colons} {attrs}\n{inner.text}\n{colons}"))
        elif kind == "deepquote":
            d = draw(st.integers(5, 60))
            p = draw(paragraph())
            parts.append(_combine([p], "\n".join("> " * d + ln for ln in _frag_lines(p))))
        elif kind == "deeplist":
            d = draw(st.integers(5, 50))
            w = draw(words())
            lines = [" " * (2 * k) + "- " + (w if k == d - 1 else "") for k in range(d)]
            parts.append(Frag("\n".join(lines), words=[w]))
    return _combine(parts, "\n\n".join(p.text for p in parts))


FRONT_MATTER_EXTRAS = ["", "lang: ar\n", "lang: zh-Hans\n", "lang: he\n", "author: [Ünïcødé Àuthor, 李明]\n",
                       "subtitle: \"Sub «title» 😀\"\n", "date: 2021-09\n", "keywords: [a, b]\n",
                       "standfirst: \"A *standfirst* with & ampersand\"\n", "rights: \"© x\"\n"]


@st.composite
def documents(draw) -> Generated:
    """A whole source: front matter, blocks, footnote definitions."""
    title_words = draw(st.lists(words(), min_size=1, max_size=4))
    title = " ".join(title_words)
    extra = draw(st.sampled_from(FRONT_MATTER_EXTRAS))
    body = draw(blocks())
    words_ = list(title_words) + body.words
    errors = list(body.errors)
    tail: list[str] = []
    counts: dict[str, int] = {}
    for label in body.footnotes:
        counts[label] = counts.get(label, 0) + 1
    for label, count in counts.items():
        if draw(st.integers(0, 5)) == 0:
            continue  # no definition: '[^label]' stays literal text
        if count > 1:
            errors.append("footnote referenced twice")
        note = draw(paragraph())
        words_ += note.words
        errors += note.errors
        body.deco += note.deco
        body.images += note.images
        tail.append(f"[^{label}]: " + "\n".join(_indent(_frag_lines(note), "", "    ")))
    if draw(st.integers(0, 8)) == 0:
        tail.append("[^unused]: never referenced")
    md = f"---\ntitle: \"{title}\"\n{extra}---\n\n{body.text}\n"
    if tail:
        md += "\n" + "\n\n".join(tail) + "\n"
    if draw(st.integers(0, 6)) == 0:
        md = md.replace("\n", "\r\n")
    if draw(st.integers(0, 10)) == 0:
        md = "\ufeff" + md
    return Generated(md, title, words_, body.deco, errors, body.images)
