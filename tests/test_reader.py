"""Reader fixtures: small .md in, model dump out, side by side (tests/fixtures/reader)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dump import dump
from publish.build import load
from publish.model import NoteRef, SpeakerRef, TermRef, nodes

FIXTURES = Path(__file__).parent / "fixtures" / "reader"
CASES = sorted(p.stem for p in FIXTURES.glob("*.md"))


@pytest.mark.parametrize("name", CASES)
def test_fixture(name: str) -> None:
    got = dump(load(FIXTURES / f"{name}.md"))
    expected_path = FIXTURES / f"{name}.expected"
    if os.environ.get("UPDATE_FIXTURES"):
        expected_path.write_text(got, encoding="utf-8")
    assert got == expected_path.read_text(encoding="utf-8")


def test_model_is_immutable_and_references_resolve_by_id() -> None:
    doc = load(FIXTURES / "refs.md")
    with pytest.raises(AttributeError):
        doc.meta.title = "x"  # type: ignore[misc]
    refs = [i for i in nodes(doc) if isinstance(i, (TermRef, NoteRef, SpeakerRef))]
    assert {type(r) for r in refs} == {TermRef, NoteRef, SpeakerRef}
    # every reference is an id that the document resolves to its (transformed) record
    for r in refs:
        if isinstance(r, TermRef):
            assert doc.entry(r.ref).first_use_id == "use-cac-1"
        elif isinstance(r, NoteRef):
            assert doc.note(r.ref).anchor_id == r.id
        else:
            assert doc.person(r.ref).first_use_id is not None


def test_reader_notes_numbered_once_editorial_unnumbered() -> None:
    doc = load(FIXTURES / "refs.md")
    assert [a.number for a in doc.reader_notes] == [1, 2]
    assert [a.number for a in doc.editorial_notes] == [None]


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    src = tmp_path / "a.md"
    src.write_bytes(b"\xef\xbb\xbf---\r\ntitle: T\r\n---\r\nOne line.\r\n\r\nTwo.\r\n")
    doc = load(src)
    assert doc.meta.title == "T"
    assert len(doc.blocks) == 2


def test_pandoc_reads_the_fixtures_into_the_same_blocks() -> None:
    """Pandoc compatibility: the same headings and paragraphs for every fixture."""
    pypandoc = pytest.importorskip("pypandoc")
    import json

    for name in CASES:
        ast = json.loads(pypandoc.convert_file(str(FIXTURES / f"{name}.md"), "json", format="markdown"))
        doc = load(FIXTURES / f"{name}.md")
        kinds = [b["t"] for b in ast["blocks"]]
        assert kinds.count("Header") == sum(1 for b in doc.blocks if type(b).__name__ == "Heading"), name
        assert "Math" not in json.dumps(ast), name
