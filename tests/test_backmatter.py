"""Back matter and labels: built once from the model, the same for every writer."""

from __future__ import annotations

from dataclasses import replace

from publish.backmatter import back_matter, labels_for, note_head, published_line
from publish.model import Annotation, Source
from samples import sample_document


def test_labels_fall_back_to_english_for_unknown_languages() -> None:
    en = labels_for("en-GB")
    assert en["glossary"] == "Glossary"
    assert labels_for("xx-Latn")["voices"] == en["voices"]
    assert en.names(("A", "B", "C")) == "A, B and C"


def test_published_line_never_says_published_by_a_date() -> None:
    doc = sample_document()
    labels = labels_for("en")
    no_publisher = replace(doc, meta=replace(doc.meta, publisher="", date="2006-07-17"))
    assert published_line(no_publisher, labels) == "Published 17 July 2006."
    both = replace(doc, meta=replace(doc.meta, publisher="FT", date="2021-09"))
    assert published_line(both, labels) == "Published by FT, September 2021."
    neither = replace(doc, meta=replace(doc.meta, publisher="", date=""))
    assert published_line(neither, labels) == ""


def test_back_matter_content() -> None:
    doc = sample_document()
    back = back_matter(doc)
    assert [g.anchor for g in back.glossary] == [e.anchor for e in doc.glossary]
    assert [v.anchor for v in back.voices] == [p.anchor for p in doc.people]
    # every source of every reader note, in note order, dated as readers read dates
    cited = [(a.number, s.title) for a in doc.reader_notes for s in a.sources]
    assert [(s.note_number, s.source.title) for s in back.sources] == sorted(cited)
    assert any(line.startswith("Written by ") for line in back.colophon)


def test_editorial_sources_stay_out_and_note_heads_carry_titles() -> None:
    doc = sample_document()
    secret = Annotation(id="desk", kind="editorial", body=(), sources=(Source("Internal memo"),))
    doc = replace(doc, annotations=doc.annotations + (secret,))
    assert "Internal memo" not in [s.source.title for s in back_matter(doc).sources]
    labels = labels_for("en")
    assert note_head(Annotation(id="x", kind="update", body=(), title="The review"), labels) == "Update. The review"
    assert note_head(Annotation(id="y", kind="footnote", body=()), labels) == ""


def test_a_date_written_in_words_is_shown_as_written() -> None:
    from publish.backmatter import display_date

    doc = sample_document()
    words = replace(doc.meta, date="2006-07-17", date_text="July 17, 2006")
    assert display_date(words) == "July 17, 2006"
    assert display_date(replace(words, date_text="")) == "17 July 2006"
    assert published_line(replace(doc, meta=replace(words, publisher="")), labels_for("en")) == \
        "Published July 17, 2006."
