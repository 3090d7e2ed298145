"""`publish check` predicts what the writers would refuse, so that check ok
means build ok: characters no font has (the PDF) and images a writer cannot
embed (python-docx's header parser, WeasyPrint's colour modes)."""

from __future__ import annotations

import io
import logging
import re
import struct
import unicodedata
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from publish import fonts
from publish.build import read, render
from publish.cli import main
from publish.diagnostics import RenderError
from publish.options import RenderOptions
from publish.resources import Resolver

HEAD = "---\ntitle: T\n---\n"
# Letters of scripts (Toto, Vithkuqi, Tangsa: Unicode 14) that no font installed
# here has. Not emoji: an emoji font may well be installed (issue 11 adds one).
NO_FONT = "\U0001E290\U00010570\U00016A70"


@pytest.fixture
def no_font() -> None:
    cov = fonts.system_coverage()
    if cov is None:
        pytest.skip("fontconfig (fc-list) is not available")
    covered = [f"U+{ord(c):04X}" for c in NO_FONT if ord(c) in cov]
    if covered:
        pytest.skip(f"a font for {covered} is installed: choose other test characters")


def _check(tmp_path: Path, md: str, files: dict[str, bytes] | None = None) -> tuple[int, str]:
    for name, data in (files or {}).items():
        (tmp_path / name).write_bytes(data)
    src = tmp_path / "a.md"
    src.write_text(md, encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(src)])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.stderr.replace(str(tmp_path) + "/", "")


def _renders(tmp_path: Path, fmt: str) -> bool:
    src = tmp_path / "a.md"
    doc, _ = read(src, formats=())  # the model without the predictions
    try:
        render(fmt, doc, RenderOptions(epoch=1), Resolver.for_source(src))
    except (RenderError, Exception):  # noqa: BLE001 - any refusal counts
        return False
    return True


# --------------------------------------------------------------------------- glyphs


def test_a_character_no_font_has_is_a_warning_at_its_first_use_and_a_stand_in_in_the_pdf(tmp_path: Path, no_font) -> None:
    code, err = _check(tmp_path, HEAD + "Plain line.\n\nA letter \U0001E290 here, and \U0001E290 again.\n")
    assert code == 0, err
    assert "a.md:6:10: warning: PDF: no font in styles/ or on this system has '\U0001E290' (U+1E290)" in err
    assert err.count("U+1E290") == 2  # once, the character named with its stand-in
    assert _renders(tmp_path, "pdf")  # no box: a visible stand-in
    src = tmp_path / "a.md"
    doc, _ = read(src)
    pdf = render("pdf", doc, RenderOptions(epoch=1), Resolver.for_source(src))
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "[U+1E290]" in text and "\U0001E290" not in text
    res = CliRunner().invoke(main, ["check", "--strict", str(src)])
    assert res.exit_code == 1 and "a.md:6:10: error: PDF: no font" in res.stderr.replace(str(tmp_path) + "/", "")


def test_a_character_in_a_side_file_or_the_title_is_found_too(tmp_path: Path, no_font) -> None:
    md = ("---\ntitle: \"Dragons \U00010570\"\nglossary: g.yaml\n---\n"
          "The [CAC]{.term} rules.\n")
    code, err = _check(tmp_path, md, {"g.yaml": "- id: cac\n  term: CAC\n  definition: A \U00016A70 regulator.\n".encode()})
    assert code == 0, err
    assert "U+10570" in err and "U+16A70" in err
    assert re.search(r"g\.yaml:\d+:\d+: warning: PDF: no font .*U\+16A70", err), err


def test_the_glyph_check_concerns_the_pdf_only(tmp_path: Path, no_font) -> None:
    src = tmp_path / "a.md"
    src.write_text(HEAD + "A letter \U0001E290 here.\n", encoding="utf-8")
    doc, diag = read(src, formats=("epub", "docx"))
    assert doc is not None and not diag.items
    doc, diag = read(src, formats=("pdf",))
    assert doc is not None and any("U+1E290" in d.message for d in diag.warnings)


