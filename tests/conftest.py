"""Shared fixtures: the real article's model and the manuscript it must carry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "source" / "article.md"
MANUSCRIPT_DIR = ROOT.parent / "shared" / "manuscript"


def manuscript_lines() -> list[str]:
    files = sorted(MANUSCRIPT_DIR.glob("*.txt")) if MANUSCRIPT_DIR.is_dir() else []
    if not files:
        if os.environ.get("CI"):
            raise AssertionError(f"manuscript not found in {MANUSCRIPT_DIR}")
        pytest.skip(f"manuscript not found in {MANUSCRIPT_DIR}")
    return [ln for ln in files[0].read_text(encoding="utf-8").splitlines() if ln.strip()]


@pytest.fixture(scope="session")
def manuscript() -> list[str]:
    return manuscript_lines()


@pytest.fixture(scope="session")
def article_doc():
    from publish.build import load

    return load(ARTICLE)


_STRAIGHT = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


def straight(text: str) -> str:
    """Undo the typography transform (curly quotes) to compare output text with the manuscript."""
    return text.translate(_STRAIGHT)


def back_headings(doc) -> list[str]:
    """The back-matter headings every format shows, in order (publish.backmatter)."""
    from publish.backmatter import back_matter

    b = back_matter(doc)
    present = (("glossary", b.glossary), ("voices", b.voices), ("sources", b.sources), ("colophon", True))
    return [b.labels[key] for key, items in present if items]


def small_project(tmp_path: Path) -> Path:
    """A small project: the refs fixture with its side files and a private copy of
    styles/; returns the source's path."""
    import shutil

    fixture = ROOT / "tests" / "fixtures" / "reader"
    src = tmp_path / "proj" / "source"
    src.mkdir(parents=True)
    for name in ("refs.md", "refs.glossary.yaml", "refs.annotations.yaml", "refs.people.yaml"):
        shutil.copy(fixture / name, src / name)
    shutil.copytree(ROOT / "src" / "publish" / "styles", tmp_path / "proj" / "styles")
    return src / "refs.md"


def chinese_name(entry) -> str:
    """A glossary entry's Chinese name (its zh-Hans native name), or ""."""
    return next((n.text for n in entry.native if n.lang.lower().startswith("zh")), "")
