"""Minimal cases of the bugs the fuzzer found (all fixed; kept as regression tests)."""

from __future__ import annotations

from pathlib import Path


from fuzz_harness import check_document, epub_problems, write_case
from publish.build import load, render
from publish.diagnostics import PublishError
from publish.model import blocks_text
from publish.options import RenderOptions
from publish.resources import Resolver

HEAD = "---\ntitle: T\n---\n\n"


def _deep_list(depth: int, word: str) -> str:
    return "".join("  " * k + "- " + (word if k == depth - 1 else "") + "\n" for k in range(depth))


def _kept_or_refused(tmp_path: Path, md: str, words: list[str]) -> None:
    """The words reach the model, or the source is refused with a diagnostic."""
    src = write_case(tmp_path, md)
    try:
        doc = load(src)
    except PublishError as exc:
        assert any(d.severity == "error" and d.line > 1 for d in exc.diagnostics)
        return
    text = " ".join(blocks_text(doc.blocks))
    missing = [w for w in words if w not in text]
    assert not missing, f"silently dropped: {missing}"


def test_deep_list_text_is_kept_or_refused(tmp_path: Path) -> None:
    _kept_or_refused(tmp_path, HEAD + _deep_list(20, "deepword"), ["deepword"])


def test_text_after_a_deep_list_is_kept_or_refused(tmp_path: Path) -> None:
    deep = "  - - \n" + "".join("        " + "  " * k + "- \n" for k in range(17)) + "  " * 21 + "- deep\n"
    md = HEAD + deep + "  - after\n"
    _kept_or_refused(tmp_path, md, ["after"])


def test_deep_blockquote_text_is_kept_or_refused(tmp_path: Path) -> None:
    _kept_or_refused(tmp_path, HEAD + "> " * 40 + "deepquote\n", ["deepquote"])


def test_deep_blockquote_stays_on_the_pdf_page(tmp_path: Path) -> None:
    outcome = check_document(HEAD + "> " * 30 + "deepquote\n", tmp_path, words=["deepquote"])
    assert outcome.status in ("ok", "refused", "render-refused")
    assert not outcome.problems


def test_duplicate_span_id_is_refused_or_made_unique(tmp_path: Path) -> None:
    src = write_case(tmp_path, HEAD + "One [a]{#dup} and [b]{#dup}.\n")
    try:
        doc = load(src)
    except PublishError as exc:
        assert any(str(d).startswith(f"{src}:5:") for d in exc.diagnostics)
        return
    data = render("epub", doc, RenderOptions(epoch=1), Resolver.for_source(src))
    assert epub_problems(data) == []


def test_relative_file_link_is_refused_or_not_a_dangling_epub_link(tmp_path: Path) -> None:
    import io
    import re
    import zipfile

    src = write_case(tmp_path, HEAD + "A [b](other.md) link.\n")
    try:
        doc = load(src)
    except PublishError as exc:
        assert any(str(d).startswith(f"{src}:5:") for d in exc.diagnostics)
        return
    z = zipfile.ZipFile(io.BytesIO(render("epub", doc, RenderOptions(epoch=1), Resolver.for_source(src))))
    names = set(z.namelist())
    for name in names:
        if name.endswith(".xhtml"):
            for href in re.findall(r'href="([^"#:]+)', z.read(name).decode()):
                target = str(Path(name).parent / href)
                assert target in names, f"{name} links to {href}, which the EPUB does not hold"


def test_span_located_past_the_end_of_its_line_does_not_crash(tmp_path: Path) -> None:
    """Found by the long run (seed 20240607): locating a span's opening bracket
    read past the end of the line (IndexError escaped from the reader)."""
    from publish.build import read

    src = tmp_path / "a.md"
    src.write_bytes((Path(__file__).parent / "cases" / "span-locate-crash.md").read_bytes())
    doc, diag = read(src)  # must not raise
    assert doc is not None or diag.errors
    for d in diag.errors:
        assert d.path == str(src) and d.line >= 1 and d.col >= 1


def test_arabic_lam_alef_ligature_reads_back_from_the_pdf(tmp_path: Path) -> None:
    """Found by the long run: pdftotext writes the lam-alef ligature in visual order."""
    from fuzz_harness import extract, missing_words

    src = write_case(tmp_path, HEAD + "\u0627\u0627\u0627 \u0628\u0644\u0627\n")
    doc = load(src)
    out = tmp_path / "a.pdf"
    out.write_bytes(render("pdf", doc, RenderOptions(epoch=1), Resolver.for_source(src)))
    assert missing_words(["\u0627\u0627\u0627", "\u0628\u0644\u0627"], extract("pdf", out), broken_lines=True) == []
