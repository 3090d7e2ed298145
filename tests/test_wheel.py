"""pip install and go (issue 14): the wheel, installed into a fresh virtual environment
outside the checkout, runs ``publish init`` and ``publish build`` in an empty folder and
gives a valid PDF, EPUB, DOCX and HTML. Nothing may come from the checkout: the default
styles, templates, labels and schemas are package data.

Slow (one wheel build, one venv with the dependencies from the local index, one
build of all formats, one EPUBCheck): ~60-90 s on two shared cores; everything is
done once, in a module fixture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(args, cwd: Path, env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    r = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{args}\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # Build from a copy of the tree (pip writes build/ and *.egg-info beside the sources).
    tree = base / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    dist = base / "dist"
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-w", dist, "--quiet"], cwd=tree, env=env)
    (wheel,) = dist.glob("publish-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=base, env=env)
    _run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel], cwd=base, env=env)
    shutil.rmtree(tree)  # nothing of the sources is left to lean on
    return venv, wheel, base, env


def test_the_wheel_carries_its_defaults(installed) -> None:
    _venv, wheel, _base, _env = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("styles/print.css", "styles/epub.css", "styles/html.css", "styles/reference.docx",
                 "templates/pdf/article.html", "templates/epub/glossary.xhtml", "labels/en.yaml",
                 "schemas/glossary.schema.json", "schemas/annotations.schema.json", "schemas/people.schema.json",
                 "skeleton/article.md", "skeleton/publish.toml"):
        assert f"publish/{name}" in names, name


def test_init_then_build_in_an_empty_folder_gives_valid_outputs(installed) -> None:
    venv, _wheel, base, env = installed
    publish = venv / "bin" / "publish"
    where = _run([venv / "bin" / "python", "-c", "import publish; print(publish.__file__)"], cwd=base, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv) and ROOT.as_posix() not in where.stdout
    assert _run([publish, "--version"], cwd=base, env=env).stdout.startswith("publish, version ")

    _run([publish, "init", "article"], cwd=base, env=env)
    proj = base / "article"
    assert not (proj / "styles").exists()  # the defaults come from the package
    first = (proj / "glossary.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=file://") and str(venv) in first
    r = _run([publish, "build"], cwd=proj, env=env)
    assert "warning" not in r.stderr and "error" not in r.stderr, r.stderr
    out = proj / "out"

    # PDF: text in it, with the Greek native name
    pdf = out / "article.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "A first article" in text and "δημοκρατία" in text

    # DOCX: python-docx opens it; the quoted speaker and the term are in it
    import docx

    body = "\n".join(p.text for p in docx.Document(str(out / "article.docx")).paragraphs)
    assert "A first article" in body and "δημοκρατία" in body and "Ada Example" in body

    # HTML: one page with the glossary entry tagged
    html = (out / "article.html").read_text(encoding="utf-8")
    assert 'lang="el"' in html and "δημοκρατία" in html

    # EPUB: EPUBCheck reports nothing
    from epubcheck_batch import epubcheck_reports, problems

    reports = epubcheck_reports([out / "article.epub"], base / "epubcheck", timeout=300)
    report = reports[out / "article.epub"]
    assert report is not None and problems(report) == []

    # --styles: a copy of the default styles to edit, and an edit shows
    _run([publish, "init", "styled", "--styles"], cwd=base, env=env)
    styled = base / "styled"
    css = styled / "styles" / "html.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n.publish-test-marker { color: red; }\n", encoding="utf-8")
    _run([publish, "build", "--format", "HTML"], cwd=styled, env=env)
    assert "publish-test-marker" in (styled / "out" / "article.html").read_text(encoding="utf-8")
