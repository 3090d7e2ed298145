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
