"""EPUB 3 writer: checked with EPUBCheck and pandoc (real readers), and with lxml.

Every EPUB this file builds is validated by EPUBCheck in ONE Java run per
pytest session (the ``epubcheck_results`` fixture); each test then asserts on
its own book's result.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import subprocess
import time
import warnings
import zipfile
from io import BytesIO
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import pytest
from lxml import etree

from publish.diagnostics import RenderError
from publish.model import (
    Annotation, Attr, Document, GlossaryEntry, Heading, Image, Link, Meta, NoteRef, Paragraph,
    Person, SpeakerRef, TermRef, Text, blocks_text, nodes, plain_text,
)
from publish.options import RenderOptions
from publish.resources import Resolver
from publish.writers import epub as epub_writer

from conftest import ARTICLE, ROOT, back_headings, chinese_name, manuscript_lines, straight
from epubcheck_batch import epubcheck_reports
from samples import sample_document, tables_document, write_sample_images

EPOCH = 1632441600  # 2021-09-24T00:00:00Z
OPTIONS = RenderOptions(epoch=EPOCH)
NS = {
    "h": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"


# --------------------------------------------------------------------------
# The books under test (built once per session)


def _resolver(source_dir: Path) -> Resolver:
    return Resolver(source_dir=source_dir.resolve(), styles_dir=(ROOT / "src" / "publish" / "styles").resolve())


def _render_quietly(doc: Document, resolver: Resolver, options: RenderOptions = OPTIONS) -> bytes:
    """Render; any log record (WARNING or above) or Python warning fails."""
    records: list[logging.LogRecord] = []

    class _Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = _Catch(level=logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            data = epub_writer.render(doc, options, resolver)
    finally:
        root.removeHandler(handler)
    assert not records, [r.getMessage() for r in records]
    return data


def _minimal_document() -> Document:
    """Starts with a level-1 heading (no opening), no notes, glossary or people; no identifier."""
    return Document(
        meta=Meta(title="Minimal", authors=("Ann Author",), lang="en"),
        blocks=(
            Heading(1, (Text("Only section"),), Attr("only-section")),
            Paragraph((Text("One paragraph, linking to "),
                       Link("#only-section", (Text("this section"),)), Text("."))),
            Heading(2, (Text("A subheading"),), Attr("a-subheading")),
            Paragraph((Text("Under the subheading."),)),
        ),
        source_path="minimal.md",
    )


def _chinese_document() -> Document:
    """Chinese in the title, a person's name and the text; an image; a note inside a
    later section; one glossary entry without a Chinese name."""
    wang = Person(id="wang-wei", name="Wang Wei 王伟", role="Researcher", first_use_id="speaker-wang-wei-1")
    dsl = GlossaryEntry(id="dsl", term="DSL", expansion="Data Security Law",
                        definition=(Text("In force since 1 September 2021."),),
                        first_use_id="use-dsl-1", use_count=1)
    note = Annotation(id="n1", kind="footnote", number=1, anchor_id="noteref-n1",
                      body=(Paragraph((Text("A plain footnote."),)),))
    blocks = (
        Paragraph((Text("Opening with 数据 and an image "),
                   Image(src="dot.png", alt="A small teal square"), Text("."))),
        Heading(1, (Text("Second 第二"),), Attr("second")),
        Paragraph((SpeakerRef(wang.id, (Text("Wang"),), id="speaker-wang-wei-1", first=True),
                   Text(" on the "), TermRef(dsl.id, (Text("DSL"),), id="use-dsl-1", first=True),
                   NoteRef(note.id, (), id="noteref-n1"), Text("."))),
    )
    meta = Meta(title="数据帝国: a bilingual test", authors=("A One", "B Two", "C Three"),
                publisher="Test Press", date="2021-09-20", lang="en-GB", rights="© Test Press",
                identifier="urn:uuid:7d2f6a9e-4a53-4c0b-9a52-1c1f0f2b9a10")
    return Document(meta=meta, blocks=blocks, glossary=(dsl,), annotations=(note,), people=(wang,),
                    source_path="zh.md")


@dataclasses.dataclass
class Book:
    name: str
    doc: Document
    data: bytes
    path: Path

    @property
    def zip(self) -> zipfile.ZipFile:
        return zipfile.ZipFile(BytesIO(self.data))

    def opf_path(self) -> str:
        container = etree.fromstring(self.zip.read("META-INF/container.xml"))
        return container.xpath("//c:rootfile/@full-path", namespaces=NS)[0]

    def opf(self) -> etree._Element:
        return etree.fromstring(self.zip.read(self.opf_path()))

    def base(self) -> PurePosixPath:
        return PurePosixPath(self.opf_path()).parent

    def manifest(self) -> dict[str, etree._Element]:
        return {i.get("id"): i for i in self.opf().xpath("//opf:manifest/opf:item", namespaces=NS)}

    def spine_files(self) -> list[str]:
        man = self.manifest()
        return [man[r].get("href") for r in self.opf().xpath("//opf:spine/opf:itemref/@idref", namespaces=NS)]

    def xhtml(self, href: str) -> etree._Element:
        return etree.fromstring(self.zip.read(str(self.base() / href)))

    def xhtml_files(self) -> list[str]:
        return [i.get("href") for i in self.manifest().values()
                if i.get("media-type") == "application/xhtml+xml"]


@pytest.fixture(scope="session")
def books(tmp_path_factory) -> dict[str, Book]:
    out_dir = tmp_path_factory.mktemp("epubs")
    src_dir = tmp_path_factory.mktemp("zh-source")
    from PIL import Image as PILImage

    PILImage.new("RGB", (8, 8), (13, 118, 128)).save(src_dir / "dot.png")
    tables_dir = tmp_path_factory.mktemp("tables-source")
    write_sample_images(tables_dir)

    from publish.build import load

    specs = {
        "article": (lambda: load(ARTICLE), Resolver.for_source(ARTICLE)),
        "sample": (sample_document, _resolver(ROOT / "tests")),
        "minimal": (_minimal_document, _resolver(ROOT / "tests")),
        "chinese": (_chinese_document, _resolver(src_dir)),
        "tables": (tables_document, _resolver(tables_dir)),
    }
    result = {}
    for name, (make, resolver) in specs.items():
        doc = make()
        data = _render_quietly(doc, resolver)
        path = out_dir / f"{name}.epub"
        path.write_bytes(data)
        result[name] = Book(name, doc, data, path)
    return result


BOOKS = ("article", "sample", "minimal", "chinese", "tables")


# --------------------------------------------------------------------------
# EPUBCheck: one JVM for every book


def _run_epubcheck(paths: list[Path], work: Path) -> dict[Path, dict]:
    reports = epubcheck_reports(paths, work, timeout=300)
    missing = [str(p) for p, r in reports.items() if r is None]
    assert not missing, f"EPUBCheck wrote no report: {missing}"
    return reports  # type: ignore[return-value]


@pytest.fixture(scope="session")
def epubcheck_results(books, tmp_path_factory) -> dict[str, dict]:
    work = tmp_path_factory.mktemp("epubcheck")
    by_path = _run_epubcheck([b.path for b in books.values()], work)
    return {name: by_path[b.path] for name, b in books.items()}


@pytest.mark.parametrize("name", BOOKS)
def test_epubcheck_reports_nothing(name, epubcheck_results) -> None:
    report = epubcheck_results[name]
    checker = report["checker"]
    problems = [f"{m['severity']} {m['ID']}: {m['message']} @ "
                + ", ".join(f"{loc['path']}:{loc['line']}" for loc in m["locations"])
                for m in report["messages"] if m["severity"] in ("FATAL", "ERROR", "WARNING")]
    assert problems == []
    assert (checker["nFatal"], checker["nError"], checker["nWarning"]) == (0, 0, 0)
    assert report["publication"]["ePubVersion"].startswith("3.")


# --------------------------------------------------------------------------
# Ace by DAISY: the accessibility checker publishers and libraries use


@pytest.fixture(scope="session")
def ace_results(books, tmp_path_factory) -> dict[str, dict]:
    import ace_batch

    why = ace_batch.missing()
    if why:
        if os.environ.get("CI"):
            raise AssertionError(why)
        pytest.skip(why)
    by_path = ace_batch.ace_reports([b.path for b in books.values()], tmp_path_factory.mktemp("ace"))
    return {name: by_path[b.path] for name, b in books.items()}


@pytest.mark.parametrize("name", BOOKS)
def test_ace_reports_no_violation(name, ace_results) -> None:
    import ace_batch

    report = ace_results[name]
    assert ace_batch.violations(report) == []
    assert report["earl:result"]["earl:outcome"] == "pass"
    # the accessibility metadata Ace looks for, all present (certifier's credential and
    # report are for third-party certification, which this book does not claim)
    assert set(report["a11y-metadata"]["missing"]) <= {"a11y:certifierCredential", "a11y:certifierReport"}
    assert report["a11y-metadata"]["empty"] == []


# --------------------------------------------------------------------------
# The cover: a raster cover-image that calibre (Kindle) finds


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        why = f"{name} (Debian package calibre) is not installed; run scripts/system-deps.sh"
        if os.environ.get("CI"):
            raise AssertionError(why)
        pytest.skip(why)
    return path


@pytest.mark.parametrize("name", BOOKS)
def test_cover_image_is_a_raster_of_store_size(name, books) -> None:
    from PIL import Image as PILImage

    book = books[name]
    covers = [i for i in book.manifest().values() if "cover-image" in (i.get("properties") or "").split()]
    assert len(covers) == 1 and covers[0].get("media-type") == "image/png"
    data = book.zip.read(str(book.base() / covers[0].get("href")))
    with PILImage.open(BytesIO(data)) as img:
        assert img.format == "PNG" and img.size == (1600, 2560)
    cover_page = book.xhtml("cover.xhtml")
    (img_el,) = cover_page.xpath("//h:img[@role='doc-cover']", namespaces=NS)
    assert img_el.get("src") == covers[0].get("href") and img_el.get("alt").startswith("Cover: ")


@pytest.mark.parametrize("name", ["article", "chinese"])
def test_calibre_converts_to_azw3_and_finds_the_cover(name, books, tmp_path) -> None:
    from PIL import Image as PILImage

    convert, meta = _tool("ebook-convert"), _tool("ebook-meta")
    azw3 = tmp_path / f"{name}.azw3"
    env = dict(os.environ, HOME=str(tmp_path), CALIBRE_CONFIG_DIRECTORY=str(tmp_path / "calibre"))
    proc = subprocess.run([convert, str(books[name].path), str(azw3)], capture_output=True, text=True,
                          timeout=300, env=env)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert not re.search(r"warn|error|fail", log, flags=re.I), log
    got = tmp_path / "cover.jpg"
    proc = subprocess.run([meta, str(azw3), f"--get-cover={got}"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0 and got.is_file(), proc.stdout + proc.stderr
    with PILImage.open(got) as img:
        assert abs(img.height / img.width - 1.6) < 0.01


# --------------------------------------------------------------------------
# The CJK face travels with the book


@pytest.mark.parametrize("name", BOOKS)
def test_cjk_subset_embedded_with_exactly_the_chinese_used(name, books) -> None:
    from fontTools.ttLib import TTFont

    from publish.writers.common import CJK_RUN

    book = books[name]
    used = {ch for f in book.xhtml_files() for m in CJK_RUN.finditer(book.zip.read(str(book.base() / f)).decode())
            for ch in m.group()}
    fonts = [i for i in book.manifest().values() if i.get("media-type", "").startswith("font/")]
    css = book.zip.read(str(book.base() / "style/epub.css")).decode()
    if not used:
        assert fonts == [] and "@font-face" not in css
        return
    assert [f.get("media-type") for f in fonts] == ["font/otf"]
    data = book.zip.read(str(book.base() / fonts[0].get("href")))
    font = TTFont(BytesIO(data))
    cmap = {chr(c) for c in font.getBestCmap()}
    assert used <= cmap, sorted(used - cmap)
    assert not {c for c in cmap if CJK_RUN.fullmatch(c)} - used, "only the characters used"
    assert "SIL Open Font License" in " ".join(str(n) for n in font["name"].names if n.nameID in (13, 0)) \
        or font["name"].getDebugName(13)
    assert len(data) < 200_000
    # the stylesheet loads it (relative to itself) for Chinese, not for pinyin
    href = PurePosixPath("style").parent / fonts[0].get("href")
    assert f'url("../{href}")' in css
    assert re.search(r'\[lang\|="zh"\] \{ font-family: "Noto Serif CJK SC", "Noto Serif CJK SC \(publish subset\)"', css)
    assert '[lang|="zh-Latn"] { font-family: inherit; }' in css


# --------------------------------------------------------------------------
# Package: zip, determinism, metadata


@pytest.mark.parametrize("name", BOOKS)
def test_zip_is_deterministic_and_well_formed(name, books) -> None:
    book = books[name]
    infos = book.zip.infolist()
    assert infos[0].filename == "mimetype"
    assert infos[0].compress_type == zipfile.ZIP_STORED and not infos[0].extra
    assert book.zip.read("mimetype") == b"application/epub+zip"
    expected_time = time.gmtime(EPOCH)[:6]
    assert {i.date_time for i in infos} == {expected_time}
    assert len({i.filename for i in infos}) == len(infos)


def test_two_builds_are_byte_identical_and_follow_the_epoch(books) -> None:
    book = books["sample"]
    resolver = _resolver(ROOT / "tests")
    again = _render_quietly(book.doc, resolver)
    assert again == book.data
    later = _render_quietly(book.doc, resolver, RenderOptions(epoch=EPOCH + 86400))
    assert later != book.data
    with zipfile.ZipFile(BytesIO(later)) as z:
        assert {i.date_time for i in z.infolist()} == {time.gmtime(EPOCH + 86400)[:6]}
        opf = etree.fromstring(z.read("EPUB/content.opf"))
    assert opf.xpath("//opf:meta[@property='dcterms:modified']/text()", namespaces=NS) == [
        "2021-09-25T00:00:00Z"]


def test_article_builds_byte_identical(books) -> None:
    book = books["article"]
    assert _render_quietly(book.doc, Resolver.for_source(ARTICLE)) == book.data


@pytest.mark.parametrize("name", BOOKS)
def test_package_metadata(name, books) -> None:
    book = books[name]
    meta = book.doc.meta
    opf = book.opf()

    def texts(xpath: str) -> list[str]:
        return [t.strip() for t in opf.xpath(xpath, namespaces=NS)]

    assert texts("//dc:title/text()") == [meta.title]
    creators = opf.xpath("//dc:creator", namespaces=NS)
    assert [c.text for c in creators] == list(meta.authors)
    ids = [c.get("id") for c in creators]
    assert len(set(ids)) == len(ids) and all(ids)
    for cid in ids:
        assert texts(f"//opf:meta[@refines='#{cid}'][@property='role']/text()") == ["aut"]
    assert texts("//dc:language/text()") == [meta.lang]
    assert texts("//dc:publisher/text()") == ([meta.publisher] if meta.publisher else [])
    assert texts("//dc:date/text()") == ([meta.date] if meta.date else [])
    assert texts("//dc:rights/text()") == ([meta.rights] if meta.rights else [])
    # One identifier, the package's unique one, stable: the source's, else derived from metadata.
    idents = opf.xpath("//dc:identifier", namespaces=NS)
    assert len(idents) == 1 and idents[0].get("id") == opf.get("unique-identifier")
    assert idents[0].text == (meta.identifier or epub_writer.identifier(meta))
    assert idents[0].text.startswith("urn:uuid:")
    assert texts("//opf:meta[@property='dcterms:modified']/text()") == ["2021-09-24T00:00:00Z"]
    # EPUB Accessibility 1.1
    assert "textual" in texts("//opf:meta[@property='schema:accessMode']/text()")
    assert texts("//opf:meta[@property='schema:accessModeSufficient']/text()") == ["textual"]
    features = texts("//opf:meta[@property='schema:accessibilityFeature']/text()")
    assert {"structuralNavigation", "tableOfContents", "readingOrder"} <= set(features)
    assert texts("//opf:meta[@property='schema:accessibilityHazard']/text()") == ["none"]
    summary = texts("//opf:meta[@property='schema:accessibilitySummary']/text()")
    assert len(summary) == 1 and len(summary[0]) > 40
    assert texts("//opf:meta[@property='dcterms:conformsTo']/text()") == [
        "EPUB Accessibility 1.1 - WCAG 2.1 Level AA"]
    # the evaluator: the publishing party itself, and the summary says so
    assert texts("//opf:meta[@property='a11y:certifiedBy']/text()") == [
        meta.publisher or epub_writer.join_names(meta.authors) or "publish"]
    assert "own assessment" in summary[0] and "no third party" in summary[0]
    assert texts("//opf:meta[@property='pageBreakSource']/text()") == ["none"]
    assert opf.get("{http://www.w3.org/XML/1998/namespace}lang") == meta.lang
    images = [i for i in nodes(book.doc.blocks) if isinstance(i, Image)]
    assert ("visual" in texts("//opf:meta[@property='schema:accessMode']/text()")) == bool(images)
    assert ("alternativeText" in features) == bool(images)


def test_images_are_packaged(books) -> None:
    book = books["chinese"]
    media = [i for i in book.manifest().values() if i.get("media-type") == "image/png"
             and "cover-image" not in (i.get("properties") or "").split()]
    assert len(media) == 1
    png = book.zip.read(str(book.base() / media[0].get("href")))
    assert png.startswith(b"\x89PNG")
    imgs = [img for f in book.xhtml_files() for img in book.xhtml(f).iter("{%s}img" % NS["h"])
            if img.get("src") == media[0].get("href")]
    assert [i.get("alt") for i in imgs] == ["A small teal square"]


# --------------------------------------------------------------------------
# Navigation


@pytest.mark.parametrize("name", BOOKS)
def test_nav_toc_landmarks_and_ncx(name, books) -> None:
    book = books[name]
    man = book.manifest()
    navs = [i for i in man.values() if "nav" in (i.get("properties") or "").split()]
    assert len(navs) == 1
    nav = book.xhtml(navs[0].get("href"))
    toc = nav.xpath("//h:nav[@epub:type='toc']//h:a", namespaces=NS)
    labels = [" ".join("".join(a.itertext()).split()) for a in toc]
    heads = [plain_text(b.content) for b in book.doc.blocks if isinstance(b, Heading) and b.level <= 2]
    for h in heads:
        assert h in labels
    # the back matter: the same headings, in the same order, as the PDF and the DOCX
    back = [lab for lab in labels if lab in back_headings(book.doc)]
    assert back == back_headings(book.doc)
    landmarks = {a.get(EPUB_TYPE): a.get("href")
                 for a in nav.xpath("//h:nav[@epub:type='landmarks']//h:a", namespaces=NS)}
    expected = {"cover", "toc", "bodymatter"} | ({"glossary"} if book.doc.glossary else set())
    assert set(landmarks) == expected
    assert landmarks["toc"] == navs[0].get("href")
    cover = book.xhtml(landmarks["cover"])
    assert cover.xpath("//h:img[@role='doc-cover']", namespaces=NS)
    # bodymatter starts where the text starts
    first = book.xhtml(landmarks["bodymatter"].split("#")[0])
    first_text = " ".join("".join(first.xpath("//h:body", namespaces=NS)[0].itertext()).split())
    first_block = next(t for t in blocks_text(book.doc.blocks) if t.strip())
    assert " ".join(first_block.split())[:12] in first_text
    # NCX for older readers, referenced from the spine, with the same entries as the toc
    spine = book.opf().xpath("//opf:spine", namespaces=NS)[0]
    ncx_item = man[spine.get("toc")]
    assert ncx_item.get("media-type") == "application/x-dtbncx+xml"
    ncx = etree.fromstring(book.zip.read(str(book.base() / ncx_item.get("href"))))
    ncx_labels = [t.strip() for t in ncx.xpath("//ncx:navPoint/ncx:navLabel/ncx:text/text()", namespaces=NS)]
    assert ncx_labels == labels
    uid = ncx.xpath("//ncx:meta[@name='dtb:uid']/@content", namespaces=NS)
    assert uid == [book.opf().xpath("//dc:identifier/text()", namespaces=NS)[0]]


@pytest.mark.parametrize("name", BOOKS)
def test_spine_reading_order_and_every_internal_link_resolves(name, books) -> None:
    book = books[name]
    spine = book.spine_files()
    assert spine[0] == "cover.xhtml" and spine[1] == "title.xhtml"
    assert spine[-1] == "colophon.xhtml"
    assert set(spine) == set(book.xhtml_files())
    ids = {f: set(book.xhtml(f).xpath("//@id")) for f in book.xhtml_files()}
    for f in book.xhtml_files():
        root = book.xhtml(f)
        assert root.get("lang") == book.doc.meta.lang and root.get(XML_LANG) == book.doc.meta.lang
        for a in root.xpath("//h:a[@href]", namespaces=NS):
            parts = urlsplit(a.get("href"))
            if parts.scheme:
                continue
            target = str(PurePosixPath(f).parent / unquote(parts.path)) if parts.path else f
            target = target.removeprefix("./")
            assert target in ids, f"{f}: link to missing file {a.get('href')}"
            if parts.fragment:
                assert parts.fragment in ids[target], f"{f}: link to missing id {a.get('href')}"


def test_internal_link_to_missing_id_is_an_error() -> None:
    doc = _minimal_document()
    doc = dataclasses.replace(doc, blocks=doc.blocks + (Paragraph((Link("#nowhere", (Text("x"),)),)),))
    with pytest.raises(RenderError, match="nowhere"):
        epub_writer.render(doc, OPTIONS, _resolver(ROOT / "tests"))


# --------------------------------------------------------------------------
# Notes, glossary, voices


def _by_id(book: Book) -> dict[str, tuple[str, etree._Element]]:
    out = {}
    for f in book.xhtml_files():
        for el in book.xhtml(f).xpath("//*[@id]"):
            out[el.get("id")] = (f, el)
    return out


def _target(book: Book, here: str, href: str) -> tuple[str, str]:
    parts = urlsplit(href)
    return (parts.path or here), parts.fragment


@pytest.mark.parametrize("name", ["article", "sample", "chinese"])
def test_reader_notes_are_popup_footnotes(name, books) -> None:
    book = books[name]
    index = _by_id(book)
    notes = book.doc.reader_notes
    assert notes
    for ann in notes:
        call_file, call = index[ann.anchor_id]
        assert call.get(EPUB_TYPE) == "noteref" and call.get("role") == "doc-noteref"
        assert call.text == str(ann.number)
        f, frag = _target(book, call_file, call.get("href"))
        assert frag == f"note-{ann.id}"
        note_file, aside = index[frag]
        assert note_file == f, "the note sits where its call points"
        assert aside.tag == "{%s}aside" % NS["h"]
        assert aside.get(EPUB_TYPE) == "footnote" and aside.get("role") == "doc-footnote"
        back = aside.xpath(".//h:a[@role='doc-backlink']", namespaces=NS)
        assert len(back) == 1
        bf, bfrag = _target(book, note_file, back[0].get("href"))
        assert (bf, bfrag) == (call_file, ann.anchor_id)
        body = " ".join("".join(aside.itertext()).split())
        for para in blocks_text(ann.body):
            assert " ".join(para.split()) in body
    # numbered 1..n in reading order
    calls = [el for f in book.spine_files() for el in book.xhtml(f).xpath("//h:a[@epub:type='noteref']", namespaces=NS)]
    assert [int(c.text) for c in calls] == list(range(1, len(notes) + 1))


@pytest.mark.parametrize("name", BOOKS)
def test_editorial_notes_never_appear(name, books) -> None:
    book = books[name]
    everything = b"".join(book.zip.read(n) for n in book.zip.namelist())
    text = everything.decode("utf-8", errors="replace")
    for ann in book.doc.editorial_notes:
        assert f"note-{ann.id}" not in text
        for para in blocks_text(ann.body):
            assert para not in text
        if ann.anchor_id:
            assert f'id="{ann.anchor_id}"' not in text


def test_sample_editorial_anchor_text_stays(books) -> None:
    book = books["sample"]
    assert book.doc.editorial_notes
    plain = _pandoc_plain(book)
    assert "248 companies listed" in plain
    assert "Check this figure" not in plain


@pytest.mark.parametrize("name", ["article", "sample", "chinese"])
def test_glossary_linked_both_ways_and_bilingual(name, books) -> None:
    book = books[name]
    index = _by_id(book)
    gloss = book.xhtml("glossary.xhtml")
    sections = gloss.xpath("//h:section[@epub:type='glossary']", namespaces=NS)
    assert len(sections) == 1 and sections[0].get("role") == "doc-glossary"
    dts = sections[0].xpath(".//h:dl/h:dt", namespaces=NS)
    assert [dt.get("id") for dt in dts] == [f"gloss-{e.id}" for e in book.doc.glossary]
    for entry, dt in zip(book.doc.glossary, dts):
        assert entry.term in "".join(dt.itertext())
        zh = dt.xpath(".//*[@lang='zh-Hans']", namespaces=NS)
        if chinese_name(entry):
            assert [z.text for z in zh] == [chinese_name(entry)]
            assert zh[0].get(XML_LANG) == "zh-Hans"
        else:
            assert zh == []
        dd = dt.getnext()
        back = dd.xpath(".//h:a[@role='doc-backlink']", namespaces=NS)
        if entry.first_use_id:
            assert len(back) == 1
            f, frag = _target(book, "glossary.xhtml", back[0].get("href"))
            assert frag == entry.first_use_id and index[frag][0] == f
        else:
            assert back == []
    # Every term use in the text links to its entry.
    uses = [i for i in nodes(book.doc.blocks) if isinstance(i, TermRef)]
    assert uses
    for use in uses:
        f, el = index[use.id]
        if el.tag == "{%s}a" % NS["h"]:
            assert _target(book, f, el.get("href")) == ("glossary.xhtml", f"gloss-{use.ref}")


@pytest.mark.parametrize("name", ["article", "sample", "chinese"])
def test_voices_link_back_to_first_quote(name, books) -> None:
    book = books[name]
    index = _by_id(book)
    for person in book.doc.people:
        f, dt = index[f"person-{person.id}"]
        assert f == "voices.xhtml"
        dd = dt.getnext()
        back = dd.xpath(".//h:a[@role='doc-backlink']", namespaces=NS)
        assert len(back) == 1
        tf, frag = _target(book, f, back[0].get("href"))
        assert frag == person.first_use_id and index[frag][0] == tf


def test_chinese_runs_are_tagged(books) -> None:
    book = books["chinese"]
    for f, needle in (("title.xhtml", "数据帝国"), ("voices.xhtml", "王伟"), ("section-02.xhtml", "第二")):
        spans = book.xhtml(f).xpath(f"//*[@lang='zh-Hans'][contains(., '{needle}')]", namespaces=NS)
        assert spans and spans[0].get(XML_LANG) == "zh-Hans", f


# --------------------------------------------------------------------------
# Read back as a reader would: pandoc


_PANDOC_CACHE: dict[str, str] = {}


def _pandoc_plain(book: Book) -> str:
    if book.name not in _PANDOC_CACHE:
        import pypandoc

        out = subprocess.run([pypandoc.get_pandoc_path(), "-f", "epub", "-t", "plain", "--wrap=none",
                              str(book.path)], capture_output=True, text=True, check=True, timeout=120)
        # pandoc's plain writer cannot set some TeX as text (it reads the MathML fine)
        assert [ln for ln in out.stderr.splitlines()
                if not ln.startswith("[WARNING] Could not convert TeX math")] == []
        _PANDOC_CACHE[book.name] = out.stdout
    return _PANDOC_CACHE[book.name]


def _norm(s: str) -> str:
    return " ".join(s.split())


def _text_only(plain: str) -> str:
    """pandoc's plain text without note calls ([1]) and image brackets ([alt])."""
    return _unbracket(re.sub(r"\[\d+\]", "", plain))


