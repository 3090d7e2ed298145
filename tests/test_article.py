"""The semantic source carries the manuscript verbatim, and the editions' additions."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from publish.build import read
from publish.model import Div, Heading, Paragraph, plain_text

from conftest import ARTICLE, straight


def _model_paragraphs(doc) -> list[str]:
    return [straight(p) for p in _typeset_paragraphs(doc)]


def _typeset_paragraphs(doc) -> list[str]:
    out = [doc.meta.standfirst, doc.meta.series_note]
    for b in doc.blocks:
        if isinstance(b, (Paragraph, Heading)):
            out.append(plain_text(b.content))
        elif isinstance(b, Div):
            out.extend(plain_text(p.content) for p in b.content if isinstance(p, Paragraph))
    return out


def _sentences(paragraphs: list[str]) -> list[str]:
    text = "\n".join(paragraphs)
    return [s for s in re.split(r"(?<=[.!?\"])\s+", text) if s]


def test_every_manuscript_paragraph_verbatim_and_in_order(article_doc, manuscript) -> None:
    got = _model_paragraphs(article_doc)
    assert len(got) == len(manuscript)
    for n, (g, m) in enumerate(zip(got, manuscript), start=1):
        assert g == m, f"manuscript line {n} differs"


def test_sentence_for_sentence(article_doc, manuscript) -> None:
    assert _sentences(_model_paragraphs(article_doc)) == _sentences(manuscript)


def test_quotes_are_typeset_and_nothing_else_changes(article_doc, manuscript) -> None:
    typeset = _typeset_paragraphs(article_doc)
    joined = "\n".join(typeset)
    assert '"' not in joined and "'" not in joined
    assert "\u201cIf Tesla used cars to spy in China or anywhere, we will get shut down,\u201d Musk told" in joined
    assert "Xi\u2019s data vision" in joined
    assert "a \u201ctechno-authoritarian superpower\u201d in which" in joined


def test_check_reports_no_error_and_no_warning() -> None:
    doc, diag = read(ARTICLE)
    assert doc is not None
    assert [str(d) for d in diag.items] == []


def test_crossheads_are_sections(article_doc) -> None:
    heads = [plain_text(b.content) for b in article_doc.blocks if isinstance(b, Heading)]
    assert heads == ["Hit on corporates", "Listing tensions", "Techno-authoritarian state"]


def test_metadata(article_doc) -> None:
    m = article_doc.meta
    assert m.authors == ("James Kynge", "Sun Yu")
    assert m.date == "2021-09" and m.lang == "en-GB" and m.rights == "© Financial Times"
    assert m.publisher == "Financial Times"
    assert m.title and m.title_note and m.identifier.startswith("urn:uuid:")


def test_glossary_annotations_people_sizes(article_doc) -> None:
    assert len(article_doc.glossary) >= 20
    for e in article_doc.glossary:
        assert e.definition and e.use_count >= 1, e.id
        assert e.first_use_id, e.id
    kinds = Counter(a.kind for a in article_doc.annotations)
    assert sum(kinds.values()) >= 12 and kinds["editorial"] >= 3
    assert {"context", "update", "source"} <= set(kinds)
    terms = " ".join(f"{e.term} {e.expansion} {' '.join(e.aliases)}" for e in article_doc.glossary).casefold()
    for needle in ("cac", "personal information protection law", "data security law", "renminbi",
                   "social credit", "smart cit", "important data", "core data", "factor of production",
                   "common prosperity", "security review", "guizhou-cloud", "21vianet",
                   "controllable anonymity", "digital leninism", "techno-authoritarian"):
        assert needle in terms, needle
    assert all(p.first_use_id for p in article_doc.people)
    assert len(article_doc.people) >= 8


def test_pandoc_reads_the_source() -> None:
    pypandoc = pytest.importorskip("pypandoc")
    ast = json.loads(pypandoc.convert_file(str(ARTICLE), "json", format="markdown"))
    kinds = [b["t"] for b in ast["blocks"]]
    assert kinds.count("Header") == 3
    assert "Math" not in json.dumps(ast)
    spans = json.dumps(ast).count('"Span"')
    assert spans > 50
