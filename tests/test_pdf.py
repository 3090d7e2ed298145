"""The PDF writer, checked with real readers (pypdf, pdftotext), not with its own code.

The real article is rendered once per module (A4); the hand-built sample is
used for the quick variants (Letter, determinism, failures, fallback).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from publish.diagnostics import RenderError
from publish.writers.common import human_date, join_names
from publish.model import Document, Paragraph, Text, plain_text
from publish.options import RenderOptions
from publish.resources import Resolver
from publish.writers import pdf as pdf_writer
from conftest import back_headings, chinese_name
from samples import LONG_TABLE_ROWS, note_dense_document, sample_document, tables_document, write_sample_images

REPO = Path(__file__).resolve().parents[1]
ARTICLE = REPO / "source" / "article.md"
EPOCH = 1632000000  # 2021-09-18T21:20:00Z
STAMP = "D:20210918212000"

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")


# --------------------------------------------------------------------------- helpers


def pdftotext(data: bytes, page: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run(args + ["-", "-"], input=data, capture_output=True, check=True).stdout.decode()


_HYPHEN_BREAK = re.compile(r"[-\u00ad\u2010]\s*\n\s*")


def words(text: str) -> list[str]:
    """Lower-case alphanumeric tokens; words hyphenated across lines are joined."""
    text = _HYPHEN_BREAK.sub("", text)
    out = []
    for w in text.split():
        w = "".join(ch for ch in w.lower() if ch.isalnum())
        if w:
            out.append(w)
    return out


def squash(text: str) -> str:
    return "".join(words(text))


def _matches(token: str, word: str) -> bool:
    # a note call sticks to the word before it: "march1" for "march" + call 1
    return token == word or (token.startswith(word) and token[len(word):].isdigit())


def contains_paragraph(tokens: list[str], para: list[str], big_jumps: int = 3) -> bool:
    """``para`` appears in ``tokens`` in order, with at most a note-call token between
    words, except for up to ``big_jumps`` page breaks (footnotes, running heads)."""
    if not para:
        return True
    for start, tok in enumerate(tokens):
        if not _matches(tok, para[0]):
            continue
        pos, jumps, ok = start, 0, True
        for w in para[1:]:
            near = next((j for j in range(pos + 1, min(pos + 3, len(tokens)))
                         if _matches(tokens[j], w)), None)
            if near is None:
                jumps += 1
                near = next((j for j in range(pos + 1, min(pos + 600, len(tokens)))
                             if _matches(tokens[j], w)), None)
            if near is None and pos + 1 < len(tokens):
                # a word hyphenated at a page's end ("nat-" + notes + "ural"): the
                # text extraction joins its first half to the note numbers below it
                head = tokens[pos + 1].rstrip("0123456789")
                if len(head) >= 2 and w.startswith(head) and w != head:
                    near = next((j for j in range(pos + 2, min(pos + 600, len(tokens)))
                                 if tokens[j] == w[len(head):]), None)
            if near is None or jumps > big_jumps:
                ok = False
                break
            pos = near
        if ok:
            return True
    return False


def resolve(obj):
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def link_targets(reader: PdfReader) -> list[tuple[int, str]]:
    """(page index, named destination) of every internal link annotation."""
    out = []
    for i, page in enumerate(reader.pages):
        for annot in page.get("/Annots") or []:
            a = resolve(annot)
            if a.get("/Subtype") != "/Link":
                continue
            dest = a.get("/Dest")
            action = resolve(a.get("/A")) if a.get("/A") is not None else None
            if dest is None and action is not None and action.get("/S") == "/GoTo":
                dest = action.get("/D")
            if isinstance(dest, str) or (dest is not None and not isinstance(dest, list)):
                out.append((i, str(dest)))
    return out


def dest_pages(reader: PdfReader) -> dict[str, int]:
    return {name: reader.get_destination_page_number(d)
            for name, d in reader.named_destinations.items()}


def render(doc: Document, paper: str = "a4", styles_dir: Path | None = None,
           source_dir: Path | None = None) -> bytes:
    resolver = Resolver(source_dir=source_dir or REPO / "source",
                        styles_dir=styles_dir or REPO / "src" / "publish" / "styles")
    return pdf_writer.render(doc, RenderOptions(paper=paper, epoch=EPOCH), resolver)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def article() -> Document:
    build = pytest.importorskip("publish.build")
    return build.load(ARTICLE)


@pytest.fixture(scope="module")
def article_pdf(article) -> bytes:
    return render(article)


@pytest.fixture(scope="module")
def article_reader(article_pdf) -> PdfReader:
    return PdfReader(io.BytesIO(article_pdf))


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return render(sample_document())


# --------------------------------------------------------------------------- the real article


def test_every_manuscript_paragraph_is_present(article_pdf, manuscript):
    tokens = words(pdftotext(article_pdf))
    missing = []
    for line in manuscript:
        para = words(line)
        if para and not contains_paragraph(tokens, para):
            missing.append(line[:80])
    assert not missing, missing


def test_metadata(article, article_reader):
    info = article_reader.metadata
    meta = article.meta
    assert info.title == meta.title
    assert info.author == ", ".join(meta.authors)
    assert info.subject == meta.standfirst
    assert info["/Keywords"] == ", ".join(meta.keywords)
    assert info["/CreationDate"].startswith(STAMP) and info["/ModDate"].startswith(STAMP)
    root = article_reader.trailer["/Root"]
    assert root["/Lang"] == meta.lang
    # tagged PDF (PDF/UA-1) with an XMP packet declaring it
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    from lxml import etree
    xmp = etree.fromstring(resolve(root["/Metadata"]).get_data())
    ns = {"dc": "http://purl.org/dc/elements/1.1/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
          "pdfuaid": "http://www.aiim.org/pdfua/ns/id/"}
    assert xmp.xpath("//dc:title//rdf:li/text()", namespaces=ns) == [meta.title]
    assert xmp.xpath("//dc:creator//rdf:li/text()", namespaces=ns) == list(meta.authors)
    assert xmp.xpath("//@pdfuaid:part", namespaces=ns) == ["1"]


def test_outline_follows_headings(article, article_reader):
    from publish.model import Heading
    headings = [plain_text(b.content) for b in article.blocks
                if isinstance(b, Heading) and b.level == 1]
    top = [o.title for o in article_reader.outline if not isinstance(o, list)]
    expected = headings + back_headings(article)
    assert top == expected
    assert len(headings) >= 3


def test_a4_page_size(article_reader):
    for page in article_reader.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(w), round(h)) == (595, 842)


def test_fonts_embedded_and_cjk_face_used(article_reader):
    fonts = set()
    for page in article_reader.pages:
        res = resolve(page["/Resources"])
        for f in resolve(res.get("/Font", {})).values():
            f = resolve(f)
            desc_fonts = f.get("/DescendantFonts")
            desc = resolve(resolve(desc_fonts)[0]) if desc_fonts else f
            fd = resolve(desc["/FontDescriptor"])
            assert any(k in fd for k in ("/FontFile", "/FontFile2", "/FontFile3")), f["/BaseFont"]
            fonts.add(str(f["/BaseFont"]).split("+", 1)[-1])
    assert any(f.startswith("Noto-Serif-CJK-SC") or f.startswith("NotoSerifCJK") for f in fonts), fonts
    assert any(f.startswith("Noto-Serif") and "CJK" not in f for f in fonts), fonts


def assert_every_note_on_its_call_page(doc: Document, data: bytes, reader: PdfReader | None = None) -> None:
    """Judged by pypdf and pdftotext: each note's call is a link on some page, the note's
    anchor (named destination) is on that page, and its text is on that page too."""
    reader = reader or PdfReader(io.BytesIO(data))
    notes = doc.reader_notes
    assert notes
    dests = dest_pages(reader)
    links = link_targets(reader)
    pages_text = [squash(t) for t in pdftotext(data).split("\f")]
    for ann in notes:
        # the call is a link to the note, on some page; the note's anchor is on the same page
        # (and each of its sources in the back matter's list links to it too)
        calls = [p for p, d in links if d == f"note-{ann.id}"]
        assert len(calls) == 1 + len(ann.sources), (ann.id, calls)
        call_page = min(calls)
        assert dests[f"note-{ann.id}"] == call_page, (ann.id, call_page + 1, dests[f"note-{ann.id}"] + 1)
        # ...and pdftotext finds the note's text on that very page
        body = " ".join(plain_text(b.content) for b in ann.body if isinstance(b, Paragraph))
        probe = squash(" ".join(body.split()[:12]))
        assert probe and probe in pages_text[call_page], (ann.id, call_page + 1)
        # the note links back to its call
        assert (call_page, ann.anchor_id) in links, ann.id


def test_each_note_on_the_page_of_its_call(article, article_pdf, article_reader):
    assert_every_note_on_its_call_page(article, article_pdf, article_reader)


def test_each_note_on_the_page_of_its_call_when_notes_are_dense():
    """A hundred notes, one line to a third of a page long, called at every place on a page:
    WeasyPrint moves some to the next page (upstream #2502); the writer mends each."""
    doc = note_dense_document()
    data = render(doc)
    assert_every_note_on_its_call_page(doc, data)


def test_each_note_on_the_page_of_its_call_in_a_document_50_times_the_article(tmp_path):
    """The benchmark's 50x document (121k words, 800 notes, ~340 pages), in one layout."""
    import logging

    build = pytest.importorskip("publish.build")
    subprocess.run([sys.executable, str(REPO / "bench" / "make_long.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    doc = build.load(tmp_path / "article.md")
    assert len(doc.reader_notes) > 500
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    log = logging.getLogger("publish.pdf")
    old = log.level
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    try:
        data = render(doc, source_dir=tmp_path)
    finally:
        log.removeHandler(handler)
        log.setLevel(old)
    assert_every_note_on_its_call_page(doc, data)
    assert any(m.startswith("PDF: 1 layout,") for m in messages), messages


def test_editorial_text_absent(article, article_pdf):
    text = squash(pdftotext(article_pdf))
    assert article.editorial_notes
    for ann in article.editorial_notes:
        body = " ".join(plain_text(b.content) for b in ann.body if isinstance(b, Paragraph))
        probe = squash(" ".join(body.split()[:10]))
        assert probe and probe not in text, ann.id


def test_terms_link_to_glossary_with_page_numbers(article, article_pdf, article_reader):
    from publish.model import TermRef, nodes
    uses = [i for i in nodes(article.blocks) if isinstance(i, TermRef)]
    links = link_targets(article_reader)
    dests = dest_pages(article_reader)
    for entry in {u.ref for u in uses}:
        n = sum(1 for u in uses if u.ref == entry)
        assert sum(1 for _, d in links if d == f"gloss-{entry}") >= n, entry
    # the glossary's "p. N" is the page of the first use, and links there
    glossary_page = dests[f"gloss-{article.glossary[0].id}"]
    text = pdftotext(article_pdf, glossary_page + 1)
    for e in article.glossary:
        if e.first_use_id and dests.get(f"gloss-{e.id}") == glossary_page:
            assert (glossary_page, e.first_use_id) in links
            page_no = dests[e.first_use_id] + 1
            assert f"p.\u00a0{page_no}" in text or f"p. {page_no}" in text, e.id
    # Chinese names are in the glossary text (CJK glyphs present, not boxes: see warning test)
    assert any(chinese_name(e) and chinese_name(e) in pdftotext(article_pdf) for e in article.glossary)


def test_running_head_and_page_footer(article, article_pdf, article_reader):
    n = len(article_reader.pages)
    assert n >= 3
    for p in (1, n):
        assert f"Page {p} of {n}" in pdftotext(article_pdf, p)
    assert article.meta.running_title in pdftotext(article_pdf, 2)


def _region_text(data: bytes, page: int, y: float, h: float, x: float = 0, w: float = 600) -> str:
    args = ["pdftotext", "-enc", "UTF-8", "-f", str(page), "-l", str(page), "-x", str(int(x)),
            "-y", str(int(y)), "-W", str(int(w)), "-H", str(int(h))]
    return subprocess.run(args + ["-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def test_running_head_names_the_section_each_page_is_in(article, article_pdf, article_reader):
    """The right-hand running head names the section the page starts in (the one that
    starts the page if a heading is the first thing on it), never the next one."""
    from publish.model import Heading
    dests = dest_pages(article_reader)
    heads = [(dests[b.id] + 1, plain_text(b.content)) for b in article.blocks
             if isinstance(b, Heading) and b.level == 1]
    from publish.backmatter import back_matter
    back = back_matter(article)
    for key, items in (("glossary", back.glossary), ("voices", back.voices), ("sources", back.sources),
                       ("colophon", True)):
        if items:
            heads.append((dests[f"{key}-heading"] + 1, back.labels[key]))
    assert heads == sorted(heads, key=lambda h: h[0])
    n = len(article_reader.pages)
    for p in range(2, n + 1):
        first_line = next((ln.strip() for ln in _region_text(article_pdf, p, 62, 720).splitlines()
                           if ln.strip()), "")
        current = ""
        for page, title in heads:
            if page < p or (page == p and first_line.startswith(title)):
                current = title
        got = " ".join(_region_text(article_pdf, p, 0, 62, x=298, w=300).split())
        assert got == current, (p, got, current)


def test_no_nearly_empty_page(article_pdf, article_reader):
    """Every page but the last is at least half full (the voices list once had a page
    of its own before the glossary)."""
    n = len(article_reader.pages)
    for p in range(1, n):
        text = subprocess.run(["pdftotext", "-layout", "-f", str(p), "-l", str(p), "-", "-"],
                              input=article_pdf, capture_output=True, check=True).stdout.decode()
        lines = [ln for ln in text.splitlines() if ln.strip()]
        assert len(lines) >= 25, (p, len(lines))


def test_credit_and_rights_kept(article, article_pdf):
    text = squash(pdftotext(article_pdf))
    assert squash(article.meta.rights) in text
    for a in article.meta.authors:
        assert squash(a) in text


# --------------------------------------------------------------------------- the sample


def test_letter_size():
    reader = PdfReader(io.BytesIO(render(sample_document(), paper="letter")))
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)


def test_rebuild_is_byte_identical(sample_pdf):
    assert render(sample_document()) == sample_pdf


def test_sample_notes_and_editorial(sample_pdf):
    doc = sample_document()
    text = squash(pdftotext(sample_pdf))
    assert squash("Check this figure against the 2022 filing") not in text
    assert squash("Context with emphasis") in text
    assert squash("The PIPL took effect on 1 November 2021") in text
    assert squash("248 companies") in text
    assert len(doc.reader_notes) == 2


def test_missing_glyph_prints_a_visible_stand_in():
    """A character no font has (publish check warns about it) prints as [U+XXXX], never as a box;
    WeasyPrint's .notdef warning stays a build error for anything the prediction missed."""
    doc = sample_document()
    bad = Document(meta=doc.meta, blocks=(Paragraph((Text("A private-use glyph: \U0010FFFD."),)),),
                   source_path="glyph.md")
    text = pdftotext(render(bad))
    assert "A private-use glyph: [U+10FFFD]." in text and "\U0010FFFD" not in text


def test_unknown_css_is_a_build_error(tmp_path):
    styles = tmp_path / "styles"
    styles.mkdir()
    css = (REPO / "src" / "publish" / "styles" / "print.css").read_text()
    (styles / "print.css").write_text(css + "\np { colour: red; }\n")
    with pytest.raises(RenderError) as err:
        render(sample_document(), styles_dir=styles)
    assert "colour" in str(err.value)


def test_refused_fetch_is_a_build_error(tmp_path):
    styles = tmp_path / "styles"
    styles.mkdir()
    css = (REPO / "src" / "publish" / "styles" / "print.css").read_text()
    (styles / "print.css").write_text(
        css + '\n@font-face { font-family: X; src: url("file:///etc/passwd"); }\n')
    with pytest.raises(RenderError):
        render(sample_document(), styles_dir=styles)


def test_displaced_notes_fall_back_to_side_notes(tmp_path):
    """If footnotes get lost (here: a style that hides them), the writer notices from the
    layout and sets the notes beside their calls instead; if no placement holds, it fails."""
    styles = tmp_path / "styles"
    styles.mkdir()
    css = (REPO / "src" / "publish" / "styles" / "print.css").read_text()
    (styles / "print.css").write_text(css + "\n.notes-footnotes .footnote { display: none; }\n")
    data = render(sample_document(), styles_dir=styles)
    reader = PdfReader(io.BytesIO(data))
    dests = dest_pages(reader)
    links = link_targets(reader)
    for note in ("ctx", "upd"):
        call_page = min(p for p, d in links if d == f"note-{note}")  # the call; sources link later
        assert dests[f"note-{note}"] == call_page
    assert squash("Context with emphasis") in squash(pdftotext(data))
    assert round(float(reader.pages[0].mediabox.width)) == 595

    (styles / "print.css").write_text(css + "\n.footnote { display: none !important; }\n")
    with pytest.raises(RenderError) as err:
        render(sample_document(), styles_dir=styles)
    assert "note 1" in str(err.value)


def test_check_note_placement_sees_every_note():
    """The whole-document check finds each note's call and body on the same page."""
    from publish.writers import _weasyprint as engine

    doc = sample_document()
    resolver = Resolver(source_dir=REPO / "source", styles_dir=REPO / "src" / "publish" / "styles")
    options = RenderOptions(epoch=EPOCH)
    html, frags = pdf_writer.build_html(doc, options, resolver, "footnotes")
    sheets = pdf_writer._stylesheets(doc, options, resolver)
    restyle = engine.Restyle.from_css(sheets[0][0], sheets[0][1], (pdf_writer.NOTE_PUSH,))
    document, _, _ = engine.render(html, base_url=resolver.source_dir.as_uri() + "/", stylesheets=sheets,
                                   url_fetcher=resolver.weasyprint_fetcher(), restyle=restyle)
    placed = pdf_writer.check_note_placement(document, frags)
    assert [p.note_id for p in placed] == ["note-ctx", "note-upd"]
    assert all(p.ok for p in placed)


def test_dates_and_bylines_as_readers_see_them():
    assert join_names(("A",)) == "A" and join_names(("A", "B")) == "A and B"
    assert join_names(("A", "B", "C")) == "A, B and C"
    assert human_date("2021-09") == "September 2021"
    assert human_date("2021-09-20") == "20 September 2021"
    assert human_date("2021") == "2021"


# --------------------------------------------------------------------------- tables, figures, math


A4_MARGIN_X = 36 / 25.4 * 72  # print.css: @page margin 24mm 36mm 26mm 36mm
A4_MARGIN_TOP, A4_MARGIN_BOTTOM = 24 / 25.4 * 72, 26 / 25.4 * 72


@pytest.fixture(scope="module")
def tables_pdf(tmp_path_factory) -> bytes:
    src = tmp_path_factory.mktemp("tables-source")
    write_sample_images(src)
    return render(tables_document(), source_dir=src)


def _bbox_words(data: bytes) -> list[tuple[int, float, float, float, float, str]]:
    """(page, xMin, yMin, xMax, yMax, word) from pdftotext -bbox."""
    from lxml import etree

    xml = subprocess.run(["pdftotext", "-bbox", "-enc", "UTF-8", "-", "-"], input=data,
                         capture_output=True, check=True).stdout
    root = etree.fromstring(xml, etree.HTMLParser())
    out = []
    for n, page in enumerate(root.iter("page")):
        for w in page.iter("word"):
            out.append((n, *(float(w.get(k)) for k in ("xmin", "ymin", "xmax", "ymax")), w.text or ""))
    return out


def test_tables_text_in_reading_order(tables_pdf):
    text = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=tables_pdf,
                          capture_output=True, check=True).stdout.decode()
    raw = words(text)
    for line in ("Regulator Fines (¥m) Status Notes CAC 80.26 active Three steps: review fine relist",
                 "SAMR 18.2 closed Spans two rows on the left 3.4 A cell spanning two columns",
                 "Total 101.86 three fines",
                 "Company 01 2001 1007 ok Company 02 2002 1014 ok"):
        assert contains_paragraph(raw, words(line), big_jumps=0), line
    # sub/sup/strike and math: every symbol, in reading order (numerator before denominator)
    dense = "".join(text.split())
    for piece in ("WaterisH2O;energyisE=mc2;theoldpriceisgone", "Inline:ab,√x2+y2,α+β=γand\\frac{1}{(badTeX)",
                  "x=−b±√b2−4ac2a", "n∑i=1i=n(n+1)2"):
        assert piece in dense, piece
    # long words in narrow columns are broken (without a hyphen) but stay whole in order
    assert squash("Donaudampfschifffahrtsgesellschaftskapitän r1c2 r1c3") in squash(text)


def test_long_table_repeats_its_head_on_every_page(tables_pdf):
    reader = PdfReader(io.BytesIO(tables_pdf))
    pages_with_rows = []
    seen = []
    for p in range(1, len(reader.pages) + 1):
        tokens = words(pdftotext(tables_pdf, p))
        rows = [int(tokens[i + 1]) for i, t in enumerate(tokens[:-1])
                if t == "company" and tokens[i + 1].isdigit()]
        if rows:
            pages_with_rows.append(p)
            seen += rows
            head = tokens.index("listing")
            assert tokens[head:head + 4] == ["listing", "filed", "approved", "remark"], p
            assert head < tokens.index("company"), p
    assert seen == list(range(1, LONG_TABLE_ROWS + 1))  # every row once, none split in two
    assert len(pages_with_rows) >= 2


def test_nothing_lies_beyond_the_text_block(tables_pdf):
    width = float(PdfReader(io.BytesIO(tables_pdf)).pages[0].mediabox.width)
    left, right = A4_MARGIN_X - 0.5, width - A4_MARGIN_X + 0.5
    outside = [(p + 1, w, round(x0), round(x1)) for p, x0, _, x1, _, w in _bbox_words(tables_pdf)
               if x0 < left or x1 > right]
    assert not outside


def test_figures_stay_within_the_text_block_and_page(tables_pdf, tmp_path):
    """The images are teal: find their pixels on each rendered page."""
    from PIL import Image as PILImage

    subprocess.run(["pdftoppm", "-png", "-r", "36", "-", str(tmp_path / "p")], input=tables_pdf, check=True)
    scale = 36 / 72
    found = 0
    for png in sorted(tmp_path.glob("p-*.png")):
        img = PILImage.open(png).convert("RGB")
        data = img.tobytes()
        teal = [((i // 3) % img.width, (i // 3) // img.width) for i in range(0, len(data), 3)
                if data[i] < 60 and data[i + 1] > 90 and data[i + 2] > 100]
        if not teal:
            continue
        found += 1
        xs, ys = [x for x, _ in teal], [y for _, y in teal]
        assert min(xs) >= A4_MARGIN_X * scale - 1 and max(xs) <= img.width - A4_MARGIN_X * scale + 1, png.name
        assert min(ys) >= A4_MARGIN_TOP * scale - 1 and max(ys) <= img.height - A4_MARGIN_BOTTOM * scale + 1, png.name
        if max(ys) - min(ys) < 100:  # the wide image: half the text width
            text_width = img.width - 2 * A4_MARGIN_X * scale
            assert abs((max(xs) - min(xs) + 1) - text_width / 2) <= 2, png.name
    assert found >= 1
