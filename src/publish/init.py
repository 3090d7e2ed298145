"""``publish init``: a new article project from the package's skeleton.

Writes the article (front matter and a short body that uses a term, a note and a
speaker), the three side files with one commented example each, ``publish.toml``
and, with ``styles=True``, a copy of the default styles to edit (``styles/``
overrides the package's defaults file by file). Each side file names its JSON
Schema in a ``# yaml-language-server: $schema=`` line, for editors. Nothing is
overwritten.
"""

from __future__ import annotations

import datetime as _dt
from importlib import resources
from pathlib import Path

from .diagnostics import Diagnostic, PublishError
from .readers.schema import schema_path
from .resources import PACKAGE_STYLES

SKELETON = ("article.md", "glossary.yaml", "annotations.yaml", "people.yaml", "publish.toml")
STYLE_FILES = ("print.css", "epub.css", "html.css", "reference.docx")


def schema_comment(kind: str) -> str:
    """The editor hint naming the installed schema of a side file."""
    return f"# yaml-language-server: $schema={Path(str(schema_path(kind))).resolve().as_uri()}\n"


def files(today: _dt.date | None = None, styles: bool = False) -> dict[str, bytes]:
    """The new project's files by relative path."""
    date = (today or _dt.date.today()).isoformat()
    skel = resources.files("publish").joinpath("skeleton")
    out: dict[str, bytes] = {}
    for name in SKELETON:
        text = skel.joinpath(name).read_text(encoding="utf-8")
        if name == "article.md":
            text = text.replace("{date}", date)
        if name.endswith(".yaml"):
            text = schema_comment(name.removesuffix(".yaml")) + text
        out[name] = text.encode("utf-8")
    if styles:
        for name in STYLE_FILES:
            out[f"styles/{name}"] = (PACKAGE_STYLES / name).read_bytes()
    return out


def init(target: Path, styles: bool = False) -> list[Path]:
    """Write a new project into ``target`` (created if needed); refuse to overwrite."""
    planned = files(styles=styles)
    clash = [target / n for n in planned if (target / n).exists()]
    if clash:
        raise PublishError([Diagnostic(str(p), 1, 1, "error", "already exists: publish init never overwrites a file")
                            for p in clash])
    written = []
    for name, data in planned.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as fh:
            fh.write(data)
        written.append(path)
    return written
