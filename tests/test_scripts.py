"""Native-script glossary names in any language (issue 14): Arabic (right to left),
Greek, Cyrillic, Devanagari and Chinese, tagged with their BCP 47 language in all
formats, printed with a real font (no .notdef: the PDF writer fails on it)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree

ARTICLE = """---
title: Words in many scripts
lang: en
glossary: glossary.yaml
---

The [algorithm]{.term ref=algorithm} came to us through Arabic; [democracy]{.term ref=democracy}
through Greek; [samovar]{.term ref=samovar} from Russian; [karma]{.term ref=karma} from Sanskrit
and Hindi; [data security]{.term ref=dsl} from Chinese law.
"""

GLOSSARY = """\
- id: algorithm
  term: algorithm
  definition: A finite list of instructions, named after al-Khwārizmī.
  native: {lang: ar, text: خوارزمية, romanized: khawārizmiyya}
- id: democracy
  term: democracy
  definition: Rule by the people.
  native: {lang: el, text: δημοκρατία, romanized: dēmokratía, romanized-lang: el-Latn}
- id: samovar
  term: samovar
  definition: An urn for boiling water for tea.
  native:
    - {lang: ru, text: самовар, romanized: samovar}
- id: karma
  term: karma
  definition: Action and its consequences.
  native: {lang: hi, text: कर्म, romanized: karma}
- id: dsl
  term: Data Security Law
  definition: China's law on data handling, in force since 2021.
  zh: 数据安全法
  pinyin: Shùjù Ānquán Fǎ
"""

NATIVE = {"ar": "خوارزمية", "el": "δημοκρατία", "ru": "самовар", "hi": "कर्म", "zh-Hans": "数据安全法"}
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    proj = tmp_path_factory.mktemp("scripts")
    (proj / "article.md").write_text(ARTICLE, encoding="utf-8")
    (proj / "glossary.yaml").write_text(GLOSSARY, encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "publish", "build", "article.md", "--out", "out", "-q",
                        "--format", "pdf,EPUB,docx,html"], cwd=proj, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr, r.stderr
    return proj / "out"


def _spans(html: bytes) -> dict[str, etree._Element]:
    tree = etree.fromstring(html, etree.HTMLParser()) if not html.lstrip().startswith(b"<?xml") \
        else etree.fromstring(html)
    out = {}
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        lang = el.get("lang") or el.get("{http://www.w3.org/XML/1998/namespace}lang")
        if lang in NATIVE and (el.text or "") == NATIVE[lang]:
            out[lang] = el
    return out


def test_html_and_epub_tag_every_native_name_and_set_arabic_right_to_left(built: Path) -> None:
    pages = [("html", (built / "article.html").read_bytes())]
    with zipfile.ZipFile(built / "article.epub") as z:
        pages += [("epub", z.read(n)) for n in z.namelist() if n.endswith("glossary.xhtml")]
    assert len(pages) == 2
    for fmt, page in pages:
        spans = _spans(page)
        assert set(spans) == set(NATIVE), (fmt, set(spans))
        assert spans["ar"].get("dir") == "rtl", fmt
        assert all(spans[k].get("dir") is None for k in ("el", "ru", "hi", "zh-Hans")), fmt
        text = page.decode("utf-8")
        assert 'lang="el-Latn"' in text and 'lang="ar-Latn"' in text and 'lang="zh-Latn-pinyin"' in text, fmt


def test_docx_tags_every_native_name_and_sets_arabic_right_to_left(built: Path) -> None:
    with zipfile.ZipFile(built / "article.docx") as z:
        body = etree.fromstring(z.read("word/document.xml"))
    runs = {}
    for r in body.iter(f"{W}r"):
        text = "".join(t.text or "" for t in r.iter(f"{W}t"))
        for lang, native in NATIVE.items():
            if text == native:
                runs[lang] = r
    assert set(runs) == set(NATIVE)

    def lang_of(r, attr="val"):
        el = r.find(f"{W}rPr/{W}lang")
        return None if el is None else el.get(f"{W}{attr}")

    assert lang_of(runs["ar"], "bidi") == "ar" and runs["ar"].find(f"{W}rPr/{W}rtl") is not None
    assert lang_of(runs["el"]) == "el" and lang_of(runs["ru"]) == "ru" and lang_of(runs["hi"]) == "hi"
    assert lang_of(runs["zh-Hans"], "eastAsia") == "zh-CN"
    assert all(runs[k].find(f"{W}rPr/{W}rtl") is None for k in ("el", "ru", "hi", "zh-Hans"))


def test_pdf_prints_every_script_with_its_font_and_tags_the_languages(built: Path) -> None:
    from pypdf import PdfReader

    pdf = PdfReader(built / "article.pdf")
    fonts = set()
    for page in pdf.pages:
        for f in (page.get("/Resources", {}).get("/Font", {}) or {}).values():
            fonts.add(str(f.get_object().get("/BaseFont")))
    joined = " ".join(fonts)
    assert "Noto-Naskh-Arabic" in joined and "Noto-Serif-Devanagari" in joined and "CJK" in joined, joined
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(built / "article.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    for lang in ("el", "ru", "zh-Hans"):
        assert NATIVE[lang] in text, lang
    # PDF/UA: the structure tree carries each native name's language
    langs: set[str] = set()
    todo, seen = [pdf.trailer["/Root"]["/StructTreeRoot"]], set()
    while todo:
        node = todo.pop()
        ref = getattr(node, "idnum", None)
        if ref is not None:
            if ref in seen:
                continue
            seen.add(ref)
        node = node.get_object()
        if isinstance(node, dict):
            if "/Lang" in node:
                langs.add(str(node["/Lang"]))
            kids = node.get("/K")
            if kids is not None:
                todo.extend(kids if isinstance(kids, list) else [kids])
        elif isinstance(node, list):
            todo.extend(node)
    assert set(NATIVE) <= langs, langs