def _unbracket(s: str) -> str:
    return _norm(s.replace("[", "").replace("]", ""))


def test_every_manuscript_paragraph_reads_back_in_order(books) -> None:
    plain = straight(_text_only(_pandoc_plain(books["article"])))
    pos = 0
    for n, line in enumerate(manuscript_lines(), start=1):
        at = plain.find(_unbracket(line), pos)
        assert at >= 0, f"manuscript line {n} missing or out of order: {line[:60]!r}"
        pos = at + 1


# (the tables book is read back through pandoc's AST below: its plain writer sets
# H₂O, math and grid tables in ways a text search cannot follow)
@pytest.mark.parametrize("name", [b for b in BOOKS if b != "tables"])
def test_every_model_paragraph_and_note_reads_back(name, books) -> None:
    book = books[name]
    plain = _text_only(_pandoc_plain(book))
    for para in blocks_text(book.doc.blocks):
        # pandoc's plain writer sets small caps in capitals
        assert _unbracket(para) in plain or _unbracket(para).upper() in plain.upper(), para[:60]
    for ann in book.doc.reader_notes:
        for para in blocks_text(ann.body):
            assert _norm(para) in plain, para[:60]
    for entry in book.doc.glossary:
        assert _norm(plain_text(entry.definition)) in plain
        if chinese_name(entry):
            assert chinese_name(entry) in plain
    for ann in book.doc.editorial_notes:
        for para in blocks_text(ann.body):
            assert _norm(para) not in plain


