"""The HTML web edition (publish.writers.web), in process: structure, ids equal to
the EPUB's, links, languages, no editorial text, the same back matter, nothing
fetched. The browser tests (Playwright + Debian's chromium) are in test_preview.py."""

from __future__ import annotations

import base64
import shutil
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree, html as lxml_html

from publish.build import load, render_files
from publish.model import Document, blocks_text
from publish.options import RenderOptions
from publish.resources import Resolver
from publish.writers import WRITERS
from publish.writers.common import CJK_RUN
from publish.writers.web import render_edition

from conftest import ARTICLE, ROOT, back_headings
from samples import sample_document, tables_document, write_sample_images

OPTIONS = RenderOptions(epoch=1_600_000_000)
# ids the page has and the EPUB has not: its furniture, and the definitions that describe terms
PAGE_IDS = {"text", "toc-title", "term-tip"}


@dataclass
class Page:
    name: str
    doc: Document
    resolver: Resolver
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")

    def tree(self):
        return lxml_html.document_fromstring(self.data)


@pytest.fixture(scope="session")
def pages(tmp_path_factory) -> dict[str, Page]:
    tables_dir = tmp_path_factory.mktemp("web-tables")
    write_sample_images(tables_dir)
    specs = {
        "article": (lambda: load(ARTICLE), Resolver.for_source(ARTICLE)),
        "sample": (sample_document, Resolver(ROOT / "tests", ROOT / "src" / "publish" / "styles")),
        "tables": (tables_document, Resolver(tables_dir, ROOT / "src" / "publish" / "styles")),
    }
    out = {}
    for name, (make, resolver) in specs.items():
        doc = make()
        out[name] = Page(name, doc, resolver, render_files("html", doc, OPTIONS, resolver)[""])
    return out


NAMES = ("article", "sample", "tables")


def _ids(tree) -> list[str]:
    return [el.get("id") for el in tree.iter() if isinstance(el.tag, str) and el.get("id")]