def test_severity_of_a_missing_glyph_is_decided_in_one_place(tmp_path: Path, monkeypatch, no_font) -> None:
    src = tmp_path / "a.md"
    src.write_text(HEAD + "A letter \U0001E290 here.\n", encoding="utf-8")
    monkeypatch.setattr(fonts, "MISSING_GLYPH_SEVERITY", "error")
    doc, diag = read(src)
    assert doc is None and [d.severity for d in diag.items if "U+1E290" in d.message] == ["error"]


def test_the_prediction_agrees_with_weasyprint(tmp_path: Path, no_font) -> None:
    """Every control, format and separator character and a sample of all the
    others, laid out by WeasyPrint with the house fonts: the characters it
    draws as .notdef are exactly those predicted."""
    from weasyprint import HTML

    cov = fonts.system_coverage()
    if cov is None:
        pytest.skip("fontconfig (fc-list) is not available")
    chars = {chr(c) for c in range(0x110000)
             if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zs", "Zl", "Zp") or 0xFE00 <= c <= 0xFE0F}
    chars |= {chr(c) for c in range(0x20, 0x30000, 97) if unicodedata.category(chr(c)) not in ("Cn", "Co", "Cs")}
    chars |= set(NO_FONT + "\U0001F409\U0001F600\u263a\u2713\u4e2d\u0645\u05e9\ud55c")
    chars -= set("<&")
    predicted = {c for c in chars if fonts.needs_glyph(c) and (ord(c) not in cov or fonts._always_box(c))}
    records: list[str] = []

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("weasyprint")
    handler, level = Grab(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        body = " ".join(f"<span>a{c}b</span>" for c in sorted(chars))
        HTML(string="<html><body style='font-family: \"Noto Serif\", \"Noto Serif CJK SC\", serif'>"
                    f"<p>{body}</p></body></html>").write_pdf()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    drawn_as_box = {chr(int(m.group(1), 16)) for r in records if (m := re.search(r"\(U\+([0-9A-F]+)\)", r))}
    assert predicted == drawn_as_box, (sorted(f"U+{ord(c):04X}" for c in predicted - drawn_as_box)[:20],
                                       sorted(f"U+{ord(c):04X}" for c in drawn_as_box - predicted)[:20])


# --------------------------------------------------------------------------- images


def _png(mode: str = "RGB") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, (40, 30)).save(buf, "PNG")
    return buf.getvalue()


def _png_with_phys(pixels_per_metre: int) -> bytes:
    data = _png()
    body = b"pHYs" + struct.pack(">IIB", pixels_per_metre, pixels_per_metre, 1)
    chunk = struct.pack(">I", 9) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    at = data.index(b"IDAT") - 4
    return data[:at] + chunk + data[at:]


def _cmyk_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("CMYK", (40, 30)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.parametrize("name, data, fmt, message", [
    ("tiny-dpi.png", _png_with_phys(1), "docx", "resolution is under 1 dpi"),
    ("cmyk.jpg", _cmyk_jpeg(), "docx", "cannot read its header"),
    ("deep.png", _png("I;16"), "pdf", "the PDF cannot hold a I;16 image"),
], ids=["png-under-1-dpi", "jpeg-without-jfif", "png-16-bit"])
def test_an_image_a_writer_cannot_embed_is_an_error_at_its_use(tmp_path: Path, name: str, data: bytes, fmt: str,
                                                                message: str) -> None:
    code, err = _check(tmp_path, HEAD + f"See\n![A picture]({name}).\n", {name: data})
    assert code == 1, err
    assert f"a.md:5:14: error: image '{name}': " in err and message in err, err  # at its reference
    assert not _renders(tmp_path, fmt)  # the writer does refuse it


def test_ordinary_images_pass(tmp_path: Path) -> None:
    code, err = _check(tmp_path, HEAD + "See\n![A](a.png) ![B](b.png) ![C](c.png).\n",
                       {"a.png": _png(), "b.png": _png("RGBA"), "c.png": _png_with_phys(2835)})
    assert code == 0, err
