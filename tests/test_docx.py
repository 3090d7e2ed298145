"""The DOCX writer, read back with real readers (pandoc, LibreOffice) and checked in the XML."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from publish.diagnostics import RenderError
from publish.backmatter import labels_for, note_head
from publish.model import NoteRef, Paragraph, TermRef, nodes, plain_text
from publish.options import RenderOptions
from publish.resources import Resolver
from publish.writers import docx as docx_writer

from conftest import ARTICLE, ROOT, back_headings, chinese_name, straight
from samples import sample_document
from samples_tables import DISPLAY_MATH, INLINE_MATH, LONG_ROWS, WIDE_COLS, tables_document

pytestmark = pytest.mark.filterwarnings("error")

EPOCH = 1632000000  # 2021-09-18T21:20:00Z
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W, "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
      "dc": "http://purl.org/dc/elements/1.1/", "dcterms": "http://purl.org/dc/terms/"}
STYLES = ROOT / "src" / "publish" / "styles"


def _w(name: str) -> str:
    return f"{{{W}}}{name}"


def _gloss(entry_id: str) -> str:
    """``gloss-<id>``, shortened with a hash suffix when over Word's 40 characters."""
    name = f"gloss-{entry_id}"
    return name if len(name) <= 40 else docx_writer.ox.bookmark_name(name)


def _resolver(source: Path = ARTICLE, styles: Path = STYLES) -> Resolver:
    return Resolver(source_dir=source.resolve().parent, styles_dir=styles.resolve())