def test_reader_view_of_the_article(books) -> None:
    """What a reader meets, in order: the text, its crossheads, notes as footnotes."""
    book = books["article"]
    plain = _pandoc_plain(book)
    heads = [plain_text(b.content) for b in book.doc.blocks if isinstance(b, Heading) and b.level == 1]
    where = [plain.find("\n" + h + "\n") for h in heads]
    assert all(w >= 0 for w in where) and where == sorted(where)
    n = len(book.doc.reader_notes)
    # pandoc turns every popup note into a real footnote, numbered 1..n
    assert re.findall(r"^\[(\d+)\] ", plain, flags=re.M) == [str(i) for i in range(1, n + 1)]
    assert plain.find(book.doc.meta.standfirst) < where[0]
    assert "About this edition" in plain and book.doc.meta.rights in plain


# --------------------------------------------------------------------------
# The stylesheet respects the reader


def test_stylesheet_leaves_sizes_and_colours_to_the_reader() -> None:
    css = (ROOT / "src" / "publish" / "styles" / "epub.css").read_text(encoding="utf-8")
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    assert not re.search(r"\d(px|pt|pc|cm|mm|in)\b", css), "absolute units"
    for prop in re.findall(r"(?<![-\w])(color|background(?:-color)?)\s*:\s*([^;}]+)", css):
        assert prop[1].strip() in ("inherit", "transparent", "currentColor"), prop
    assert "!important" not in css
    assert not re.search(r"font-family\s*:(?![^;]*monospace)", css), "font-family forced"
    assert not re.search(r"(?<![-\w])(position|float)\s*:", css)


