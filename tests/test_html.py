"""The shared HTML fragments, from the hand-built model; every fragment is parsed
with lxml's XML parser, so well-formedness is checked on every test."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from lxml import etree
from markupsafe import Markup

from publish.diagnostics import RenderError
from publish.model import (
    Attr, CodeBlock, Document, Heading, Image, LineBreak, Math, Meta,
    Span, Text, blocks_text, nodes, plain_text,
)
from publish.resources import Resolver
from publish.writers.html import (
    HtmlContext, render_blocks, render_fragments, render_inlines,
)
from publish.writers.templating import environment
from samples import LONG_TABLE_ROWS, sample_document, tables_document

XHTML = "http://www.w3.org/1999/xhtml"
EPUB = "http://www.idpf.org/2007/ops"
NS = {"h": XHTML, "epub": EPUB}


def parse(markup: str) -> etree._Element:
    """Parse a fragment as XML (raises on anything not well-formed)."""
    assert isinstance(markup, Markup)
    return etree.fromstring(
        f'<div xmlns="{XHTML}" xmlns:epub="{EPUB}">{markup}</div>'.encode()
    )


def all_html(frags) -> str:
    parts = []
    for s in frags.sections:
        parts.append(f'<section id="{s.id}"><h1>{s.title or ""}</h1>{s.html}</section>')
    for n in frags.notes:
        parts.append(f'<aside id="{n.id}">{n.html}</aside>')
    for g in frags.glossary:
        parts.append(f"<dd id=\"{g.id}\">{g.native}{g.definition}</dd>")
    return Markup("".join(parts))


def _drop_keep_tail(el: etree._Element) -> None:
    parent, prev = el.getparent(), el.getprevious()
    if prev is not None:
        prev.tail = (prev.tail or "") + el.tail
    else:
        parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def text_of(el: etree._Element) -> str:
    return " ".join("".join(el.itertext()).split())


@pytest.fixture(scope="module")
def doc() -> Document:
    return sample_document()


@pytest.mark.parametrize("mode", ["print", "epub"])
def test_fragments_are_well_formed_and_keep_all_text(doc, mode):
    frags = render_fragments(doc, HtmlContext(mode))
    root = parse(all_html(frags))
    # drop note calls and print footnote bodies (keeping the text after them)
    for el in root.xpath("//h:a[@class='fn-call' or @class='noteref']"
                         " | //h:span[contains(@class,'footnote')]", namespaces=NS):
        el.getparent().remove(el) if not el.tail else _drop_keep_tail(el)
    for br in root.iter(f"{{{XHTML}}}br"):  # a line break reads as a space
        br.tail = " " + (br.tail or "")
    text = text_of(root)
    for para in blocks_text(doc.blocks):
        # every paragraph's words are in the output, in order
        assert " ".join(para.split()) in text, para
    # escaping: the code span and the code block come back as text, not markup
    codes = [c.text for c in root.iter(f"{{{XHTML}}}code")]
    assert "x < y" in codes and "print('<hi>')" in codes


def test_sections_split_on_level_one_headings(doc):
    frags = render_fragments(doc, HtmlContext("epub"))
    assert [s.id for s in frags.sections] == ["opening", "hit-on-corporates"]
    assert frags.sections[0].title is None
    assert frags.sections[1].title_text == "Hit on corporates"
    assert "Musk" in text_of(parse(frags.sections[0].html))
    assert "PIPL" in text_of(parse(frags.sections[1].html))


def test_editorial_notes_never_rendered(doc):
    editorial = plain_text(doc.editorial_notes[0].body[0].content)
    for mode in ("print", "epub"):
        frags = render_fragments(doc, HtmlContext(mode))
        out = all_html(frags)
        assert editorial not in out
        assert "note-ed" not in out
        # the anchored text itself stays
        assert "248 companies" in out
        assert [n.id for n in frags.notes] == ["note-ctx", "note-upd"]
        assert [n.number for n in frags.notes] == [1, 2]


def test_epub_noteref(doc):
    href = lambda i: "notes.xhtml#" + i  # noqa: E731
    frags = render_fragments(doc, HtmlContext("epub", href=href))
    root = parse(frags.sections[0].html)
    refs = root.xpath("//h:a[@epub:type='noteref']", namespaces=NS)
    assert len(refs) == 1
    a = refs[0]
    assert a.get("href") == "notes.xhtml#note-ctx"
    assert a.get("id") == "noteref-ctx"
    assert a.get("role") == "doc-noteref"
    assert a.text == "1"
    # no note body inline in EPUB mode
    assert "Context with" not in text_of(root)
    note = frags.notes[0]
    assert (note.kind, note.kind_label, note.anchor_id) == ("context", "Context", "noteref-ctx")
    nroot = parse(note.html)
    assert "Context with emphasis." in text_of(nroot)
    assert nroot.xpath("//h:a[@href='https://example.org/report']", namespaces=NS)


def test_print_footnote_inline_and_linked_both_ways(doc):
    frags = render_fragments(doc, HtmlContext("print"))
    root = parse(frags.sections[0].html)
    call = root.xpath("//h:a[@class='fn-call']", namespaces=NS)[0]
    note = root.xpath("//h:span[contains(@class,'footnote')]", namespaces=NS)[0]
    assert call.get("href") == "#" + note.get("id")
    marker = note.xpath("h:a[@class='fn-marker']", namespaces=NS)[0]
    assert marker.get("href") == "#" + call.get("id")
    assert call.text == marker.text == "1"
    assert "Context:" in text_of(note) and "Context with emphasis." in text_of(note)
    # the note sits inside a paragraph: phrasing content only, no block elements
    blocks = {f"{{{XHTML}}}{t}" for t in ("p", "div", "ul", "ol", "blockquote", "pre")}
    assert not [e for e in note.iter() if e.tag in blocks]
    # kind label for plain footnotes is empty
    assert frags.notes[1].kind_label == "Update"


def test_terms_and_speakers_link(doc):
    frags = render_fragments(doc, HtmlContext("epub", href=lambda i: "g.xhtml#" + i))
    root = parse(all_html(frags))
    terms = root.xpath("//h:a[contains(@class,'term')]", namespaces=NS)
    uses = [i for i in nodes(doc.blocks) if type(i).__name__ == "TermRef"]
    assert len(terms) == len(uses)
    for a, use in zip(terms, uses):
        assert a.get("href") == "g.xhtml#gloss-" + use.ref
        assert a.get("id") == use.id
    speakers = root.xpath("//h:span[contains(@class,'speaker')]", namespaces=NS)
    assert [s.get("id") for s in speakers] == ["speaker-elon-musk-1"]
    g = {f.id: f for f in frags.glossary}
    assert g["gloss-cac"].see_also == (("g.xhtml#gloss-pipl", "PIPL"),)
    assert g["gloss-cac"].first_use_href == "g.xhtml#use-cac-1"
    assert frags.voices[0].id == "person-elon-musk"
    assert frags.voices[0].first_use_href == "g.xhtml#speaker-elon-musk-1"


def test_credit_div_and_void_elements(doc):
    out = render_blocks(doc.blocks, HtmlContext("print"), doc)
    root = parse(out)
    assert root.xpath("//h:div[@class='credit']", namespaces=NS)
    assert "<br/>" in out and "<hr/>" in out
    assert root.xpath("//h:ol[@start='3']", namespaces=NS)


def test_chinese_gets_lang_and_xml_lang():
    out = render_inlines((Text("the CAC (国家互联网信息办公室) said"),), HtmlContext("epub"))
    root = parse(out)
    span = root.xpath("//h:span", namespaces=NS)[0]
    assert span.text == "国家互联网信息办公室"
    assert span.get("lang") == "zh-Hans"
    assert span.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-Hans"
    frags = render_fragments(sample_document(), HtmlContext("epub"))
    zh = parse(frags.glossary[0].native).xpath("//h:span", namespaces=NS)[0]
    assert zh.get("lang") == "zh-Hans" and zh.text == "国家互联网信息办公室"


def test_escaping_of_text_and_attributes():
    nasty = '<script>alert("x")</script> & \' "'
    out = render_inlines(
        (Span(Attr(id="a", classes=("x",), kv=(("title", nasty), ("on click", "x"))), (Text(nasty),)),
         Image(src='a".png', alt=nasty), LineBreak()),
        HtmlContext("print"),
    )
    root = parse(out)
    assert not root.xpath("//h:script", namespaces=NS)
    span = root.xpath("//h:span", namespaces=NS)[0]
    assert span.text == nasty and span.get("data-title") == nasty
    img = root.xpath("//h:img", namespaces=NS)[0]
    assert img.get("alt") == nasty and img.get("src") == 'a".png'


def test_headings_keep_model_ids():
    out = render_blocks((Heading(2, (Text("Sub"),), Attr("sub")), CodeBlock("a\n")), HtmlContext("epub"))
    assert parse(out).xpath("//h:h2[@id='sub']", namespaces=NS)


def test_template_environment_escapes_and_is_sandboxed(tmp_path: Path):
    styles = tmp_path / "styles"
    (styles / "templates").mkdir(parents=True)
    (styles / "templates" / "t.txt").write_text("{{ x }}|{{ y }}")
    (styles / "templates" / "evil.txt").write_text("{{ x.__class__.__mro__ }}")
    (styles / "templates" / "mutate.txt").write_text("{{ l.append(1) }}")
    env = environment(Resolver(source_dir=tmp_path, styles_dir=styles))
    assert env.get_template("t.txt").render(x="<b>", y=Markup("<i>i</i>")) == "&lt;b&gt;|<i>i</i>"
    with pytest.raises(Exception):
        env.get_template("evil.txt").render(x="s")
    with pytest.raises(Exception):
        env.get_template("mutate.txt").render(l=[])
    import jinja2
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("t.txt").render(x="only x")


def test_styles_templates_override_package_defaults(tmp_path: Path):
    styles = tmp_path / "styles"
    (styles / "templates" / "pdf").mkdir(parents=True)
    env = environment(Resolver(source_dir=tmp_path, styles_dir=styles))
    default = env.get_template("pdf/article.html")
    assert "styles" not in str(default.filename)
    (styles / "templates" / "pdf" / "article.html").write_text("override")
    env = environment(Resolver(source_dir=tmp_path, styles_dir=styles))
    assert env.get_template("pdf/article.html").render() == "override"


def test_reader_note_without_number_is_an_error(doc):
    ann = dataclasses.replace(doc.annotations[0], number=None)
    bad = dataclasses.replace(doc, annotations=(ann, *doc.annotations[1:]))
    with pytest.raises(RenderError):
        render_fragments(bad, HtmlContext("epub"))


# --------------------------------------------------------------------------
# Tables, figures, math, sub/sup/strike (tables_document, hand-built)


@pytest.fixture(scope="module")
def tables_doc() -> Document:
    return tables_document()


@pytest.fixture(scope="module")
def tables_html(tables_doc) -> dict[str, etree._Element]:
    return {mode: parse(all_html(render_fragments(tables_doc, HtmlContext(mode)))) for mode in ("print", "epub")}


@pytest.mark.parametrize("mode", ["print", "epub"])
def test_table_structure(tables_html, mode):
    root = tables_html[mode]
    (table,) = root.xpath("//h:table[@id='tbl-fines']", namespaces=NS)
    assert table.getparent().get("class") == "table-wrap"
    assert set(table.get("class").split()) == {"cols-4", "fixed-widths"}
    assert text_of(table.xpath("h:caption", namespaces=NS)[0]) == "Fines by regulator, 2021."
    assert table.xpath("h:caption/h:em", namespaces=NS)
    assert [c.get("style") for c in table.xpath("h:colgroup/h:col", namespaces=NS)] == [
        "width:22%", "width:18%", "width:20%", "width:40%"]
    head = table.xpath("h:thead/h:tr/h:th", namespaces=NS)
    assert [text_of(th) for th in head] == ["Regulator", "Fines (¥m)", "Status", "Notes"]
    assert {th.get("scope") for th in head} == {"col"}
    # column alignment on every cell of the column, a cell's own alignment wins
    assert [th.get("class") for th in head] == ["align-left", "align-right", "align-center", None]
    body = table.xpath("h:tbody/h:tr", namespaces=NS)
    row_heads = [th for tr in body for th in tr.xpath("h:th", namespaces=NS)]
    assert [(text_of(th), th.get("scope")) for th in row_heads] == [("CAC", "row"), ("SAMR", "row")]
    assert row_heads[1].get("rowspan") == "2"
    closed = body[1].xpath("h:td", namespaces=NS)[1]
    assert (text_of(closed), closed.get("class")) == ("closed", "align-left")
    # the row under a rowspan: its first cell sits in column 2 (right-aligned)
    (three, spanning) = body[2].xpath("h:td", namespaces=NS)
    assert (three.get("class"), spanning.get("colspan"), spanning.get("class")) == (
        "align-right", "2", "align-center")
    # a cell holding blocks: a list and a code block
    notes = body[0].xpath("h:td", namespaces=NS)[2]
    assert [text_of(li) for li in notes.xpath("h:ul/h:li", namespaces=NS)] == ["review", "fine", "relist"]
    assert notes.xpath("h:pre/h:code[@class='language-python']/text()", namespaces=NS) == ["fine = base * 1.5"]
    assert [text_of(c) for c in table.xpath("h:tfoot/h:tr/*", namespaces=NS)] == ["Total", "101.86", "", "three fines"]
    # no colgroup without widths; many columns -> cols-10 (print.css sets them smaller, fixed)
    wide = root.xpath("//h:table[@id='tbl-wide']", namespaces=NS)[0]
    assert wide.get("class") == "cols-10" and not wide.xpath("h:colgroup", namespaces=NS)
    long = root.xpath("//h:table[@id='tbl-long']", namespaces=NS)[0]
    assert len(long.xpath("h:tbody/h:tr", namespaces=NS)) == LONG_TABLE_ROWS


@pytest.mark.parametrize("mode", ["print", "epub"])
def test_figures_sub_sup_strike(tables_html, mode):
    root = tables_html[mode]
    fig = root.xpath("//h:figure[@id='fig-wide']", namespaces=NS)[0]
    img = fig.xpath("h:img", namespaces=NS)[0]
    assert img.get("style") == "width:50%" and img.get("alt") == "A wide teal band"
    assert text_of(fig.xpath("h:figcaption", namespaces=NS)[0]) == "A wide image set at half the text width"
    assert root.xpath("//h:sub/text()", namespaces=NS)[0] == "2"
    assert "2" in root.xpath("//h:sup/text()", namespaces=NS)
    assert root.xpath("//h:del/text()", namespaces=NS) == ["old price"]
    # Plain: no paragraph of its own
    assert not root.xpath("//h:figure/h:p | //h:td/h:p | //h:th/h:p", namespaces=NS)


def test_image_sizes_become_css_only_when_safe():
    out = render_inlines((Image("a.png", "a", attr=Attr(kv=(("width", "120"), ("height", "3cm")))),
                          Image("b.png", "b", attr=Attr(kv=(("width", "1px;background:url(x)"),)))),
                         HtmlContext("epub"))
    a, b = parse(out).xpath("//h:img", namespaces=NS)
    assert a.get("style") == "width:120px;height:3cm"
    assert b.get("style") is None and b.get("data-width") == "1px;background:url(x)"


def test_math_is_mathml_with_alttext_in_epub(tables_doc, tables_html):
    M = "http://www.w3.org/1998/Math/MathML"
    maths = tables_html["epub"].findall(f".//{{{M}}}math")
    tex = [m.text for m in nodes(tables_doc.blocks) if isinstance(m, Math)]
    good = [t for t in tex if t != r"\frac{1}{"]
    assert [m.get("alttext") for m in maths] == good
    assert [m.get("display") for m in maths] == ["inline"] * 3 + ["block"] * 2
    assert maths[0].find(f".//{{{M}}}mfrac") is not None


def test_math_in_print_is_spans_in_reading_order(tables_html):
    root = tables_html["print"]
    assert not root.xpath("//*[local-name()='math']")
    spans = root.xpath("//h:span[contains(@class,'math')]", namespaces=NS)
    assert [s.get("class") for s in spans] == ["math inline"] * 3 + ["math display"] * 2
    assert text_of(spans[0]) == "ab"  # numerator, then denominator
    assert spans[0].xpath(".//h:span[@class='m-frac']", namespaces=NS)
    assert text_of(spans[1]).replace(" ", "") == "√x2+y2"
    assert spans[2].xpath("h:span[@class='m-i']/text()", namespaces=NS) == ["α", "β", "γ"]
    assert "".join(text_of(spans[3]).split()) == "x=−b±√b2−4ac2a"


@pytest.mark.parametrize("mode", ["print", "epub"])
def test_unreadable_tex_shown_as_tex_and_warned(tables_html, mode):
    (code,) = tables_html[mode].xpath("//h:code[contains(@class,'math-tex')]", namespaces=NS)
    assert code.text == r"\frac{1}{"
    from publish.check import lint
    from publish.diagnostics import Collector
    from publish.model import Paragraph, Pos

    diag = Collector()
    lint(Document(Meta("m"), (Paragraph((Math(r"\frac{1}{", pos=Pos("m.md", 2, 4)), Math("x^2", pos=Pos("m.md", 3, 1)))),)),
         diag)
    assert [(d.line, d.col, d.severity) for d in diag.items] == [(2, 4, "warning")]


def test_table_in_print_footnote_is_phrasing(tables_html):
    note = tables_html["print"].xpath("//h:span[contains(@class,'footnote')]", namespaces=NS)[0]
    blocks = {f"{{{XHTML}}}{t}" for t in ("p", "div", "table", "tr", "td", "th", "thead", "tbody", "figure")}
    assert not [e for e in note.iter() if e.tag in blocks]
    cells = [e for e in note.iter(f"{{{XHTML}}}span") if {"b-td", "b-th"} & set(e.get("class", "").split())]
    assert [text_of(c) for c in cells] == ["Year", "Deals", "2020", "12", "2021", "3"]
    assert not note.xpath(".//*[@scope or @colspan or @rowspan]")


# --------------------------------------------------------------------------- issue #11 phase 2


def test_print_wraps_each_emoji_run_in_a_span_and_epub_does_not() -> None:
    from publish.model import Paragraph, Text
    from publish.writers.html import HtmlContext, render_blocks

    para = (Paragraph((Text("Rich 🌎 and 👩\u200d💻 here, 中文 too."),)),)
    printed = str(render_blocks(para, HtmlContext("print")))
    assert '<span class="emoji">🌎</span>' in printed and '<span class="emoji">👩\u200d💻</span>' in printed
    assert "emoji" not in str(render_blocks(para, HtmlContext("epub")))


def test_an_ordered_list_keeps_its_start_in_print_and_epub() -> None:
    from publish.model import ListBlock, Plain, Text
    from publish.writers.html import HtmlContext, render_blocks

    ol = (ListBlock(True, ((Plain((Text("zero"),)),), (Plain((Text("one"),)),)), start=0),)
    printed = str(render_blocks(ol, HtmlContext("print")))
    assert 'start="0"' in printed and "counter-reset: list-item -1" in printed  # WeasyPrint ignores start=
    assert 'start="0"' in str(render_blocks(ol, HtmlContext("epub")))


def test_root_direction_follows_the_language() -> None:
    from publish.writers.templating import text_direction

    assert [text_direction(x) for x in ("ar", "fa-IR", "he", "en-GB", "zh-Hans", "ar-Latn", "ku-Arab", "")] == \
        ["rtl", "rtl", "rtl", "ltr", "ltr", "ltr", "rtl", "ltr"]
