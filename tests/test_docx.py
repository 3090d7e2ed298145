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
from publish.model import NoteRef, Paragraph, TermRef, iter_all_inlines, plain_text
from publish.options import RenderOptions
from publish.resources import Resolver
from publish.writers import docx as docx_writer

from conftest import ARTICLE, ROOT, straight
from samples import sample_document

pytestmark = pytest.mark.filterwarnings("error")

EPOCH = 1632000000  # 2021-09-18T21:20:00Z
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W, "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
      "dc": "http://purl.org/dc/elements/1.1/", "dcterms": "http://purl.org/dc/terms/"}
STYLES = ROOT / "styles"


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
        if e.zh:
            assert e.zh in text.replace("\n", ""), e.id


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
    anchors = {n.annotation.id: plain_text(n.content) for n in iter_all_inlines(doc.blocks)
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
        label = docx_writer.KIND_LABELS[ann.kind]
        assert not label or text.lstrip().startswith(label)
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
        anchored = [n for n in iter_all_inlines(doc.blocks)
                    if isinstance(n, NoteRef) and n.annotation.id == ann.id]
        assert anchored
        span = plain_text(anchored[0].content)
        if span:
            got = "".join(body.xpath(
                f"//w:t[preceding::w:commentRangeStart[@w:id='{cid}'] and "
                f"following::w:commentRangeEnd[@w:id='{cid}']]/text()", namespaces=NS))
            assert got == span


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
    uses = [n for n in iter_all_inlines(doc.blocks) if isinstance(n, TermRef)]
    assert uses
    links = body.xpath("//w:hyperlink[starts-with(@w:anchor, 'gloss-')]", namespaces=NS)
    in_text = [h for h in links if h.xpath("ancestor::w:p/w:pPr/w:pStyle/@w:val",
                                           namespaces=NS) != ["GlossaryDefinition"]]
    assert [h.get(_w("anchor")) for h in in_text] == [_gloss(u.entry.id) for u in uses]
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
        if not e.zh:
            continue
        runs = body.xpath(f"//w:r[w:t='{e.zh}']", namespaces=NS)
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
    """Look comes from styles only: pPr holds a style (and list membership), rPr a style
    and language tags."""
    _, pkg = built
    for part in pkg.story_parts():
        root = pkg.xml(part)
        for ppr in root.iter(_w("pPr")):
            if ppr.getparent().getparent().get(_w("type")):  # footnote separators
                continue
            assert {etree.QName(c).localname for c in ppr} <= {"pStyle", "numPr"}, part
        for rpr in root.iter(_w("rPr")):
            assert {etree.QName(c).localname for c in rpr} <= {"rStyle", "lang", "rFonts"}, part
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

    from publish.model import Document, Heading, Image, Link, ListBlock, Meta, Text

    PImage.new("RGB", (2400, 600), "red").save(tmp_path / "fig.png", dpi=(96, 96))
    items = ((Paragraph((Text("a"),)), ListBlock(True, ((Paragraph((Text("a.i"),)),),))),
             (Paragraph((Text("b"),)),))
    doc = Document(meta=Meta(title="Minimal"), blocks=(
        Paragraph((Image("fig.png", "A red bar", title="Figure 1"),)),
        ListBlock(True, items), ListBlock(True, ((Paragraph((Text("again"),)),),)),
        Paragraph((Text("中文 and "), Link("#x", (Text("a self link"),)))),
        Heading(2, (Text("X"),), id="x"),
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
