"""Writers: the model to PDF, EPUB and DOCX (HTML fragments shared by PDF and EPUB).

``WRITERS`` is the one table of output formats. The build, the cache and the
command line read it; adding a format is one module in this package (with a
``render(doc, options, resolver)`` function) and one row here.

A writer's ``render`` returns the bytes of its one output file, or a mapping of
several files: the key ``""`` is the main file (``<stem>.<extension>``), any
other key is appended to the stem (``"_files/a.png"`` → ``<stem>_files/a.png``).
Writer modules are imported only in the process that renders them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Mapping, Union

Rendered = Union[bytes, Mapping[str, bytes]]


@dataclass(frozen=True)
class Writer:
    name: str  # the format's name on the command line and in config
    extension: str  # of the main output file
    module: str  # the module with render(doc, options, resolver) -> Rendered
    styles: tuple[str, ...]  # globs in styles/ that an output depends on (for the cache)
    libraries: tuple[str, ...]  # distributions whose version changes an output

    def render(self, doc, options, resolver) -> dict[str, bytes]:
        """Render in this process; always a mapping (``""`` = the main file)."""
        out = importlib.import_module(self.module).render(doc, options, resolver)
        return {"": out} if isinstance(out, (bytes, bytearray)) else dict(out)

    def filename(self, stem: str, key: str = "") -> str:
        return f"{stem}.{self.extension}" if key == "" else f"{stem}{key}"


_READER_LIBS = ("markdown-it-py", "mdit-py-plugins")

WRITERS: dict[str, Writer] = {w.name: w for w in (
    Writer("pdf", "pdf", "publish.writers.pdf",
           ("print.css", "fonts/**/*", "templates/pdf/**/*", "images/**/*"),
           ("weasyprint", "pydyf", "jinja2", "latex2mathml", *_READER_LIBS)),
    Writer("epub", "epub", "publish.writers.epub",
           ("epub.css", "fonts/**/*", "templates/epub/**/*", "images/**/*"),
           ("ebooklib", "lxml", "jinja2", "latex2mathml", "pillow", "fonttools", *_READER_LIBS)),
    Writer("docx", "docx", "publish.writers.docx",
           ("reference.docx",),
           ("python-docx", "lxml", "latex2mathml", *_READER_LIBS)),
    Writer("html", "html", "publish.writers.web",
           ("html.css", "templates/html/**/*", "images/**/*", "fonts/**/*"),
           ("jinja2", "latex2mathml", "fonttools", *_READER_LIBS)),
)}
