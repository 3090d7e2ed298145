"""The one resolver for every file and URL the pipeline touches.

Only files under the source's folder, the project's styles folder and the
package's own defaults (``publish/styles/``, ``publish/templates/``) may be
read; ``..``
and symlinks are resolved *before* the containment check; no URL scheme is
fetched (no network, ever). The same object is WeasyPrint's URL fetcher, so a
stylesheet or HTML fragment cannot reach past it either.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .diagnostics import Diagnostic, PublishError
from .model import Pos

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")

# Where the package's own defaults live (templates, styles); readable, never written.
PACKAGE_DIR = Path(__file__).resolve().parent
# The default styles (CSS, reference.docx) shipped as package data; a project's
# own styles/ overrides them file by file.
PACKAGE_STYLES = PACKAGE_DIR / "styles"


class ResourceError(PublishError):
    pass


@dataclass(frozen=True)
class Snapshot:
    """A file's bytes as read, their sha256 and the file's mtime when read."""

    data: bytes
    digest: str
    mtime: float


@dataclass(frozen=True)
class Resolver:
    """Resolves references against the source folder; allows only ``roots``."""

    source_dir: Path
    styles_dir: Path
    # Every source file read through this resolver (source, side files, images),
    # in order: the build's record of what an output depends on. Per run.
    reads: list[Path] = field(default_factory=list, compare=False, repr=False)
    # Every file's bytes as first read, by real path: read once per build, so the
    # reader, the checks and every writer (in its worker process: the snapshot
    # travels with the resolver) use the same bytes, and the cache records the
    # hash of exactly those bytes. Per run.
    snapshot: dict[str, "Snapshot"] = field(default_factory=dict, compare=False, repr=False)
    # Bytes already read by other articles of the same batch (a glossary shared by
    # a series is read once per batch); never shipped to a worker (see frozen()).
    shared: dict[str, "Snapshot"] | None = field(default=None, compare=False, repr=False)

    def _note(self, path: Path) -> None:
        if path not in self.reads:
            self.reads.append(path)

    def digests(self) -> dict[str, str]:
        """sha256 of every file read so far, by real path (of the bytes that were used)."""
        return {p: s.digest for p, s in self.snapshot.items()}

    @classmethod
    def for_source(cls, source: Path, styles_dir: Path | None = None,
                   shared: dict[str, "Snapshot"] | None = None) -> "Resolver":
        source_dir = source.resolve().parent
        if styles_dir is None:
            styles_dir = find_styles_dir(source_dir)
        return cls(source_dir=source_dir, styles_dir=styles_dir.resolve(), shared=shared)

    @property
    def roots(self) -> tuple[Path, ...]:
        return (self.source_dir, self.styles_dir, PACKAGE_DIR / "templates", PACKAGE_STYLES)

    def watch_roots(self) -> list[str]:
        """The folders a rebuild-on-save watches: the source's and the project's
        styles/ when it exists (the package's defaults do not change under a user)."""
        return sorted({str(self.source_dir)} | ({str(self.styles_dir)} if self.styles_dir.is_dir() else set()))

    def real(self, path: Path) -> Path:
        """``path`` with symlinks and ``..`` resolved (the key of its snapshot)."""
        return Path(os.path.realpath(path))

    def is_allowed(self, path: Path) -> bool:
        real = self.real(path)
        return any(real == r or real.is_relative_to(r) for r in self.roots)

    def resolve(self, ref: str, pos: Pos | None = None, *, base: Path | None = None) -> Path:
        """Resolve a reference written in the source (relative to its folder)."""
        where = pos or Pos(str(base or self.source_dir), 1, 1)

        def fail(msg: str) -> ResourceError:
            return ResourceError(Diagnostic(where.path, where.line, where.col, "error", msg))

        if not ref or "\x00" in ref:
            raise fail("empty or invalid file reference")
        if _SCHEME.match(ref) and not _WINDOWS_DRIVE.match(ref):
            raise fail(f"'{ref}': URLs are not fetched; put the file beside the source")
        candidate = Path(ref)
        if candidate.is_absolute():
            raise fail(f"'{ref}': absolute paths are not allowed; use a path relative to the source")
        real = self.real((base or self.source_dir) / unquote(ref))
        if not any(real == r or real.is_relative_to(r) for r in self.roots):
            raise fail(f"'{ref}' resolves outside the project (to {real.name!r}); refused")
        if not self.is_file(real):
            raise fail(f"'{ref}': file not found")
        self._note(real)
        return real

    def style(self, name: str) -> Path:
        """A style file (CSS, reference.docx): the project's styles/ first, then the
        package's default of the same name."""
        for root in (self.styles_dir, PACKAGE_STYLES):
            path = self.real(root / name)
            if path.is_relative_to(self.real(root)) and self.is_file(path):
                return path
        raise ResourceError(
            Diagnostic(str(self.styles_dir / name), 1, 1, "error",
                       f"style file not found (neither in the project's styles/ nor in {PACKAGE_STYLES})")
        )

    def read_bytes(self, path: Path) -> bytes:
        if not self.is_allowed(path):
            raise ResourceError(
                Diagnostic(str(path), 1, 1, "error", "outside the project; refused")
            )
        real = Path(os.path.realpath(path))
        snap = self.snapshot.get(str(real))
        if snap is None and self.shared is not None:
            snap = self.shared.get(str(real))
            if snap is not None:
                self.snapshot[str(real)] = snap
        if snap is None:
            with open(real, "rb") as fh:
                st = os.fstat(fh.fileno())
                data = fh.read()
            snap = self.snapshot[str(real)] = Snapshot(data, hashlib.sha256(data).hexdigest(), st.st_mtime)
            if self.shared is not None:
                self.shared[str(real)] = snap
        self._note(real)
        return snap.data

    def is_file(self, path: Path) -> bool:
        """Whether ``path`` is a file this resolver can serve."""
        return Path(path).is_file()

    def mtime(self, path: Path) -> float:
        return Path(path).stat().st_mtime

    def frozen(self) -> "SnapshotResolver":
        """A resolver that serves only this one's snapshot (the bytes read so far),
        for a worker: picklable, and it never touches the file system."""
        return SnapshotResolver(self.source_dir, self.styles_dir, snapshot=dict(self.snapshot),
                                package_dir=PACKAGE_DIR)

    # ---------------------------------------------------------------- WeasyPrint
    def weasyprint_fetcher(self):  # -> weasyprint.urls.URLFetcher
        """A WeasyPrint URL fetcher that serves only allowed local files."""
        from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

        resolver = self

        class _Fetcher(URLFetcher):
            def __init__(self) -> None:
                super().__init__(allow_redirects=False, allowed_protocols=("file",))

            def fetch(self, url, headers=None):  # noqa: D401 - WeasyPrint API
                parts = urlsplit(url)
                if parts.scheme == "data":
                    return super().fetch(url, headers)
                if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
                    raise FatalURLFetchingError(f"refused non-local resource: {url}")
                path = resolver.real(Path(unquote(parts.path)))
                if not resolver.is_allowed(path) or not resolver.is_file(path):
                    raise FatalURLFetchingError(f"refused resource outside the project: {url}")
                return URLFetcherResponse(path.as_uri(), body=resolver.read_bytes(path))

        return _Fetcher()


@dataclass(frozen=True)
class SnapshotResolver(Resolver):
    """A resolver that serves only the snapshot it was given: what a render task
    (a spawned worker, a Dask worker on another machine) reads. It never opens,
    stats or lists a file: a path not in the snapshot does not exist for it.
    The package's own templates are keyed by the client's package folder and
    found under this process's (the same version: checked before a batch)."""

    package_dir: Path = PACKAGE_DIR

    def real(self, path: Path) -> Path:
        p = Path(os.path.normpath(path))
        if self.package_dir != PACKAGE_DIR and p.is_relative_to(PACKAGE_DIR):
            p = self.package_dir / p.relative_to(PACKAGE_DIR)
        return p

    @property
    def roots(self) -> tuple[Path, ...]:
        return (self.source_dir, self.styles_dir, self.package_dir / "templates")

    def is_allowed(self, path: Path) -> bool:
        return str(self.real(path)) in self.snapshot

    def is_file(self, path: Path) -> bool:
        return str(self.real(path)) in self.snapshot

    def mtime(self, path: Path) -> float:
        return self.snapshot[str(self.real(path))].mtime

    def read_bytes(self, path: Path) -> bytes:
        real = self.real(path)
        snap = self.snapshot.get(str(real))
        if snap is None:
            raise ResourceError(Diagnostic(str(path), 1, 1, "error", "not among the files this build read; refused"))
        self._note(real)
        return snap.data

    def frozen(self) -> "SnapshotResolver":
        return self


def find_styles_dir(source_dir: Path) -> Path:
    """``styles/`` of the source's project: beside the source, or at the project
    root (the nearest folder up with pyproject.toml or publish.toml). Never an
    unrelated folder further up. Without one: ``styles/`` beside the source (which
    need not exist); every file it lacks comes from the package's defaults."""
    for d in (source_dir, *source_dir.parents):
        if (d / "pyproject.toml").exists() or (d / "publish.toml").exists():
            for cand in (source_dir / "styles", d / "styles"):
                if cand.is_dir():
                    return cand
            break
    else:
        if (source_dir / "styles").is_dir():
            return source_dir / "styles"
        if (source_dir.parent / "styles").is_dir() and source_dir.name == "source":
            return source_dir.parent / "styles"
    return source_dir / "styles"