def _epub_ids(page: Page) -> set[str]:
    data = render_files("epub", page.doc, OPTIONS, page.resolver)[""]
    ids: set[str] = set()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for n in z.namelist():
            if n.endswith(".xhtml") and not n.endswith(("nav.xhtml", "cover.xhtml")):
                root = etree.fromstring(z.read(n))
                ids |= {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    return ids


def test_the_writers_table_has_the_html_edition() -> None:
    w = WRITERS["html"]
    assert (w.extension, w.module) == ("html", "publish.writers.web")
    assert "html.css" in w.styles and "templates/html/**/*" in w.styles


@pytest.mark.parametrize("name", NAMES)
def test_one_self_contained_html5_page(name, pages) -> None:
    page = pages[name]
    assert page.text.startswith("<!DOCTYPE html>\n<html lang=")
    tree = page.tree()
    assert tree.get("lang") == (page.doc.meta.lang or "en")
    assert tree.find(".//title").text == page.doc.meta.title
    # nothing is loaded from anywhere: no stylesheet links, no script or image URLs
    assert [lk.get("href") for lk in tree.xpath("//link")] == ["data:,"]  # no icon to ask a server for
    assert tree.xpath("//script[@src]") == []
    assert all(src.startswith("data:") for src in tree.xpath("//img/@src"))
    style = tree.xpath("//style")
    assert len(style) == 1
    assert re.findall(r"url\(\s*(?!['\"]?data:)", style[0].text) == []
    assert "@import" not in style[0].text
    # the page's only script runs by its hash; the policy allows no network at all
    scripts = tree.xpath("//script")
    assert len(scripts) == 1
    csp = tree.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    digest = base64.b64encode(hashlib.sha256(scripts[0].text.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp and "unsafe-eval" not in csp and "http" not in csp
    # semantic HTML5, not the EPUB's XML vocabulary
    assert "epub:type" not in page.text and "xml:lang" not in page.text
    assert tree.xpath("//main") and tree.xpath("//nav")
    assert len(tree.xpath("//main//section[@role='doc-chapter']")) >= 1


@pytest.mark.parametrize("name", NAMES)
def test_ids_are_the_epubs_and_every_link_resolves(name, pages) -> None:
    page = pages[name]
    tree = page.tree()
    ids = _ids(tree)
    assert len(ids) == len(set(ids)), "duplicate ids"
    epub = _epub_ids(page)
    assert epub <= set(ids), sorted(epub - set(ids))
    extra = set(ids) - epub
    assert {i for i in extra if not (i.startswith("gloss-") and i.endswith("-def"))} <= PAGE_IDS
    for href in tree.xpath("//a/@href"):
        if href.startswith("#"):
            assert href[1:] in ids, href
        else:
            assert href.startswith(("https:", "http:", "mailto:")), href


@pytest.mark.parametrize("name", NAMES)
def test_editorial_notes_never_appear(name, pages) -> None:
    page = pages[name]
    for ann in page.doc.editorial_notes:
        assert f"note-{ann.id}" not in page.text
        for para in blocks_text(ann.body):
            assert para not in page.text
        if ann.anchor_id:
            assert f'id="{ann.anchor_id}"' not in page.text


def test_the_sample_has_an_editorial_note_to_leave_out(pages) -> None:
    assert pages["sample"].doc.editorial_notes


@pytest.mark.parametrize("name", NAMES)
def test_back_matter_headings_are_every_formats(name, pages) -> None:
    tree = pages[name].tree()
    assert [h.text_content() for h in tree.xpath("//div[@class='back-matter']/section/h1")] == \
        back_headings(pages[name].doc)


@pytest.mark.parametrize("name", NAMES)
def test_notes_link_to_their_call_and_back(name, pages) -> None:
    page = pages[name]
    tree = page.tree()
    asides = tree.xpath("//aside[@role='doc-footnote']")
    assert [a.get("id") for a in asides] == [n.note_id for n in sorted(page.doc.reader_notes, key=lambda n: n.number)]
    for aside in asides:
        back = aside.xpath(".//a[@role='doc-backlink']")[0]
        call = tree.get_element_by_id(back.get("href")[1:])
        assert call.get("href") == "#" + aside.get("id") and call.get("role") == "doc-noteref"
        # the note closes the section of its call
        assert aside.xpath("ancestor::section[1]")[0] is call.xpath("ancestor::section[@role='doc-chapter'][1]")[0]


@pytest.mark.parametrize("name", NAMES)
def test_terms_are_described_by_their_definition(name, pages) -> None:
    tree = pages[name].tree()
    terms = tree.xpath("//a[contains(concat(' ', @class, ' '), ' term ')]")
    assert terms or not pages[name].doc.glossary
    for a in terms:
        entry = a.get("href")[1:]
        assert a.get("aria-describedby") == entry + "-def"
        assert tree.get_element_by_id(entry + "-def").tag == "dd"


@pytest.mark.parametrize("name", NAMES)
def test_every_foreign_run_has_its_lang(name, pages) -> None:
    tree = pages[name].tree()
    body = tree.find("body")
    found = 0
    for el in body.iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style"):
            continue
        for text, holder in ((el.text, el), (el.tail, el.getparent())):
            if not text or not CJK_RUN.search(text):
                continue
            lang = next(a.get("lang") for a in (holder, *holder.iterancestors()) if a.get("lang"))
            assert lang == "zh-Hans", (text, lang)
            found += 1
    assert found or name == "tables"


def test_pinyin_is_tagged_as_romanised_chinese(pages) -> None:
    tree = pages["article"].tree()
    assert tree.xpath("//span[@class='romanized']/span[@lang='zh-Latn-pinyin']")


def test_cjk_face_travels_with_the_page(pages) -> None:
    style = pages["article"].tree().xpath("//style")[0].text
    assert "@font-face" in style and "data:font/otf;base64," in style


def test_images_inline_by_default_or_beside_the_page(pages) -> None:
    page = pages["tables"]
    srcs = page.tree().xpath("//img/@src")
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    files = render_edition(page.doc, OPTIONS, page.resolver, images="files")
    assert sorted(k for k in files if k) == [f"_files/image-{n:02d}.png" for n in range(1, len(files))]
    tree = lxml_html.document_fromstring(files[""])
    stem = Path(page.doc.source_path).stem if page.doc.source_path else "article"
    assert {s for s in tree.xpath("//img/@src")} == {stem + k for k in files if k}


def test_render_is_deterministic(pages) -> None:
    page = pages["sample"]
    assert render_files("html", page.doc, OPTIONS, page.resolver)[""] == page.data


def test_build_writes_the_page_and_with_the_flag_its_images_beside_it(tmp_path) -> None:
    """``publish build --format html [--html-images files]``: one file, or the page and
    ``<stem>_files/``; the flag is part of the cache key (switching it renders again)."""
    from PIL import Image as PILImage

    from publish.build import BuildRequest, build

    src = tmp_path / "source"
    src.mkdir()
    PILImage.new("RGB", (40, 20), (13, 118, 128)).save(src / "dot.png")
    (src / "pic.md").write_text("---\ntitle: Pictures\n---\n\nText.\n\n![A teal dot](dot.png)\n", encoding="utf-8")
    shutil.copytree(ROOT / "src" / "publish" / "styles", tmp_path / "styles")
    (tmp_path / "publish.toml").write_text("")
    out = tmp_path / "out"
    env = {"SOURCE_DATE_EPOCH": "1632873600"}
    report = build(BuildRequest(src / "pic.md", out, formats=("html",), lock_wait=0), environ=env)
    assert [r.status for r in report.results] == ["written"]
    page = (out / "pic.html").read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in page and not (out / "pic_files").exists()
    report = build(BuildRequest(src / "pic.md", out, formats=("html",), lock_wait=0, html_images="files"),
                   environ=env)
    assert [r.status for r in report.results] == ["written"]
    page = (out / "pic.html").read_text(encoding="utf-8")
    assert 'src="pic_files/image-01.png"' in page and "data:image/png" not in page
    assert (out / "pic_files" / "image-01.png").read_bytes() == (src / "dot.png").read_bytes()