# --------------------------------------------------------------------------
# Tables, figures and math (tables_document)


def _pandoc_json(book: Book) -> dict:
    import json

    import pypandoc

    out = subprocess.run([pypandoc.get_pandoc_path(), "-f", "epub", "-t", "json", str(book.path)],
                         capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


def _pandoc_elements(x, kind: str) -> list:
    """Every pandoc JSON element of type ``kind`` (pandoc's AST, not our model)."""
    found = []
    if isinstance(x, dict):
        if x.get("t") == kind:
            found.append(x)
        for v in x.values():
            found += _pandoc_elements(v, kind)
    elif isinstance(x, list):
        for v in x:
            found += _pandoc_elements(v, kind)
    return found


def _pandoc_cells(table: dict) -> list[tuple[str, int, int]]:
    """(text, rowspan, colspan) of every cell, head, bodies and foot in order."""
    _, _, _, head, bodies, foot = table["c"]  # attr, caption, colspecs, head, bodies, foot
    rows = list(head[1])
    for body in bodies:
        rows += body[2] + body[3]
    rows += foot[1]
    return [(_norm(" ".join(_inline_words(cell[4]))), cell[2], cell[3]) for row in rows for cell in row[1]]


def _inline_words(x) -> list[str]:
    out = []
    if isinstance(x, dict):
        if x.get("t") == "Str":
            out.append(x["c"])
        elif x.get("t") == "CodeBlock":
            out.append(x["c"][1])
        else:
            out += _inline_words(x.get("c"))
    elif isinstance(x, list):
        for v in x:
            out += _inline_words(v)
    return out


def test_pandoc_reads_the_tables_back(books) -> None:
    from publish.model import Table

    book = books["tables"]
    tables = _pandoc_elements(_pandoc_json(book)["blocks"], "Table")
    # pandoc keeps a note where it is called: the note's table (first paragraph) comes first
    model = [b for a in book.doc.reader_notes for b in a.body if isinstance(b, Table)]
    model += [b for b in book.doc.blocks if isinstance(b, Table)]
    assert len(tables) == len(model)
    for got, want in zip(tables, model):
        expected = [(_norm(" ".join(blocks_text(c.content))), c.rowspan, c.colspan)
                    for r in want.rows for c in r.cells]
        assert _pandoc_cells(got) == expected
    assert [t["c"][0][0] for t in tables] == ["", "tbl-fines", "tbl-wide", "tbl-long"]


def test_tables_book_math_and_figures(books) -> None:
    book = books["tables"]
    man = book.manifest()
    with_math = [i.get("href") for i in man.values() if "mathml" in (i.get("properties") or "").split()]
    assert len(with_math) == 1
    root = book.xhtml(with_math[0])
    maths = root.xpath("//m:math", namespaces={"m": "http://www.w3.org/1998/Math/MathML"})
    assert [m.get("alttext") for m in maths][:2] == [r"\frac{a}{b}", r"\sqrt{x^2+y^2}"]
    others = [f for f in book.xhtml_files() if f not in with_math]
    assert not [f for f in others if b"MathML" in book.zip.read(str(book.base() / f))]
    features = book.opf().xpath("//opf:meta[@property='schema:accessibilityFeature']/text()", namespaces=NS)
    assert "MathML" in features
    doc = _pandoc_json(book)
    maths = [m["c"][1] for m in _pandoc_elements(doc["blocks"], "Math")]
    assert len(maths) == 5 and maths[0] == r"\frac{a}{b}"
    figures = _pandoc_elements(doc["blocks"], "Figure")
    assert len(figures) == 2