class Package:
    """An unzipped .docx: parts by name, parsed on demand."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.names = self.zip.namelist()

    def xml(self, name: str) -> etree._Element:
        return etree.fromstring(self.zip.read(name))

    def text(self, name: str) -> str:
        return "".join(self.xml(name).itertext())

    def story_parts(self) -> list[str]:
        return [n for n in self.names if re.fullmatch(
            r"word/(document|footnotes|comments|header\d+|footer\d+)\.xml", n)]


@pytest.fixture(scope="module")
def sample():
    doc = sample_document()
    data = docx_writer.render(doc, RenderOptions(epoch=EPOCH), _resolver())
    return doc, Package(data)


@pytest.fixture(scope="module")
def article(article_doc):
    data = docx_writer.render(article_doc, RenderOptions(epoch=EPOCH), _resolver())
    return article_doc, Package(data)


@pytest.fixture(scope="module", params=["sample", "article"])
def built(request):
    return request.getfixturevalue(request.param)


# --------------------------------------------------------------------------- pandoc


def _pandoc() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


def _pandoc_json(data: bytes, tmp: Path) -> dict:
    path = tmp / "in.docx"
    path.write_bytes(data)
    out = subprocess.run([_pandoc(), "-f", "docx", "-t", "json", str(path)],
                         capture_output=True, check=True, timeout=60)
    assert out.stderr.decode().strip() == ""
    return json.loads(out.stdout)


def _inline_text(inlines: list) -> str:
    out: list[str] = []
    for i in inlines:
        t, c = i["t"], i.get("c")
        if t == "Str":
            out.append(c)
        elif t in ("Space", "SoftBreak", "LineBreak"):
            out.append(" ")
        elif t == "Note":
            continue
        elif t in ("Emph", "Strong", "Underline", "SmallCaps", "Strikeout", "Superscript",
                   "Subscript"):
            out.append(_inline_text(c))
        elif t in ("Link", "Span"):
            out.append(_inline_text(c[1]))
        elif t == "Quoted":
            q = '"' if c[0]["t"] == "DoubleQuote" else "'"
            out.append(q + _inline_text(c[1]) + q)
        elif t == "Code":
            out.append(c[1])
    return "".join(out)


def _paragraphs(blocks: list) -> list[str]:
    out: list[str] = []
    for b in blocks:
        t, c = b["t"], b.get("c")
        if t in ("Para", "Plain"):
            out.append(_inline_text(c))
        elif t == "Header":
            out.append(_inline_text(c[2]))
        elif t in ("BlockQuote",):
            out.extend(_paragraphs(c))
        elif t == "Div":
            out.extend(_paragraphs(c[1]))
        elif t in ("BulletList",):
            for item in c:
                out.extend(_paragraphs(item))
        elif t == "OrderedList":
            for item in c[1]:
                out.extend(_paragraphs(item))
    return [re.sub(r"\s+", " ", p).strip() for p in out]


def _notes(node) -> list:
    found = []
    if isinstance(node, dict):
        if node.get("t") == "Note":
            found.append(node["c"])
        for v in node.values():
            found.extend(_notes(v))
    elif isinstance(node, list):
        for v in node:
            found.extend(_notes(v))
    return found


def test_pandoc_finds_one_note_per_reader_annotation(built, tmp_path) -> None:
    doc, pkg = built
    ast = _pandoc_json(pkg.data, tmp_path)
    notes = _notes(ast["blocks"])
    assert len(notes) == len(doc.reader_notes) > 0
    for ann, note in zip(doc.reader_notes, notes):  # in reading order, each its own body
        first = re.sub(r"\s+", " ", plain_text(ann.body[0].content)).strip()
        assert first in " ".join(_paragraphs(note)), ann.id


def test_pandoc_finds_every_manuscript_paragraph_in_order(article, manuscript, tmp_path) -> None:
    _, pkg = article
    paras = [straight(p) for p in _paragraphs(_pandoc_json(pkg.data, tmp_path)["blocks"])]
    i = 0
    for n, line in enumerate(manuscript, start=1):
        want = re.sub(r"\s+", " ", line).strip()
        while i < len(paras) and paras[i] != want:
            i += 1
        assert i < len(paras), f"manuscript line {n} not found (in order): {want[:60]!r}"
        i += 1


# --------------------------------------------------------------------------- LibreOffice


@pytest.fixture(scope="module")
def libreoffice_pdf(article, tmp_path_factory):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice (libreoffice-writer-nogui) is not installed"
    tmp = tmp_path_factory.mktemp("lo")
    src = tmp / "article.docx"
    src.write_bytes(article[1].data)
    profile = (tmp / "profile").as_uri()
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp), str(src)], capture_output=True, text=True, timeout=240)
    return proc, tmp / "article.pdf"


def test_libreoffice_converts_to_pdf(article, libreoffice_pdf) -> None:
    doc, _ = article
    proc, pdf = libreoffice_pdf
    assert proc.returncode == 0, proc.stderr
    assert "Error" not in proc.stderr and pdf.is_file(), proc.stderr
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout).group(1))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = re.sub(r"\s+", " ", text)
    assert doc.meta.running_title in text
    # the footer's fields were evaluated by the reader: Page N of M on every page
    assert [int(n) for n in re.findall(r"Page (\d+) of (\d+)", flat)[-1]] == [pages, pages]
    assert len(re.findall(r"Page \d+ of \d+", flat)) == pages
    # Chinese names are set in a CJK face, not boxes
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                           check=True).stdout
    assert "CJK" in fonts
    for e in doc.glossary:
        if chinese_name(e):
            assert chinese_name(e) in text.replace("\n", ""), e.id


_ODF = {"office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
        "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
        "dc": "http://purl.org/dc/elements/1.1/"}


def _soffice_convert(paths: list[Path], fmt: str, outdir: Path) -> subprocess.CompletedProcess:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice (libreoffice-writer-nogui) is not installed"
    profile = (outdir / "profile").as_uri()
    return subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", fmt,
         "--outdir", str(outdir), *map(str, paths)], capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def libreoffice_odt(sample, article, tmp_path_factory) -> dict[str, etree._Element]:
    """The sample and the article as LibreOffice reads them (flat ODT), in one run."""
    tmp = tmp_path_factory.mktemp("lo-odt")
    paths = []
    for name, (_, pkg) in (("sample", sample), ("article", article)):
        paths.append(tmp / f"{name}.docx")
        paths[-1].write_bytes(pkg.data)
    paths.append(tmp / LO_REPRO.name)
    paths[-1].write_bytes(LO_REPRO.read_bytes())
    proc = _soffice_convert(paths, "fodt", tmp)
    assert proc.returncode == 0, proc.stderr
    return {p.stem: etree.parse(str(p.with_suffix(".fodt"))).getroot() for p in paths}


LO_REPRO = ROOT / "tests" / "fixtures" / "libreoffice" / "comment-id-0.docx"


@pytest.mark.xfail(reason="LibreOffice 7.4 bug: a comment whose w:id is not above every footnote "
                          "id (Word's and pandoc's numbering) makes later footnotes show an "
                          "earlier note's text; tests/fixtures/libreoffice/comment-id-0.docx, "
                          "README 'LibreOffice'. publish numbers comments above the notes.")
def test_libreoffice_reads_word_numbered_comments_and_footnotes(libreoffice_odt) -> None:
    notes = libreoffice_odt[LO_REPRO.stem].xpath("//text:note/text:note-body", namespaces=_ODF)
    assert [_flat("".join(n.itertext())) for n in notes] == ["Note one.", "Note two."]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _annotation_spans(root: etree._Element) -> list[tuple[str, str]]:
    """(comment text, text of the span it is anchored on) per comment, in document order."""
    ann, end = f"{{{_ODF['office']}}}annotation", f"{{{_ODF['office']}}}annotation-end"
    open_spans: dict[str, list[str]] = {}
    found: list[tuple[str, str, list[str]]] = []
    walk = etree.iterwalk(root, events=("start", "end"))
    for event, el in walk:
        if event == "start":
            if el.tag == ann:
                body = " ".join("".join(p.itertext()) for p in el.iterfind("text:p", _ODF))
                found.append((el.get(f"{{{_ODF['office']}}}name") or "", _flat(body), []))
                open_spans[found[-1][0]] = found[-1][2]
                walk.skip_subtree()
                continue
            if el.tag == end:
                open_spans.pop(el.get(f"{{{_ODF['office']}}}name"), None)
            elif el.text:
                for span in open_spans.values():
                    span.append(el.text)
        elif el.tail:
            for span in open_spans.values():
                span.append(el.tail)
    return [(body, _flat("".join(span))) for _, body, span in found]


@pytest.mark.parametrize("name", ["sample", "article"])
def test_libreoffice_shows_each_note_and_comment_right(name, request, libreoffice_odt) -> None:
    """LibreOffice 7.4 mis-imported every footnote when the document also had comments
    (README, "LibreOffice"): each footnote must show its own text under its own number,
    each comment its own text on its own span."""
    doc, _ = request.getfixturevalue(name)
    root = libreoffice_odt[name]
    notes = root.xpath("//text:note[@text:note-class='footnote']", namespaces=_ODF)
    assert len(notes) == len(doc.reader_notes)
    for note, ann in zip(notes, doc.reader_notes):
        citation = note.find("text:note-citation", _ODF)
        body = _flat("".join(note.find("text:note-body", _ODF).itertext()))
        assert citation.text == str(ann.number), ann.id
        if ann.title:
            assert ann.title in body, (ann.number, ann.id, body[:80])
        for para in (b for b in ann.body if isinstance(b, Paragraph)):
            assert _flat(plain_text(para.content)) in body, (ann.number, ann.id, body[:80])
    spans = _annotation_spans(root)
    assert len(spans) == len(doc.editorial_notes)
    anchors = {n.ref: plain_text(n.content) for n in nodes(doc.blocks)
               if isinstance(n, NoteRef)}
    for (body, span), ann in zip(spans, doc.editorial_notes):
        first = next(b for b in ann.body if isinstance(b, Paragraph))
        assert _flat(plain_text(first.content)) in body, ann.id
        assert span == _flat(anchors[ann.id]), ann.id


# --------------------------------------------------------------------------- XML checks


def test_footnotes_part(built) -> None:
    doc, pkg = built
    fns = pkg.xml("word/footnotes.xml")
    seps = {fn.get(_w("type")): fn.get(_w("id")) for fn in fns if fn.get(_w("type"))}
    assert seps == {"separator": "-1", "continuationSeparator": "0"}
    settings = pkg.xml("word/settings.xml")
    assert settings.xpath("w:footnotePr/w:footnote/@w:id", namespaces=NS) == ["-1", "0"]
    notes = [fn for fn in fns if not fn.get(_w("type"))]
    assert [int(fn.get(_w("id"))) for fn in notes] == [a.number for a in doc.reader_notes]
    body = pkg.xml("word/document.xml")
    refs = body.xpath("//w:r[w:footnoteReference]", namespaces=NS)
    assert [int(r.find(_w("footnoteReference")).get(_w("id"))) for r in refs] == \
        [a.number for a in doc.reader_notes]
    for r in refs:
        assert r.xpath("w:rPr/w:rStyle/@w:val", namespaces=NS) == ["FootnoteReference"]
    for fn, ann in zip(notes, doc.reader_notes):
        assert fn.xpath("w:p[1]/w:r[1]/w:footnoteRef", namespaces=NS)
        assert set(fn.xpath("w:p/w:pPr/w:pStyle/@w:val", namespaces=NS)) == {"FootnoteText"}
        text = "".join(fn.itertext())
        head = note_head(ann, labels_for(doc.meta.lang))
        assert not head or text.lstrip().startswith(head)
        for s in ann.sources:
            assert s.title in text


def test_editorial_notes_are_comments_only(built) -> None:
    doc, pkg = built
    eds = doc.editorial_notes
    assert eds
    comments = pkg.xml("word/comments.xml").findall(_w("comment"))
    assert len(comments) == len(eds)
    body = pkg.xml("word/document.xml")
    reader_text = pkg.text("word/document.xml") + pkg.text("word/footnotes.xml")
    for c, ann in zip(comments, eds):
        cid = c.get(_w("id"))
        assert c.get(_w("author")) == (ann.author or "Editor")
        assert c.get(_w("date")).endswith("Z")
        if ann.date:
            assert c.get(_w("date")).startswith(ann.date[:10])
        else:
            assert c.get(_w("date")) == "2021-09-18T21:20:00Z"
        body_text = " ".join(plain_text(b.content) for b in ann.body
                             if isinstance(b, Paragraph))
        assert body_text and body_text in re.sub(r"\s+", " ", "".join(c.itertext()))
        assert body_text[:50] not in reader_text
        # anchored on its span: range start, end and reference all present
        for tag in ("commentRangeStart", "commentRangeEnd", "commentReference"):
            assert body.xpath(f"//w:{tag}[@w:id='{cid}']", namespaces=NS), (tag, ann.id)
        anchored = [n for n in nodes(doc.blocks)
                    if isinstance(n, NoteRef) and n.ref == ann.id]
        assert anchored
        span = plain_text(anchored[0].content)
        if span:
            got = "".join(body.xpath(
                f"//w:t[preceding::w:commentRangeStart[@w:id='{cid}'] and "
                f"following::w:commentRangeEnd[@w:id='{cid}']]/text()", namespaces=NS))
            assert got == span


def test_back_matter_headings_as_in_every_format(built) -> None:
    doc, pkg = built
    body = pkg.xml("word/document.xml")
    h1 = [" ".join("".join(p.itertext()).split())
          for p in body.xpath("//w:p[w:pPr/w:pStyle/@w:val='Heading1']", namespaces=NS)]
    text_h1 = [plain_text(b.content) for b in doc.blocks if getattr(b, "level", 0) == 1]
    assert h1 == text_h1 + back_headings(doc)


def test_glossary_bookmarks_and_term_links(built) -> None:
    doc, pkg = built
    body = pkg.xml("word/document.xml")
    marks = body.xpath("//w:bookmarkStart/@w:name", namespaces=NS)
    assert len(marks) == len(set(marks))
    assert all(len(m) <= 40 for m in marks)  # Word ignores longer names (pandoc #5091)
    for e in doc.glossary:
        name = _gloss(e.id)
        assert name in marks and name.startswith("gloss-")
        (start,) = body.xpath(f"//w:bookmarkStart[@w:name='{name}']", namespaces=NS)
        assert start.getparent().xpath("w:pPr/w:pStyle/@w:val", namespaces=NS) == ["GlossaryTerm"]
    uses = [n for n in nodes(doc.blocks) if isinstance(n, TermRef)]
    assert uses
    links = body.xpath("//w:hyperlink[starts-with(@w:anchor, 'gloss-')]", namespaces=NS)
    in_text = [h for h in links if h.xpath("ancestor::w:p/w:pPr/w:pStyle/@w:val",
                                           namespaces=NS) != ["GlossaryDefinition"]]
    assert [h.get(_w("anchor")) for h in in_text] == [_gloss(u.ref) for u in uses]
    for h, u in zip(in_text, uses):
        assert "".join(h.itertext()) == plain_text(u.content)
    # every internal link in every story lands on a bookmark
    for part in pkg.story_parts():
        for a in pkg.xml(part).xpath("//w:hyperlink/@w:anchor", namespaces=NS):
            assert a in marks, (part, a)


def test_chinese_names_tagged(built) -> None:
    doc, pkg = built
    body = pkg.xml("word/document.xml")
    for e in doc.glossary:
        if not chinese_name(e):
            continue
        runs = body.xpath(f"//w:r[w:t='{chinese_name(e)}']", namespaces=NS)
        assert runs, e.id
        for r in runs:
            assert r.xpath("w:rPr/w:lang/@w:eastAsia", namespaces=NS) == ["zh-CN"]
    styles = pkg.xml("word/styles.xml")
    (font,) = styles.xpath("//w:style[w:name/@w:val='Chinese Name']/w:rPr/w:rFonts/@w:eastAsia",
                           namespaces=NS)
    assert "CJK" in font


def test_voices_and_credit_and_rights(built) -> None:
    doc, pkg = built
    text = pkg.text("word/document.xml")
    body = pkg.xml("word/document.xml")
    voices = body.xpath("//w:p[w:pPr/w:pStyle/@w:val='Voice']", namespaces=NS)
    assert len(voices) == len(doc.people)
    for p, person in zip(voices, doc.people):
        assert "".join(p.itertext()).startswith(person.name)
    assert doc.meta.rights in text
    assert body.xpath("//w:p[w:pPr/w:pStyle/@w:val='Credit']", namespaces=NS)


def test_header_and_footer_fields(built) -> None:
    doc, pkg = built
    headers = [n for n in pkg.names if re.fullmatch(r"word/header\d+\.xml", n)]
    footers = [n for n in pkg.names if re.fullmatch(r"word/footer\d+\.xml", n)]
    assert len(headers) == len(footers) == 1
    assert pkg.text(headers[0]) == doc.meta.running_title
    ftr = pkg.xml(footers[0])
    instr = [t.strip() for t in ftr.xpath("//w:instrText/text()", namespaces=NS)]
    assert instr == ["PAGE", "NUMPAGES"]
    assert ftr.xpath("//w:fldChar/@w:fldCharType", namespaces=NS) == \
        ["begin", "separate", "end"] * 2
    assert "".join(ftr.xpath("//w:t/text()", namespaces=NS)) == "Page 1 of 1"


def test_every_style_in_use_is_defined(built) -> None:
    _, pkg = built
    styles = pkg.xml("word/styles.xml")
    defined = {(s.get(_w("type")), s.get(_w("styleId"))) for s in styles.findall(_w("style"))}
    used = set()
    for part in pkg.story_parts():
        root = pkg.xml(part)
        used |= {("paragraph", v) for v in root.xpath("//w:pStyle/@w:val", namespaces=NS)}
        used |= {("character", v) for v in root.xpath("//w:rStyle/@w:val", namespaces=NS)}
    assert used and used <= defined, used - defined
    for name in ("Title", "Subtitle", "Byline", "Heading1", "BodyText", "FootnoteText",
                 "GlossaryTerm", "GlossaryDefinition", "Voice", "Credit"):
        assert ("paragraph", name) in used, name
    for name in ("FootnoteReference", "GlossaryLink", "ChineseName", "CommentReference"):
        assert ("character", name) in used, name


def test_no_direct_formatting(built) -> None:
    _assert_no_direct_formatting(built[1])


def _assert_no_direct_formatting(pkg: Package) -> None:
    """Look comes from styles only: pPr holds a style (and list membership; in a table
    cell, the column's alignment), rPr a style, language tags and the semantic marks
    Word uses itself (sub/superscript, strikeout)."""
    for part in pkg.story_parts():
        root = pkg.xml(part)
        for ppr in root.iter(_w("pPr")):
            if ppr.getparent().getparent().get(_w("type")):  # footnote separators
                continue
            allowed = {"pStyle", "numPr"} | ({"jc"} if ppr.xpath("ancestor::w:tc", namespaces=NS)
                                             else set())
            assert {etree.QName(c).localname for c in ppr} <= allowed, part
        for rpr in root.iter(_w("rPr")):
            assert {etree.QName(c).localname for c in rpr} <= \
                {"rStyle", "lang", "rFonts", "vertAlign", "strike"}, part
            for f in rpr.iter(_w("rFonts")):
                assert set(f.attrib) == {_w("hint")}


def test_core_properties_and_no_template_leftovers(built) -> None:
    doc, pkg = built
    core = pkg.xml("docProps/core.xml")

    def val(path: str) -> str:
        return "".join(core.xpath(f"{path}/text()", namespaces=NS))

    m = doc.meta
    assert val("dc:title") == m.title
    assert val("dc:creator") == "; ".join(m.authors)
    assert val("dc:subject") == m.standfirst
    assert val("cp:keywords") == ", ".join(m.keywords)
    assert val("dc:language") == m.lang
    assert val("dcterms:created") == val("dcterms:modified") == "2021-09-18T21:20:00Z"
    assert not core.xpath("cp:lastModifiedBy", namespaces=NS)
    assert "docProps/thumbnail.jpeg" not in pkg.names
    for name in pkg.names:
        raw = pkg.zip.read(name)
        assert b"python-docx" not in raw and b"2013-12-23" not in raw, name
    lang = pkg.xml("word/styles.xml").xpath("//w:docDefaults//w:lang/@w:val", namespaces=NS)
    assert lang == [m.lang]


# --------------------------------------------------------------------------- reproducibility


def test_two_builds_byte_identical(article_doc, article) -> None:
    again = docx_writer.render(article_doc, RenderOptions(epoch=EPOCH), _resolver())
    assert again == article[1].data
    for info in zipfile.ZipFile(io.BytesIO(again)).infolist():
        assert info.date_time == (2021, 9, 18, 21, 20, 0), info.filename
    later = docx_writer.render(article_doc, RenderOptions(epoch=EPOCH + 86400), _resolver())
    assert later != again  # the epoch, not the clock, decides the dates


def test_reference_docx_is_reproducible(tmp_path) -> None:
    out = tmp_path / "reference.docx"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_reference_docx.py"), str(out)],
                   check=True, capture_output=True)
    assert out.read_bytes() == (STYLES / "reference.docx").read_bytes()


# --------------------------------------------------------------------------- reference document


def _edit_styles(src: Path, dst: Path, edit) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "word/styles.xml":
                root = etree.fromstring(data)
                edit(root)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                      standalone=True)
            zout.writestr(info, data)


def _copy_styles(tmp_path: Path) -> Path:
    styles = tmp_path / "styles"
    shutil.copytree(STYLES, styles)
    return styles


def test_editing_reference_docx_restyles_output(tmp_path) -> None:
    styles = _copy_styles(tmp_path)
    ref = styles / "reference.docx"
    orig = ref.with_suffix(".orig")
    ref.rename(orig)

    def body_text_31(root) -> None:
        (style,) = root.xpath("//w:style[w:name/@w:val='Body Text']", namespaces=NS)
        rpr = style.find(_w("rPr"))
        if rpr is None:
            rpr = etree.SubElement(style, _w("rPr"))
        for old in rpr.findall(_w("sz")):
            rpr.remove(old)
        etree.SubElement(rpr, _w("sz")).set(_w("val"), "31")

    _edit_styles(orig, ref, body_text_31)
    src = tmp_path / "article.md"  # the resolver's source folder; nothing is read from it
    data = docx_writer.render(sample_document(), RenderOptions(epoch=EPOCH),
                              _resolver(src, styles))
    pkg = Package(data)
    sizes = pkg.xml("word/styles.xml").xpath(
        "//w:style[@w:styleId='BodyText']/w:rPr/w:sz/@w:val", namespaces=NS)
    assert sizes == ["31"]
    # and the body paragraphs use that style rather than any size of their own
    body = pkg.xml("word/document.xml")
    assert body.xpath("//w:p[w:pPr/w:pStyle/@w:val='BodyText']", namespaces=NS)
    assert not body.xpath("//w:sz", namespaces=NS)
    # the house reference gives a different size
    house = Package(docx_writer.render(sample_document(), RenderOptions(epoch=EPOCH),
                                       _resolver()))
    assert house.xml("word/styles.xml").xpath(
        "//w:style[@w:styleId='BodyText']/w:rPr/w:sz/@w:val", namespaces=NS) != ["31"]


def test_missing_style_is_an_error_naming_it(tmp_path) -> None:
    styles = _copy_styles(tmp_path)
    ref = styles / "reference.docx"
    orig = ref.with_suffix(".orig")
    ref.rename(orig)

    def drop_glossary_term(root) -> None:
        (style,) = root.xpath("//w:style[w:name/@w:val='Glossary Term']", namespaces=NS)
        root.remove(style)

    _edit_styles(orig, ref, drop_glossary_term)
    with pytest.raises(RenderError) as err:
        docx_writer.render(sample_document(), RenderOptions(epoch=EPOCH),
                           _resolver(tmp_path / "article.md", styles))
    assert "Glossary Term" in str(err.value)
    assert err.value.exit_code == 3


def _rewrite_package(path: Path, change) -> None:
    """Rewrite a zip package in place: ``change(name, body)`` gives the new body, None drops it."""
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            body = change(info.filename, zin.read(info.filename))
            if body is not None:
                zout.writestr(info, body)


def test_reference_without_footnotes_part_gets_one(tmp_path) -> None:
    """A reference saved by another program may lack word/footnotes.xml: the writer adds
    the part, its relationship, its content type and the settings' separators."""
    styles = _copy_styles(tmp_path)
    ref = styles / "reference.docx"

    def without_footnotes(name: str, body: bytes) -> bytes | None:
        if name == "word/footnotes.xml":
            return None
        if name in ("word/_rels/document.xml.rels", "[Content_Types].xml"):
            return re.sub(rb"<(Relationship|Override)[^>]*footnotes[^>]*/>", b"", body)
        if name == "word/settings.xml":
            return re.sub(rb"<w:footnotePr>.*?</w:footnotePr>", b"", body)
        return body

    _rewrite_package(ref, without_footnotes)
    assert b"footnotes" not in zipfile.ZipFile(ref).read("[Content_Types].xml")
    pkg = Package(docx_writer.render(sample_document(), RenderOptions(epoch=EPOCH),
                                     _resolver(tmp_path / "article.md", styles)))
    assert b"footnotes+xml" in pkg.zip.read("[Content_Types].xml")
    assert b"relationships/footnotes" in pkg.zip.read("word/_rels/document.xml.rels")
    fns = pkg.xml("word/footnotes.xml")
    assert [fn.get(_w("id")) for fn in fns] == ["-1", "0", "1", "2"]
    settings = pkg.xml("word/settings.xml")
    names = [etree.QName(c).localname for c in settings]
    assert names.index("footnotePr") < names.index("compat")


def test_sample_covers_lists_and_numbering(sample) -> None:
    doc, pkg = sample
    body = pkg.xml("word/document.xml")
    styles = [p.xpath("string(w:pPr/w:pStyle/@w:val)", namespaces=NS)
              for p in body.findall(f"{_w('body')}/{_w('p')}")]
    assert styles.count("ListBullet") == 2 and styles.count("ListNumber") == 1
    (num_id,) = body.xpath("//w:p[w:pPr/w:pStyle/@w:val='ListNumber']//w:numId/@w:val",
                           namespaces=NS)
    numbering = pkg.xml("word/numbering.xml")
    start = numbering.xpath(f"//w:num[@w:numId='{num_id}']//w:startOverride/@w:val",
                            namespaces=NS)
    assert start == ["3"]
    assert "SourceCode" in styles and "ThematicBreak" in styles and "Quote" in styles


def test_minimal_document_with_image_and_nested_lists(tmp_path) -> None:
    from PIL import Image as PImage

    from publish.model import Attr, Document, Heading, Image, Link, ListBlock, Meta, Text

    PImage.new("RGB", (2400, 600), "red").save(tmp_path / "fig.png", dpi=(96, 96))
    items = ((Paragraph((Text("a"),)), ListBlock(True, ((Paragraph((Text("a.i"),)),),))),
             (Paragraph((Text("b"),)),))
    doc = Document(meta=Meta(title="Minimal"), blocks=(
        Paragraph((Image("fig.png", "A red bar", title="Figure 1"),)),
        ListBlock(True, items), ListBlock(True, ((Paragraph((Text("again"),)),),)),
        Paragraph((Text("中文 and "), Link("#x", (Text("a self link"),)))),
        Heading(2, (Text("X"),), Attr("x")),
    ))
    pkg = Package(docx_writer.render(doc, RenderOptions(epoch=EPOCH),
                                     _resolver(tmp_path / "a.md")))
    assert "word/comments.xml" not in pkg.names  # nothing editorial, no comments part
    assert [n for n in pkg.names if n.startswith("word/media/")] == ["word/media/image1.png"]
    body = pkg.xml("word/document.xml")
    WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
    (pr,) = body.iter(f"{{{WP}}}docPr")
    assert pr.get("descr") == "A red bar"
    (extent,) = body.iter(f"{{{WP}}}extent")
    sect = body.find(f".//{_w('sectPr')}")
    width = int(sect.find(_w("pgSz")).get(_w("w")))
    margins = sum(int(sect.find(_w("pgMar")).get(_w(k))) for k in ("left", "right"))
    assert int(extent.get("cx")) <= (width - margins) * 635  # twips -> EMU
    # each ordered list is its own list instance (numbering restarts)
    nums = body.xpath("//w:p[w:pPr/w:pStyle/@w:val='ListNumber']//w:numId/@w:val",
                      namespaces=NS)
    assert len(nums) == 3 and nums[0] == nums[1] != nums[2]
    assert body.xpath("//w:p[w:pPr/w:pStyle/@w:val='ListNumber2']", namespaces=NS)
    assert body.xpath("//w:hyperlink[@w:anchor='x']", namespaces=NS)
    assert body.xpath("//w:bookmarkStart[@w:name='x']", namespaces=NS)
    (cjk,) = body.xpath("//w:r[w:t='中文']", namespaces=NS)
    assert cjk.xpath("w:rPr/w:lang/@w:eastAsia", namespaces=NS) == ["zh-CN"]


def test_note_ids_start_above_the_references_separators(tmp_path) -> None:
    """LibreOffice saves separators as ids 0 and 1: notes must not reuse them."""
    styles = _copy_styles(tmp_path)
    ref = styles / "reference.docx"
    _rewrite_package(ref, lambda name, body: body.replace(b'w:id="0"', b'w:id="1"').replace(b'w:id="-1"', b'w:id="0"')
                     if name == "word/footnotes.xml" else body)
    pkg = Package(docx_writer.render(sample_document(), RenderOptions(epoch=EPOCH),
                                     _resolver(tmp_path / "article.md", styles)))
    fns = pkg.xml("word/footnotes.xml")
    assert [fn.get(_w("id")) for fn in fns] == ["0", "1", "2", "3"]
    refs = [r.get(_w("id")) for r in pkg.xml("word/document.xml").iter(_w("footnoteReference"))]
    assert refs == ["2", "3"]


# --------------------------------------------------------------------------- tables, figures, math

M = "http://schemas.openxmlformats.org/officeDocument/2006/math"
NS_M = {**NS, "m": M}


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """The tables/figure/math sample, rendered once (its image in its own source folder)."""
    from PIL import Image as PImage

    src = tmp_path_factory.mktemp("tables-src")
    PImage.new("RGB", (1200, 300), "blue").save(src / "fig.png", dpi=(96, 96))
    doc = tables_document("fig.png")
    data = docx_writer.render(doc, RenderOptions(epoch=EPOCH), _resolver(src / "tables.md"))
    return doc, Package(data)


@pytest.fixture(scope="module")
def tables_ast(tables, tmp_path_factory) -> dict:
    return _pandoc_json(tables[1].data, tmp_path_factory.mktemp("tables-pandoc"))


@pytest.fixture(scope="module")
def tables_lo_text(tables, tmp_path_factory) -> str:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice (libreoffice-writer-nogui) is not installed"
    tmp = tmp_path_factory.mktemp("tables-lo")
    (tmp / "tables.docx").write_bytes(tables[1].data)
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp / 'profile').as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp), str(tmp / "tables.docx")],
        capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0 and (tmp / "tables.pdf").is_file(), proc.stderr
    # -layout: cells of one row on one line, left to right (a merged cell on its first row)
    return subprocess.run(["pdftotext", "-layout", str(tmp / "tables.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout


def _model_tables(doc) -> list:
    from publish.model import Table

    return [n for n in nodes(doc.blocks) if isinstance(n, Table)]


def _cell_text(blocks, joined: bool = True):
    """The text of each paragraph in ``blocks`` (joined by spaces, or as a list)."""
    from publish.model import Plain

    texts = [plain_text(b.content) for b in nodes(blocks) if isinstance(b, (Paragraph, Plain))]
    return " ".join(texts) if joined else texts


def _ast_find(node, kind: str) -> list:
    found = []
    if isinstance(node, dict):
        if node.get("t") == kind:
            found.append(node["c"])
        for v in node.values():
            found.extend(_ast_find(v, kind))
    elif isinstance(node, list):
        for v in node:
            found.extend(_ast_find(v, kind))
    return found


def _ast_rows(table) -> list:
    """Rows of a pandoc Table (head, bodies' head and body rows, foot) as lists of cells."""
    _, _, _, head, bodies, foot = table
    rows = list(head[1])
    for body in bodies:
        rows += body[2] + body[3]
    rows += foot[1]
    return [row[1] for row in rows]


def test_pandoc_reads_tables_cells_spans_and_captions(tables, tables_ast) -> None:
    doc, _ = tables
    want = _model_tables(doc)
    got = _ast_find(tables_ast["blocks"], "Table")
    assert len(got) == len(want) == 3
    for model, table in zip(want, got):
        rows = _ast_rows(table)
        assert len(rows) == len(model.rows)
        head = table[3][1]
        assert len(head) == len(model.head)  # header rows read back as the table head
        for mrow, row in zip(model.rows, rows):
            assert [_cell_text(c.content) for c in mrow.cells] == \
                [" ".join(_paragraphs(cell[4])) for cell in row]
            assert [(c.rowspan, c.colspan) for c in mrow.cells] == \
                [(cell[2], cell[3]) for cell in row]
        caption = " ".join(_paragraphs(table[1][1]))
        assert caption == _cell_text(model.caption)
    aligns = [spec[0]["t"] for spec in got[0][2]]
    assert aligns == ["AlignLeft", "AlignRight", "AlignCenter"]


def test_table_xml_header_rows_spans_widths(tables) -> None:
    doc, pkg = tables
    body = pkg.xml("word/document.xml")
    tbls = body.xpath("//w:tbl", namespaces=NS)
    model = _model_tables(doc)
    assert len(tbls) == len(model)
    text_w = 11906 - 2 * 1418  # A4 and the reference's margins, in twips
    for tbl, table in zip(tbls, model):
        assert tbl.xpath("w:tblPr/w:tblStyle/@w:val", namespaces=NS) == ["Table"]
        rows = tbl.findall(_w("tr"))
        marked = [bool(r.xpath("w:trPr/w:tblHeader", namespaces=NS)) for r in rows]
        assert marked == [True] * len(table.head) + [False] * (len(rows) - len(table.head))
        grid = [int(w) for w in tbl.xpath("w:tblGrid/w:gridCol/@w:w", namespaces=NS)]
        assert len(grid) == len(table.colspecs) and sum(grid) <= text_w
        for r in rows:  # every row fills the grid
            spans = [int(s) for s in r.xpath("w:tc/w:tcPr/w:gridSpan/@w:val", namespaces=NS)]
            assert len(r.findall(_w("tc"))) - len(spans) + sum(spans) == len(grid)
        for tc in tbl.iter(_w("tc")):  # a Word cell ends with a paragraph
            assert tc[-1].tag == _w("p")
    main, long, wide = tbls
    assert main.xpath("w:tblPr/w:tblW/@w:type", namespaces=NS) == ["pct"]
    grid = [int(w) for w in main.xpath("w:tblGrid/w:gridCol/@w:w", namespaces=NS)]
    assert [round(w / text_w, 2) for w in grid] == [0.2, 0.3, 0.5]
    assert main.xpath(".//w:gridSpan/@w:val", namespaces=NS) == ["2"]
    assert main.xpath(".//w:vMerge/@w:val", namespaces=NS) == ["restart"]
    assert len(main.xpath(".//w:vMerge[not(@w:val)]", namespaces=NS)) == 1
    assert main.xpath(".//w:tc//w:pStyle/@w:val='SourceCode'", namespaces=NS)
    assert main.xpath(".//w:tc//w:pStyle/@w:val='ListBullet'", namespaces=NS)
    for t in (long, wide):  # no widths in the source: Word fits them
        assert t.xpath("w:tblPr/w:tblW/@w:type", namespaces=NS) == ["auto"]
    assert len(long.findall(_w("tr"))) == LONG_ROWS + 1
    assert len(wide.xpath("w:tblGrid/w:gridCol", namespaces=NS)) == WIDE_COLS
    # caption before the table, on the caption style
    cap = main.getprevious()
    assert cap.xpath("w:pPr/w:pStyle/@w:val", namespaces=NS) == ["TableCaption"]
    assert cap.xpath("w:bookmarkStart/@w:name", namespaces=NS) == ["tbl-main"]
    styles = pkg.xml("word/styles.xml")
    (based,) = styles.xpath("//w:style[@w:styleId='TableCaption']/w:basedOn/@w:val", namespaces=NS)
    assert based == "Caption"
    # two tables that touch are kept apart (Word would join them)
    assert long.getnext().tag == _w("p")


def test_figure_image_width_caption_and_bookmark(tables) -> None:
    _, pkg = tables
    body = pkg.xml("word/document.xml")
    WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
    (extent,) = body.iter(f"{{{WP}}}extent")
    text_w = (11906 - 2 * 1418) * 635
    assert abs(int(extent.get("cx")) - text_w // 2) <= 635  # width=50% of the text block
    (fig,) = body.xpath("//w:p[.//w:drawing]", namespaces=NS)
    assert fig.xpath("w:pPr/w:pStyle/@w:val", namespaces=NS) == ["Figure"]
    assert fig.xpath("w:bookmarkStart/@w:name", namespaces=NS) == ["fig-bar"]
    cap = fig.getnext()
    assert cap.xpath("w:pPr/w:pStyle/@w:val", namespaces=NS) == ["ImageCaption"]
    assert "".join(cap.itertext()).startswith("Figure 1")
    marks = body.xpath("//w:bookmarkStart/@w:name", namespaces=NS)
    for a in body.xpath("//w:hyperlink/@w:anchor", namespaces=NS):
        assert a in marks


def _tex(tex: str) -> str:
    """TeX compared loosely: no spaces, braces or thin spaces."""
    return re.sub(r"\\,|[\s{}]", "", tex)


def test_math_is_omml_and_pandoc_reads_it_back(tables, tables_ast) -> None:
    _, pkg = tables
    body = pkg.xml("word/document.xml")
    paras = body.xpath("//w:p[m:oMathPara]", namespaces=NS_M)
    assert len(paras) == len(DISPLAY_MATH)
    for p in paras:  # display math: a paragraph of its own
        assert not p.xpath("w:r", namespaces=NS_M)
    assert len(body.xpath("//m:oMath", namespaces=NS_M)) == len(INLINE_MATH) + len(DISPLAY_MATH)
    for tag in ("f", "rad", "sSubSup", "nary", "sSup"):
        assert body.xpath(f"//m:{tag}", namespaces=NS_M), tag
    maths = _ast_find(tables_ast["blocks"], "Math")
    assert [m[0]["t"] for m in maths] == ["InlineMath"] * 2 + ["DisplayMath"] * 2
    assert [_tex(m[1]) for m in maths] == [_tex(t) for t in INLINE_MATH + DISPLAY_MATH]
    # the text around a display formula stays, in paragraphs of its own
    paras_text = _paragraphs(tables_ast["blocks"])
    assert "The sum is" in paras_text and "for every n." in paras_text


def test_unknown_math_falls_back_to_its_tex() -> None:
    from publish.writers._omml import omml

    for tex in (r"\foo{x} + 1", "x^{", r"\frac{a}"):
        el, ok = omml(tex, display=False)
        assert not ok
        assert "".join(el.itertext()) == tex
    el, ok = omml(r"\sqrt{2}", display=True)
    assert ok and etree.QName(el).localname == "oMathPara"


def test_sub_sup_strike_read_back(tables, tables_ast) -> None:
    blocks = tables_ast["blocks"]
    assert [_inline_text(c) for c in _ast_find(blocks, "Subscript")] == ["2"]
    assert [_inline_text(c) for c in _ast_find(blocks, "Superscript")] == ["2"]
    assert [_inline_text(c) for c in _ast_find(blocks, "Strikeout")] == ["this is struck"]


def test_tables_document_styles_defined_and_no_direct_formatting(tables) -> None:
    _, pkg = tables
    _assert_no_direct_formatting(pkg)
    styles = pkg.xml("word/styles.xml")
    defined = {(s.get(_w("type")), s.get(_w("styleId"))) for s in styles.findall(_w("style"))}
    body = pkg.xml("word/document.xml")
    used = {("paragraph", v) for v in body.xpath("//w:pStyle/@w:val", namespaces=NS)}
    used |= {("character", v) for v in body.xpath("//w:rStyle/@w:val", namespaces=NS)}
    used |= {("table", v) for v in body.xpath("//w:tblStyle/@w:val", namespaces=NS)}
    assert used <= defined, used - defined
    assert {("table", "Table"), ("paragraph", "Compact"), ("paragraph", "TableCaption"),
            ("paragraph", "ImageCaption")} <= used


def test_libreoffice_renders_tables_and_math(tables, tables_lo_text) -> None:
    doc, _ = tables
    flat = re.sub(r"\s+", " ", tables_lo_text)
    pos = 0
    main, long, wide = _model_tables(doc)
    for table in (main, long):  # every cell's text, in order
        for row in table.rows:
            for cell in row.cells:
                for text in _cell_text(cell.content, joined=False):
                    found = flat.find(text, pos)
                    assert found >= 0, f"cell text {text!r} not found (in order)"
                    pos = found + len(text)
    # nine columns on A4 wrap their cells (LibreOffice even breaks "Heading" inside the
    # word): the first word of every body cell stands on its row's first line, in order
    for row in wide.body:
        for cell in row.cells:
            word = _cell_text(cell.content).split()[0]
            found = flat.find(word, pos)
            assert found >= 0, f"wide table cell {word!r} not found (in order)"
            pos = found + len(word)
    assert flat.count("Row Value Comment") >= 2  # the header row repeats on the next page
    for sign in ("∑", "∫", "α", "√"):  # the formulas were drawn (libreoffice-math)
        assert sign in tables_lo_text, sign


def test_samples_cover_every_node_type() -> None:
    """The writer tests between them render every block and inline type of the model."""
    from publish.model import BLOCK_TYPES, INLINE_TYPES

    seen = {type(n) for doc in (sample_document(), tables_document()) for n in nodes(doc)}
    assert set(BLOCK_TYPES) <= seen, set(BLOCK_TYPES) - seen
    assert set(INLINE_TYPES) <= seen, set(INLINE_TYPES) - seen
