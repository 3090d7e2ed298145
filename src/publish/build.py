"""Orchestration: load (read + transform), render each format, write atomically.

A failed or interrupted build leaves previous outputs byte-for-byte intact:
every output is rendered in memory, written to a temporary file in the same
folder and renamed into place only when it is complete.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import Collector, Diagnostic, PublishError, RenderError
from .model import Document
from .options import FORMATS, RenderOptions
from .resources import Resolver

WRITER_MODULES = {fmt: f"publish.writers.{fmt}" for fmt in FORMATS}


def available_formats() -> tuple[str, ...]:
    """Formats whose writer is installed (all three once the writers have landed)."""
    out = []
    for fmt, mod in WRITER_MODULES.items():
        try:
            if importlib.util.find_spec(mod) is not None:
                out.append(fmt)
        except ModuleNotFoundError:
            pass
    return tuple(out)


def read(source: Path, resolver: Resolver | None = None) -> tuple[Document | None, Collector]:
    """Read, transform and lint; return the model (None if errors) and all diagnostics."""
    from .check import lint
    from .readers.source import read_source
    from .transforms import apply_all

    resolver = resolver or Resolver.for_source(source)
    diag = Collector()
    try:
        raw = read_source(source, resolver, diag)
    except PublishError as exc:
        diag.items.extend(exc.diagnostics)
        return None, diag
    if diag.errors:
        return None, diag
    doc = apply_all(raw)
    lint(doc, diag)
    return doc, diag


def load(source: Path, resolver: Resolver | None = None) -> Document:
    """The finished model of ``source``; raises PublishError on any input error."""
    doc, diag = read(Path(source), resolver)
    if doc is None:
        raise PublishError(diag.sorted())
    return doc


def render(fmt: str, doc: Document, options: RenderOptions, resolver: Resolver) -> bytes:
    if fmt not in WRITER_MODULES:
        raise RenderError(Diagnostic(doc.source_path, 1, 1, "error", f"unknown format '{fmt}'"))
    writer = importlib.import_module(WRITER_MODULES[fmt])
    return writer.render(doc, options, resolver)


def write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` via a temporary file + rename. Returns False if unchanged."""
    path = Path(path)
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return True


@dataclass(frozen=True)
class Output:
    format: str
    path: Path
    size: int
    changed: bool


def build(
    source: Path,
    out_dir: Path,
    formats: tuple[str, ...] | None = None,
    options: RenderOptions | None = None,
) -> tuple[list[Output], Collector]:
    """Render ``formats`` of ``source`` into ``out_dir``. Raises PublishError on input errors.

    All formats are rendered before any file is replaced, so an error in one
    format leaves every previous output untouched.
    """
    source = Path(source)
    resolver = Resolver.for_source(source)
    doc, diag = read(source, resolver)
    if doc is None:
        raise PublishError(diag.sorted())
    options = options or RenderOptions.from_env()
    formats = formats or available_formats()
    rendered: dict[str, bytes] = {}
    for fmt in formats:
        rendered[fmt] = render(fmt, doc, options, resolver)
    outputs = []
    for fmt, data in rendered.items():
        target = Path(out_dir) / f"{source.stem}.{fmt}"
        changed = write_atomic(target, data)
        outputs.append(Output(fmt, target, len(data), changed))
    return outputs, diag
