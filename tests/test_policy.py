"""Issue #11's policy: warnings instead of refusals, --strict to promote them,
dates as people write them, one pass of diagnostics with root causes first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from publish.build import read
from publish.diagnostics import STRICT_SUFFIX
from publish.readers.dates import read_date

WARNS = "---\ntitle: T\nfoo: 1\n---\n\nText [x](other.md).\n"


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, SOURCE_DATE_EPOCH="1632873600")
    return subprocess.run([sys.executable, "-m", "publish", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=300)


def _diag_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ": warning: " in ln or ": error: " in ln]


# --------------------------------------------------------------------------- --strict


def test_strict_turns_each_warning_into_an_error_at_the_same_place(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(WARNS)
    lax = _cli(tmp_path, "check", "a.md")
    strict = _cli(tmp_path, "check", "--strict", "a.md")
    assert lax.returncode == 0 and strict.returncode == 1
    warnings = _diag_lines(lax.stderr)
    assert len(warnings) == 2 and all(": warning: " in w for w in warnings)
    assert _diag_lines(strict.stderr) == [w.replace(": warning: ", ": error: ") + STRICT_SUFFIX for w in warnings]


def test_strict_build_writes_nothing_even_when_cached(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(WARNS)
    ok = _cli(tmp_path, "build", "a.md", "--format", "docx", "-q")
    assert ok.returncode == 0, ok.stderr
    before = (tmp_path / "out" / "a.docx").read_bytes()
    r = _cli(tmp_path, "build", "a.md", "--format", "docx", "-q", "--strict")
    assert r.returncode == 1 and "a.md:3:1: error: unknown front matter key 'foo'" in r.stderr
    (tmp_path / "a.md").write_text(WARNS + "\nMore.\n")
    r = _cli(tmp_path, "build", "a.md", "--format", "docx", "-q", "--strict")
    assert r.returncode == 1
    assert (tmp_path / "out" / "a.docx").read_bytes() == before


def test_strict_from_config_and_no_strict_flag(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(WARNS)
    (tmp_path / "publish.toml").write_text("strict = true\n")
    assert _cli(tmp_path, "check", "a.md").returncode == 1
    assert _cli(tmp_path, "check", "--no-strict", "a.md").returncode == 0
    (tmp_path / "publish.toml").write_text("strict = 1\n")
    r = _cli(tmp_path, "check", "a.md")
    assert r.returncode == 2 and "'strict' has the wrong type" in r.stderr
    (tmp_path / "publish.toml").write_text("strickt = true\n")
    r = _cli(tmp_path, "check", "a.md")
    assert r.returncode == 2 and "did you mean 'strict'?" in r.stderr


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("text, iso", [
    ("2006", "2006"), ("2006-07", "2006-07"), ("2006-07-17", "2006-07-17"), ("2021-09-01T10:00:00Z", "2021-09-01"),
])
def test_iso_dates_are_taken_silently(text: str, iso: str) -> None:
    assert read_date(text) == (iso, None)


@pytest.mark.parametrize("text, iso", [
    ("July 17, 2006", "2006-07-17"), ("Jul 17 2006", "2006-07-17"), ("17 July 2006", "2006-07-17"),
    ("17th of July, 2006", "2006-07-17"), ("Monday, July 17, 2006", "2006-07-17"), ("Mon, 17 Jul 2006", "2006-07-17"),
    ("July 2006", "2006-07"), ("2006/07/17", "2006-07-17"), ("17.07.2006", "2006-07-17"),
    ("07/17/2006", "2006-07-17"), ("Sept. 3, 2021", "2021-09-03"),
])
def test_unambiguous_dates_are_read_with_a_note(text: str, iso: str) -> None:
    got, note = read_date(text)
    assert got == iso and note and iso in note


@pytest.mark.parametrize("text, why", [
    ("03/04/2006", "ambiguous"), ("2006-02-30", "not a date in the calendar"), ("yesterday", "cannot read"),
    ("Juli 17, 2006", "cannot read"),
])
def test_unreadable_or_ambiguous_dates_are_left_out(text: str, why: str) -> None:
    got, note = read_date(text)
    assert got == "" and (why in note or (why == "cannot read" and "not a date publish can read" in note))


def test_front_matter_date_keeps_its_text_and_warns(tmp_path: Path) -> None:
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\ndate: July 17, 2006\n---\n\nText.\n")
    doc, diag = read(src)
    assert doc is not None and doc.meta.date == "2006-07-17" and doc.meta.date_text == "July 17, 2006"
    [w] = diag.warnings
    assert (w.line, w.col) == (3, 1) and "2006-07-17" in w.message
    src.write_text("---\ntitle: T\ndate: 2006-07-17\n---\n\nText.\n")
    doc, diag = read(src)
    assert doc.meta.date == "2006-07-17" and doc.meta.date_text == "" and not diag.items
    src.write_text("---\ntitle: T\ndate: sometime in 2006\n---\n\nText.\n")
    doc, diag = read(src)
    assert doc.meta.date == "" and doc.meta.date_text == "sometime in 2006" and len(diag.warnings) == 1


# --------------------------------------------------------------------------- one pass


SIDE = "---\ntitle: T\nglossary: g.yaml\npeople: p.yaml\nanotations: n.yaml\n---\n\n" \
       "The [CAC]{.term} and [x]{.term ref=cac} said [Musk]{.speaker ref=muks}.\n"


def _check(tmp_path: Path, source: str, **files: str) -> list[str]:
    (tmp_path / "a.md").write_text(source, encoding="utf-8")
    for name, text in files.items():
        (tmp_path / name.replace("_", ".")).write_text(text, encoding="utf-8")
    return _diag_lines(_cli(tmp_path, "check", "a.md").stderr)


@pytest.mark.parametrize("glossary, first", [
    ("- id: cac\n  term: CAC\n  definition: [x\n", "g.yaml:4:1: error: YAML syntax error"),
    ("", "g.yaml:1:1: error: the glossary file is empty"),
    ("id: cac\nterm: CAC\n", "g.yaml:1:1: error: the glossary file must be a YAML list of entries"),
    ("- id: cac\n  term: CAC\n\tdefinition: x\n", "g.yaml:3:1: error: YAML syntax error: a tab indents line 3"),
])
def test_a_side_file_that_fails_is_named_first_and_explains_the_rest(tmp_path: Path, glossary: str, first: str) -> None:
    lines = _check(tmp_path, SIDE, g_yaml=glossary, p_yaml="- id: musk\n  name: Elon Musk\n  rol: CEO\n")
    assert lines[0].startswith(first), lines
    assert not [ln for ln in lines if "unknown glossary term" in ln], lines  # follow-ups suppressed
    # every other problem is still reported in the same run, with a suggestion
    assert "p.yaml:3:3: error: unknown key 'rol': did you mean 'role'?" in lines
    assert "a.md:5:1: warning: unknown front matter key 'anotations' (ignored): did you mean 'annotations'?" in lines
    assert "a.md:8:46: error: unknown person 'muks': did you mean ref=musk?" in lines


def test_a_missing_side_file_is_a_root_cause(tmp_path: Path) -> None:
    lines = _check(tmp_path, SIDE, p_yaml="- id: musk\n  name: Elon Musk\n")
    assert lines[0].startswith("a.md:3:1: error:") and "g.yaml" in lines[0], lines
    assert not [ln for ln in lines if "unknown glossary term" in ln], lines


def test_unknown_term_suggests_the_closest_entry(tmp_path: Path) -> None:
    lines = _check(tmp_path, "---\ntitle: T\nglossary: g.yaml\n---\n\nThe [x]{.term ref=cax} and [CAK]{.term}.\n",
                   g_yaml="- id: cac\n  term: CAC\n  definition: The regulator.\n")
    assert "a.md:6:5: error: unknown glossary term 'cax': did you mean ref=cac?" in lines
    assert any("unknown glossary term for 'CAK'" in ln and "did you mean ref=cac?" in ln for ln in lines), lines


def test_non_utf8_names_the_encoding_and_the_iconv_command(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_bytes(b"---\ntitle: Caf\xe9\n---\n\nNa\xefve.\n")
    err = _cli(tmp_path, "check", "a.md").stderr
    assert "a.md:2:11: error: not UTF-8: byte 0xe9 cannot be decoded; the file looks like Windows-1252" in err
    assert "iconv -f CP1252 -t UTF-8 a.md" in err
    (tmp_path / "a.md").write_bytes("---\ntitle: 中文\n---\n\n这是一个中文文件，用于测试编码。\n".encode("gb18030"))
    assert "iconv -f GB18030 -t UTF-8 a.md" in _cli(tmp_path, "check", "a.md").stderr
    (tmp_path / "a.md").write_bytes("---\ntitle: x\n---\n\ntext\n".encode("utf-16"))
    assert "a.md:1:1: error: the file is UTF-16LE" in _cli(tmp_path, "check", "a.md").stderr


def test_a_level_one_heading_without_front_matter_is_the_title(tmp_path: Path) -> None:
    from publish.model import Heading, nodes

    src = tmp_path / "a.md"
    src.write_text("Semantic Versioning\n===\n\nSummary\n-------\n\nText.\n\nDetails\n-------\n\nMore.\n")
    doc, diag = read(src)
    assert doc is not None and doc.meta.title == "Semantic Versioning"
    [w] = diag.warnings
    assert (w.line, w.col) == (1, 1) and "taken as the title" in w.message
    # the title heading is gone and its sections move up a level (Pandoc's --shift-heading-level-by=-1)
    assert [(h.level, h.id) for h in nodes(doc.blocks) if isinstance(h, Heading)] == [(1, "summary"), (1, "details")]
    src.write_text("Text first.\n\n# A heading\n")
    doc, diag = read(src)
    assert doc is None and "missing required metadata 'title'" in diag.errors[0].message


# --------------------------------------------------------------------------- issue #11 phase 2: degrade, never refuse

DEGRADES = ("---\ntitle: T\n---\n# Top\n\n"
            "A ![badge](https://img.shields.io/x.svg) and <img src=\"https://x.org/y.png\">.\n\n"  # line 6
            "See [nowhere](#nowhere), [here](#) and [Top].\n\n"  # line 8
            "Copyright <year> <name of author>, <b target=\"_blank\" xyz=\"1\">b</b>.\n")  # line 10


def test_new_warnings_keep_their_place_and_strict_promotes_each(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(DEGRADES)
    lax = _cli(tmp_path, "check", "a.md")
    strict = _cli(tmp_path, "check", "--strict", "a.md")
    assert lax.returncode == 0 and strict.returncode == 1, lax.stderr
    warnings = _diag_lines(lax.stderr)
    where = [w.split(": warning: ")[0] for w in warnings]
    assert where == ["a.md:6:12", "a.md:6:46", "a.md:8:15", "a.md:8:33", "a.md:10:11", "a.md:10:18", "a.md:10:36"], warnings
    assert _diag_lines(strict.stderr) == [w.replace(": warning: ", ": error: ") + STRICT_SUFFIX for w in warnings]


def test_what_degrades_keeps_its_text(tmp_path: Path) -> None:
    from publish.model import Link, nodes, plain_text

    (tmp_path / "a.md").write_text(DEGRADES)
    doc, diag = read(tmp_path / "a.md")
    assert doc is not None and not diag.errors
    text = plain_text(doc.blocks)
    for words in ("badge", "image not included: https://x.org/y.png", "nowhere", "here", "<year>", "<name of author>"):
        assert words in text
    links = [n.url for n in nodes(doc) if isinstance(n, Link)]
    assert links == ["#top"]  # [Top] is an implicit header reference; the others lost their link
