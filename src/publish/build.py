"""Orchestration: read once, render formats in parallel worker processes, write atomically.

* **Nothing lost.** Every output is rendered in memory, written to a temporary
  file in the output folder and renamed into place only when complete. Input
  errors stop the build before anything is written; a format that fails or times
  out keeps its previous output (exit 3).
* **Incremental.** Each format's output is recorded in a manifest with the
  content hashes of everything it was made from (source, side files, images,
  its styles, the package's code and templates, library versions, options). A
  rebuild first checks only those hashes: nothing changed means nothing is read,
  parsed or imported beyond this module, and nothing is rewritten.
* **Serialised.** Builds into one folder take an exclusive ``flock`` on
  ``.publish.lock`` there; the kernel releases it when a process dies, so a
  stale lock of a killed build is simply taken over.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import json
import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .diagnostics import Collector, Diagnostic, PublishError, RenderError
from .model import Document
from .options import FORMATS, RenderOptions, epoch_from
from .resources import PACKAGE_DIR, Resolver

WRITER_MODULES = {fmt: f"publish.writers.{fmt}" for fmt in FORMATS}
# What in styles/ each format depends on (globs relative to the styles folder).
STYLE_DEPS: dict[str, tuple[str, ...]] = {
    "pdf": ("print.css", "fonts/**/*", "templates/pdf/**/*", "images/**/*"),
    "epub": ("epub.css", "fonts/**/*", "templates/epub/**/*", "images/**/*"),
    "docx": ("reference.docx",),
}
# Libraries whose version changes an output.
LIBRARIES: dict[str, tuple[str, ...]] = {
    "pdf": ("weasyprint", "pydyf", "jinja2", "markdown-it-py", "mdit-py-plugins"),
    "epub": ("ebooklib", "lxml", "jinja2", "markdown-it-py", "mdit-py-plugins", "pillow", "fonttools"),
    "docx": ("python-docx", "lxml", "markdown-it-py", "mdit-py-plugins"),
}
MANIFEST_VERSION = 2
LOCK_NAME = ".publish.lock"
CACHE_DIR = ".publish-cache"
DEFAULT_TIMEOUT = 300.0  # seconds per format (WeasyPrint can loop on some layouts)


class LockBusy(PublishError):
    exit_code = 4


class BadEnvironment(PublishError):
    exit_code = 2


def available_formats() -> tuple[str, ...]:
    """Formats whose writer is installed."""
    return tuple(f for f in FORMATS if (PACKAGE_DIR / "writers" / f"{f}.py").is_file())


# --------------------------------------------------------------------------- reading


def read(source: Path, resolver: Resolver | None = None) -> tuple[Document | None, Collector]:
    """Read, transform and lint; return the model (None if errors) and all diagnostics."""
    from .check import lint
    from .readers.source import read_source
    from .transforms import apply_all

    resolver = resolver or Resolver.for_source(source)
    diag = Collector()
    try:
        raw = read_source(Path(source), resolver, diag)
    except PublishError as exc:
        diag.items.extend(exc.diagnostics)
        return None, diag
    if diag.errors:
        return None, diag
    doc = apply_all(raw)
    lint(doc, diag)
    if diag.errors:
        return None, diag
    return doc, diag


def load(source: Path, resolver: Resolver | None = None) -> Document:
    """The finished model of ``source``; raises PublishError on any input error."""
    doc, diag = read(Path(source), resolver)
    if doc is None:
        raise PublishError(diag.sorted())
    return doc


def render(fmt: str, doc: Document, options: RenderOptions, resolver: Resolver) -> bytes:
    """Render one format in this process."""
    if fmt not in WRITER_MODULES:
        raise RenderError(Diagnostic(doc.source_path, 1, 1, "error", f"unknown format '{fmt}'"))
    writer = importlib.import_module(WRITER_MODULES[fmt])
    return writer.render(doc, options, resolver)


# --------------------------------------------------------------------------- files


def write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` via a temporary file + rename. False if already identical."""
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
        _unlink(Path(tmp))
        raise
    return True


def _unlink(p: Path) -> None:
    try:
        p.unlink()
    except FileNotFoundError:
        pass


def remove_stale_temporaries(out_dir: Path, stem: str) -> None:
    """Temporary files a killed build left behind (only ever ours, only under the lock)."""
    for fmt in FORMATS:
        for p in out_dir.glob(f".{stem}.{fmt}.*.tmp"):
            _unlink(p)


class BuildLock:
    """An exclusive flock on OUT/.publish.lock; waits up to ``wait`` seconds."""

    def __init__(self, out_dir: Path, wait: float = 0.0, on_wait: Callable[[str], None] | None = None):
        self.path = Path(out_dir) / LOCK_NAME
        self.wait = wait
        self.on_wait = on_wait
        self.fd: int | None = None

    def __enter__(self) -> "BuildLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read_pid(fd)
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockBusy(Diagnostic(str(self.path), 1, 1, "error",
                                              f"another build (pid {holder or '?'}) is writing to this folder")) from None
                if self.on_wait and not told:
                    self.on_wait(f"waiting for another build (pid {holder or '?'}) to finish")
                    told = True
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _read_pid(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return ""


# --------------------------------------------------------------------------- cache


def _digest_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _glob_files(root: Path, patterns: tuple[str, ...]) -> list[Path]:
    out: set[Path] = set()
    for pat in patterns:
        out.update(p for p in root.glob(pat) if p.is_file())
    return sorted(out)


def _package_files() -> list[Path]:
    return sorted(p for p in PACKAGE_DIR.rglob("*") if p.is_file() and p.suffix in (".py", ".html", ".xhtml", ".j2", ".css", ".txt", ".svg") and "__pycache__" not in p.parts)


def _library_versions(fmt: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in LIBRARIES.get(fmt, ()):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "-"
    return out


def style_files(fmt: str, styles_dir: Path) -> list[Path]:
    """The files in styles/ that an output of ``fmt`` depends on."""
    return _glob_files(styles_dir, STYLE_DEPS[fmt])


def dependencies(fmt: str, inputs: list[Path], resolver: Resolver) -> list[Path]:
    """Every file an output of ``fmt`` is made from."""
    return sorted(set(inputs) | set(style_files(fmt, resolver.styles_dir)) | set(_package_files()))


@dataclass
class Manifest:
    """OUT/.publish-cache/<stem>.json: per format, the hashes it was made from."""

    path: Path
    entries: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, out_dir: Path, stem: str) -> "Manifest":
        path = Path(out_dir) / CACHE_DIR / f"{stem}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == MANIFEST_VERSION and isinstance(data.get("formats"), dict):
                return cls(path, data["formats"])
        except (OSError, ValueError):
            pass
        return cls(path)

    def save(self) -> None:
        data = json.dumps({"version": MANIFEST_VERSION, "formats": self.entries}, indent=1, sort_keys=True)
        write_atomic(self.path, data.encode("utf-8"))

    def is_fresh(self, fmt: str, key: str, output: Path, style_files: list[Path]) -> bool:
        """True if OUTPUT is what the recorded inputs (all unchanged) and KEY made,
        and no style file was added or removed since."""
        e = self.entries.get(fmt)
        if not e or e.get("key") != key or not output.is_file():
            return False
        if e.get("styles") != [str(p) for p in style_files]:
            return False
        st = output.stat()
        if [st.st_size, st.st_mtime_ns] != e.get("output_stat"):
            if _digest_file(output) != e.get("output"):
                return False
        for name, digest in e.get("inputs", {}).items():
            p = Path(name)
            try:
                if _digest_file(p) != digest:
                    return False
            except OSError:
                return False
        return True

    def record(self, fmt: str, key: str, output: Path, inputs: list[Path], style_files: list[Path]) -> None:
        st = output.stat()
        self.entries[fmt] = {
            "key": key,
            "styles": [str(p) for p in style_files],
            "output": _digest_file(output),
            "output_stat": [st.st_size, st.st_mtime_ns],
            "inputs": {str(p): _digest_file(p) for p in inputs},
        }


def options_key(fmt: str, options: RenderOptions, epoch_from_env: bool) -> str:
    from . import __version__

    payload = {
        "format": fmt,
        "paper": options.paper if fmt == "pdf" else None,
        "epoch": options.epoch if epoch_from_env else "inputs",
        "publish": __version__,
        "libraries": _library_versions(fmt),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- workers


def _worker(fmt: str, doc: Document, options: RenderOptions, resolver: Resolver, conn) -> None:
    """Runs in a child process: render one format, send back ('ok', bytes) or ('error', diags)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    try:
        data = render(fmt, doc, options, resolver)
        conn.send(("ok", data))
    except PublishError as exc:
        conn.send(("error", [d.as_dict() for d in exc.diagnostics]))
    except BaseException as exc:  # noqa: BLE001 - reported as a render failure, never a traceback
        conn.send(("error", [Diagnostic(doc.source_path, 1, 1, "error",
                                        f"{fmt.upper()} writer failed: {type(exc).__name__}: {exc}").as_dict()]))
    finally:
        conn.close()


@dataclass
class FormatResult:
    format: str
    path: Path
    status: str  # "written" | "unchanged" | "cached" | "failed" | "kept" (not written: another format failed)
    size: int = 0
    seconds: float = 0.0
    diagnostics: list[Diagnostic] = field(default_factory=list)


Event = Callable[[str, str, dict], None]  # (format, state, info)


def render_parallel(
    formats: tuple[str, ...],
    doc: Document,
    options: RenderOptions,
    resolver: Resolver,
    *,
    jobs: int,
    timeout: float,
    on_event: Event | None = None,
) -> Iterator[tuple[str, bytes | None, list[Diagnostic], float]]:
    """Render formats in worker processes (at most ``jobs`` at once); yields as each ends."""
    import multiprocessing as mp

    # spawn, not fork: a worker holds only what it renders (a forked one would carry
    # the parent's whole heap in its resident set), and no lock or thread state leaks in.
    ctx = mp.get_context("spawn")
    pending = list(formats)
    running: dict[str, tuple] = {}
    emit = on_event or (lambda *a: None)
    try:
        while pending or running:
            while pending and len(running) < max(jobs, 1):
                fmt = pending.pop(0)
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_worker, args=(fmt, doc, options, resolver, send), daemon=True)
                proc.start()
                send.close()
                running[fmt] = (proc, recv, time.monotonic())
                emit(fmt, "rendering", {})
            ready = mp.connection.wait([r for _, r, _ in running.values()], timeout=0.1)
            now = time.monotonic()
            for fmt, (proc, recv, started) in list(running.items()):
                elapsed = now - started
                if recv in ready:
                    try:
                        status, payload = recv.recv()
                    except EOFError:  # the worker died without a word (killed, crashed)
                        status, payload = "error", [Diagnostic(doc.source_path, 1, 1, "error",
                                                               f"{fmt.upper()} writer process died (exit code {proc.exitcode})").as_dict()]
                    proc.join()
                    recv.close()
                    del running[fmt]
                    if status == "ok":
                        yield fmt, payload, [], elapsed
                    else:
                        yield fmt, None, [Diagnostic(**d) for d in payload], elapsed
                elif elapsed > timeout:
                    proc.kill()
                    proc.join()
                    recv.close()
                    del running[fmt]
                    yield fmt, None, [Diagnostic(doc.source_path, 1, 1, "error",
                                                 f"{fmt.upper()} rendering timed out after {timeout:g} s")], elapsed
    finally:
        for proc, recv, _ in running.values():
            proc.kill()
            proc.join()
            recv.close()


# --------------------------------------------------------------------------- build


@dataclass(frozen=True)
class BuildRequest:
    source: Path
    out_dir: Path
    formats: tuple[str, ...] = ()
    paper: str = "a4"
    use_cache: bool = True
    jobs: int = 0  # 0: one per core
    timeout: float = DEFAULT_TIMEOUT
    lock_wait: float = 30.0


@dataclass
class BuildReport:
    results: list[FormatResult]
    diagnostics: list[Diagnostic]

    @property
    def exit_code(self) -> int:
        return 3 if any(r.status == "failed" for r in self.results) else 0


def build(req: BuildRequest, on_event: Event | None = None, environ: dict[str, str] | None = None) -> BuildReport:
    """Build the requested formats. Raises PublishError (exit 1) on input errors, LockBusy (4)."""
    env = dict(os.environ if environ is None else environ)
    emit = on_event or (lambda *a: None)
    source = Path(req.source)
    out_dir = Path(req.out_dir)
    formats = req.formats or available_formats()
    try:
        epoch_from_env = epoch_from(env) is not None
    except ValueError as exc:
        raise BadEnvironment(Diagnostic("SOURCE_DATE_EPOCH", 1, 1, "error", str(exc))) from None
    formats = tuple(dict.fromkeys(formats))
    base_options = RenderOptions.from_env(paper=req.paper, environ=env)  # type: ignore[arg-type]
    targets = {fmt: out_dir / f"{source.stem}.{fmt}" for fmt in formats}

    with BuildLock(out_dir, wait=req.lock_wait, on_wait=lambda m: emit("*", "waiting", {"message": m})):
        remove_stale_temporaries(out_dir, source.stem)
        manifest = Manifest.load(out_dir, source.stem)
        keys = {fmt: options_key(fmt, base_options, epoch_from_env) for fmt in formats}
        styles_dir = Resolver.for_source(source).styles_dir
        styles = {fmt: style_files(fmt, styles_dir) for fmt in formats}
        todo = [f for f in formats
                if not (req.use_cache and manifest.is_fresh(f, keys[f], targets[f], styles[f]))]
        results: dict[str, FormatResult] = {}
        for fmt in formats:
            if fmt not in todo:
                results[fmt] = FormatResult(fmt, targets[fmt], "cached", targets[fmt].stat().st_size)
                emit(fmt, "cached", {"size": results[fmt].size})
        diagnostics: list[Diagnostic] = []
        if todo:
            resolver = Resolver.for_source(source)
            doc, diag = read(source, resolver)
            diagnostics = diag.sorted()
            if doc is None:
                raise PublishError(diagnostics)
            inputs = list(resolver.reads)
            options = base_options
            if not epoch_from_env:
                # No SOURCE_DATE_EPOCH: date outputs by their newest input, so that
                # identical inputs still give identical bytes.
                options = RenderOptions(paper=base_options.paper,
                                        epoch=int(max(p.stat().st_mtime for p in inputs)))
            jobs = req.jobs or os.cpu_count() or 1
            rendered: dict[str, tuple[bytes, float]] = {}
            for fmt, data, diags, secs in render_parallel(tuple(todo), doc, options, resolver,
                                                          jobs=jobs, timeout=req.timeout, on_event=emit):
                if data is None:
                    results[fmt] = FormatResult(fmt, targets[fmt], "failed", 0, secs, diags)
                    emit(fmt, "failed", {"seconds": secs})
                else:
                    rendered[fmt] = (data, secs)
                    emit(fmt, "rendered", {"size": len(data), "seconds": secs})
            # Commit only a complete set: if any format failed, every previous
            # output stays exactly as it was.
            failed = any(r.status == "failed" for r in results.values())
            for fmt, (data, secs) in rendered.items():
                if failed:
                    results[fmt] = FormatResult(fmt, targets[fmt], "kept", len(data), secs)
                    continue
                changed = write_atomic(targets[fmt], data)
                manifest.record(fmt, keys[fmt], targets[fmt], dependencies(fmt, inputs, resolver), styles[fmt])
                results[fmt] = FormatResult(fmt, targets[fmt], "written" if changed else "unchanged", len(data), secs)
                emit(fmt, results[fmt].status, {"size": len(data), "seconds": secs})
            if not failed:
                manifest.save()
    ordered = [results[f] for f in formats]
    return BuildReport(ordered, diagnostics)
