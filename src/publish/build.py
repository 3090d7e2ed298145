"""Orchestration: read once, render formats in parallel worker processes, commit all or nothing.

* **Read once.** Every input (source, side files, images, style files,
  templates) is read once, through the resolver, into a per-build snapshot;
  the reader, the checks and every writer (in its worker process) use those
  bytes, and the cache records the hashes of exactly those bytes. A file saved
  while a build runs therefore makes the next build render again.
* **Nothing lost, nothing mixed.** Outputs are rendered in memory. Input
  errors stop the build before anything is written; a format that fails or
  times out keeps every previous output (exit 3). A complete set is committed
  as one transaction (``publish.txn``): temporary files, fsync, an undo journal,
  renames, commit; any failure (no space, quota, a kill) leaves the previous set
  byte-identical.
* **Output-folder faults** (not creatable, a file, read-only, full, a folder in
  an output's place) are one ``path: error: …`` line and exit 5.
* **Incremental.** Each format's output is recorded in a manifest with the
  content hashes of everything it was made from (source, side files, images,
  its styles, the package's code and templates, library versions, options) and
  the warnings its source deserved. A rebuild first checks only those hashes:
  nothing changed means nothing is read, parsed or imported beyond this module,
  nothing is rewritten, and the recorded warnings are repeated.
* **Serialised.** Builds into one folder take an exclusive ``flock`` on
  ``.publish.lock`` there; the kernel releases it when a process dies, so a
  stale lock of a killed build is simply taken over (and its interrupted
  commit, if any, rolled back).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import importlib
import itertools
import json
import logging
import os
import signal
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from . import txn
from .diagnostics import Collector, Diagnostic, OutputError, PublishError, RenderError
from .model import Document
from .options import RenderOptions, epoch_from
from .resources import PACKAGE_DIR, Resolver
from .writers import WRITERS, Writer

MANIFEST_VERSION = 3
CHANGED = "changed-during-build"  # a digest that matches no file: the next build renders
LOCK_NAME = ".publish.lock"
CACHE_DIR = ".publish-cache"
DEFAULT_TIMEOUT = 300.0  # seconds per format (WeasyPrint can loop on some layouts)


class LockBusy(PublishError):
    exit_code = 4


class BadEnvironment(PublishError):
    exit_code = 2


def available_formats() -> tuple[str, ...]:
    """Every format of the writers' table."""
    return tuple(WRITERS)


# --------------------------------------------------------------------------- reading


def read(source: Path, resolver: Resolver | None = None, formats: tuple[str, ...] = tuple(WRITERS),
         strict: bool = False) -> tuple[Document | None, Collector]:
    """Read, transform and lint (including what the writers of ``formats`` would
    refuse); return the model (None if errors) and all diagnostics. With
    ``strict`` every warning is an error (``--strict``)."""
    from .check import document_ids, lint
    from .readers.source import read_source
    from .transforms import apply_all
    from .transforms.links import unlink_dangling

    resolver = resolver or Resolver.for_source(source)
    diag = Collector()
    try:
        raw = read_source(Path(source), resolver, diag)
    except PublishError as exc:
        diag.items.extend(exc.diagnostics)
        raw = None
    if raw is not None and not diag.errors:
        doc = apply_all(raw)
        lint(doc, diag, formats=formats, resolver=resolver)
        doc = unlink_dangling(doc, document_ids(doc))  # lint has warned about each
    else:
        doc = None
    if strict:
        diag.promote_warnings()
    if diag.errors:
        return None, diag
    return doc, diag


def load(source: Path, resolver: Resolver | None = None, strict: bool = False) -> Document:
    """The finished model of ``source``; raises PublishError on any input error."""
    doc, diag = read(Path(source), resolver, strict=strict)
    if doc is None:
        raise PublishError(diag.sorted())
    return doc


def render_files(fmt: str, doc: Document, options: RenderOptions, resolver: Resolver) -> dict[str, bytes]:
    """Render one format in this process: its files ("" is the main one, see writers.WRITERS)."""
    if fmt not in WRITERS:
        raise RenderError(Diagnostic(doc.source_path, 1, 1, "error", f"unknown format '{fmt}'"))
    return WRITERS[fmt].render(doc, options, resolver)


def render(fmt: str, doc: Document, options: RenderOptions, resolver: Resolver) -> bytes:
    """Render one format in this process (its main file)."""
    return render_files(fmt, doc, options, resolver)[""]


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
    for w in WRITERS.values():
        for p in out_dir.glob(f".{w.filename(stem)}.*.tmp"):
            _unlink(p)


_CAUSES = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "a folder stands where a file must go",
    errno.EIO: "input/output error (a failing disk?)",
    errno.EFBIG: "file too large for this file system",
    errno.ENAMETOOLONG: "file name too long",
}


def cause(exc: OSError) -> str:
    """An OSError's cause in words, without the Python around it."""
    return _CAUSES.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()


def _fault(path: Path, message: str) -> OutputError:
    return OutputError(Diagnostic(str(path), 0, 0, "error", message))


def prepare_out_dir(out_dir: Path) -> None:
    """Create the output folder if needed; an OutputError (exit 5) says why it cannot be."""
    out_dir = Path(out_dir)
    if out_dir.is_dir():
        return
    if os.path.lexists(out_dir):
        raise _fault(out_dir, "the output folder is a file, not a folder; remove it or choose another --out")
    missing = [out_dir]
    while not os.path.lexists(missing[-1].parent) and missing[-1].parent != missing[-1]:
        missing.append(missing[-1].parent)
    base = missing[-1].parent
    if not base.is_dir():
        raise _fault(out_dir, f"cannot create the output folder: {base} is a file, not a folder")
    for d in reversed(missing):
        try:
            os.mkdir(d)
        except FileExistsError:
            if not d.is_dir():
                raise _fault(out_dir, f"cannot create the output folder: {d} is a file, not a folder") from None
        except OSError as exc:
            raise _fault(out_dir, f"cannot create the output folder: {cause(exc)}") from None


def check_writable(out_dir: Path, targets: list[Path]) -> None:
    """Before rendering: the folder takes new files and no folder has an output's name."""
    if not os.access(out_dir, os.W_OK | os.X_OK):
        try:
            ro = bool(os.statvfs(out_dir).f_flag & os.ST_RDONLY)
        except OSError:
            ro = False
        why = "read-only file system" if ro else "permission denied"
        raise _fault(out_dir, f"cannot write to the output folder: {why}")
    for t in targets:
        try:
            mode = os.lstat(t).st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise _fault(t, f"cannot write the output: {cause(exc)}") from None
        if stat.S_ISDIR(mode):
            raise _fault(t, "a folder has the output's name; move or rename it (nothing was written)")
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            raise _fault(t, "something other than a file has the output's name; move it (nothing was written)")


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
        try:  # the pid is for messages only: a full disk must not stop the build here
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
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
    return sorted(p for p in PACKAGE_DIR.rglob("*") if p.is_file() and p.suffix in (".py", ".html", ".xhtml", ".j2", ".css", ".txt", ".svg", ".yaml", ".json", ".js", ".docx", ".conf", ".toml", ".md") and "__pycache__" not in p.parts)


def _library_versions(fmt: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in WRITERS[fmt].libraries:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "-"
    return out


def style_files(fmt: str, styles_dir: Path) -> list[Path]:
    """The files in styles/ that an output of ``fmt`` depends on."""
    return _glob_files(styles_dir, WRITERS[fmt].styles)


def dependencies(fmt: str, inputs: list[Path], resolver: Resolver) -> list[Path]:
    """Every file an output of ``fmt`` is made from."""
    return sorted(set(inputs) | set(style_files(fmt, resolver.styles_dir)) | set(_package_files()))


def _merge_digests(into: dict[str, str], more: dict[str, str]) -> None:
    """Add ``more``; a file seen with two different hashes changed during the build."""
    for path, digest in more.items():
        if into.get(path, digest) != digest:
            into[path] = CHANGED
        else:
            into[path] = digest


@dataclass
class Manifest:
    """OUT/.publish-cache/<stem>.json: per format, the hashes it was made from
    (of the bytes the build read) and the warnings its source deserved."""

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

    def to_bytes(self) -> bytes:
        return json.dumps({"version": MANIFEST_VERSION, "formats": self.entries}, indent=1, sort_keys=True).encode()

    def save(self) -> None:
        write_atomic(self.path, self.to_bytes())

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

    def record(self, fmt: str, key: str, output_digest: str, output_stat: list[int], inputs: dict[str, str],
               style_files: list[Path], diagnostics: list[Diagnostic]) -> None:
        """``inputs``: path -> sha256 of the bytes this build read (never re-read from disk here)."""
        self.entries[fmt] = {
            "key": key,
            "styles": [str(p) for p in style_files],
            "output": output_digest,
            "output_stat": output_stat,
            "inputs": dict(sorted(inputs.items())),
            "diagnostics": [d.as_dict() for d in diagnostics],
        }

    def diagnostics(self, fmt: str) -> list[Diagnostic]:
        """The warnings recorded with ``fmt``'s output (repeated by a cached build)."""
        out = []
        for d in self.entries.get(fmt, {}).get("diagnostics", []):
            try:
                out.append(Diagnostic(**d))
            except TypeError:
                pass
        return out


def options_key(fmt: str, options: RenderOptions, epoch_from_env: bool) -> str:
    from . import __version__

    payload = {
        "format": fmt,
        "paper": options.paper if fmt == "pdf" else None,
        "epoch": options.epoch if epoch_from_env else "inputs",
        "publish": __version__,
        "libraries": _library_versions(fmt),
    }
    if fmt == "html":
        payload["images"] = options.html_images
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- workers


@dataclass(frozen=True)
class RenderTask:
    """One format of one article: everything a worker needs (the writers' table
    row, the model, the options and a resolver holding the bytes of every input),
    picklable; a worker renders it without reading anything else."""

    writer: Writer
    doc: Document
    options: RenderOptions
    resolver: Resolver


def run_task(task: RenderTask) -> tuple[str, object]:
    """Render one task in this process: ('ok', (files, reads)) or ('error', diagnostics
    as dicts); never raises (a writer's crash is a render failure, never a traceback)."""
    writer, doc, resolver = task.writer, task.doc, task.resolver
    fmt = writer.name
    try:
        resolver.reads.clear()  # from here: what this format reads (from the snapshot, or itself)
        data = writer.render(doc, task.options, resolver)
        read = {str(p): resolver.snapshot[str(p)].digest for p in resolver.reads if str(p) in resolver.snapshot}
        return "ok", (data, read)
    except PublishError as exc:
        return "error", [d.as_dict() for d in exc.diagnostics]
    except BaseException as exc:  # noqa: BLE001 - reported as a render failure, never a traceback
        return "error", [Diagnostic(doc.source_path, 1, 1, "error",
                                    f"{fmt.upper()} writer failed: {type(exc).__name__}: {exc}").as_dict()]


LOGGER = "publish"  # writers may log to publish.* (e.g. publish.pdf) at INFO: see run_task_logged


class _InfoRecords(logging.Handler):
    """Collects the INFO records of one render, one line each (WARNING and up take their usual way)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            return
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is still a line, never a crash
            message = str(record.msg)
        self.lines.append(" ".join(message.split("\n")).strip())


def run_task_logged(task: RenderTask) -> tuple[str, object, list[str]]:
    """``run_task`` in a worker, plus the INFO records logged to ``publish.*`` while
    it ran (their messages, one line each): (status, payload, lines)."""
    logger = logging.getLogger(LOGGER)
    handler = _InfoRecords()
    level = logger.level
    logger.addHandler(handler)
    if not logger.isEnabledFor(logging.INFO):
        logger.setLevel(logging.INFO)
    try:
        status, payload = run_task(task)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return status, payload, handler.lines


def _worker(writer: Writer, doc: Document, options: RenderOptions, resolver: Resolver, conn) -> None:
    """Runs in a child process: render one format (the writers' table row it is
    given), send back ('ok', (files, reads), lines) or ('error', diags, lines)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    try:
        conn.send(run_task_logged(RenderTask(writer, doc, options, resolver)))
    finally:
        conn.close()


def _worker_waiting(preload: tuple[str, ...], tasks, conn) -> None:
    """Runs in a child process started before the source is read (``prestart_workers``):
    import the writer (WeasyPrint: about a second) meanwhile, then render the task
    that follows over ``tasks``, as ``_worker`` does."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the render reports what is missing
            pass
    try:
        args = tasks.recv()
    except (EOFError, OSError):  # the build ended without a task for it
        return
    finally:
        tasks.close()
    _worker(*args, conn)


def prestart_workers(formats: tuple[str, ...], jobs: int) -> dict[str, tuple]:
    """Start the workers of the first formats ``render_parallel`` will render, now: each
    imports its writer while this process reads and checks the source (two cores, two
    things at once). ``render_parallel(prestarted=...)`` hands them their tasks;
    ``stop_workers`` ends the ones left without one."""
    import multiprocessing as mp

    from .pool import preload_modules

    ctx = mp.get_context("spawn")
    started: dict[str, tuple] = {}
    for fmt in formats[:max(jobs, 1)]:
        # two one-way pipes, not a duplex one: that would be a socket pair, and a build
        # opens no socket (the hostile-input audit checks it)
        task_recv, task_send = ctx.Pipe(duplex=False)
        result_recv, result_send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_worker_waiting, args=(preload_modules((fmt,)), task_recv, result_send),
                           daemon=True)
        proc.start()
        task_recv.close()
        result_send.close()
        started[fmt] = (proc, task_send, result_recv)
    return started


def stop_workers(started: dict[str, tuple]) -> None:
    for proc, *conns in started.values():
        proc.kill()
        proc.join()
        for conn in conns:
            conn.close()
    started.clear()


@dataclass
class FormatResult:
    format: str
    path: Path
    status: str  # "written" | "unchanged" | "cached" | "failed" | "kept" (not written: another format failed)
    size: int = 0
    seconds: float = 0.0
    diagnostics: list[Diagnostic] = field(default_factory=list)


Event = Callable[[str, str, dict], None]  # (format, state, info)
# states: "rendering", "log" ({"message": a writer's INFO line}), "rendered", "failed", "cached",
# "written", "unchanged"; format "*" for the build's own messages ("waiting", "recovered")


def render_parallel(
    formats: tuple[str, ...],
    doc: Document,
    options: RenderOptions,
    resolver: Resolver,
    *,
    jobs: int,
    timeout: float,
    on_event: Event | None = None,
    reads: dict[str, dict[str, str]] | None = None,
    finished: list | None = None,
    prestarted: dict[str, tuple] | None = None,
) -> Iterator[tuple[str, bytes | None, list[Diagnostic], float]]:
    """Render formats in worker processes (at most ``jobs`` at once); yields as each ends.

    ``reads`` receives, per format, the hashes of every file its worker read
    (the snapshot it was given, and anything it had to read itself).

    A result is yielded as soon as it is received: the worker's interpreter
    shutting down (about 0.4 s) is off the critical path. Workers that sent
    their result are put in ``finished`` for the caller to ``reap`` once it has
    used the results (after the commit); without ``finished`` they are reaped
    when the generator ends. A format in ``prestarted`` (``prestart_workers``) is
    given to its waiting worker, and taken out of the dict."""
    import multiprocessing as mp

    # spawn, not fork: a worker holds only what it renders (a forked one would carry
    # the parent's whole heap in its resident set), and no lock or thread state leaks in.
    ctx = mp.get_context("spawn")
    pending = list(formats)
    running: dict[str, tuple] = {}
    done: list = finished if finished is not None else []
    emit = on_event or (lambda *a: None)
    try:
        while pending or running:
            while pending and len(running) < max(jobs, 1):
                fmt = pending.pop(0)
                proc, send, recv = (prestarted or {}).pop(fmt, (None, None, None))
                if proc is not None:
                    try:
                        send.send((WRITERS[fmt], doc, options, resolver))
                        send.close()
                    except OSError:  # it died waiting: start another
                        stop_workers({fmt: (proc, send, recv)})
                        proc = None
                if proc is None:
                    recv, send = ctx.Pipe(duplex=False)
                    proc = ctx.Process(target=_worker, args=(WRITERS[fmt], doc, options, resolver, send), daemon=True)
                    proc.start()
                    send.close()
                running[fmt] = (proc, recv, time.monotonic())
                emit(fmt, "rendering", {})
            ready = mp.connection.wait([r for _, r, _ in running.values()], timeout=0.1)
            now = time.monotonic()
            for fmt, (proc, recv, started) in list(running.items()):
                elapsed = now - started
                if recv in ready:
                    logs: list[str] = []
                    try:
                        status, payload, logs = recv.recv()
                    except EOFError:  # the worker died without a word (killed, crashed)
                        proc.join()  # dead already: its exit code for the message
                        status, payload = "error", [Diagnostic(doc.source_path, 1, 1, "error",
                                                               f"{fmt.upper()} writer process died (exit code {proc.exitcode})").as_dict()]
                    recv.close()
                    del running[fmt]
                    done.append(proc)  # reaped later: its result is used first
                    yield _task_result(fmt, status, payload, logs, elapsed, emit, reads)
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
        if finished is None:
            reap(done)


def _task_result(fmt: str, status: str, payload, logs: list[str], secs: float, emit: Event,
                 reads: dict[str, dict[str, str]] | None) -> tuple[str, bytes | None, list[Diagnostic], float]:
    """One worker's answer (from a fresh worker or the pool) as the build uses it: its
    info lines emitted as "log" events, the files it read recorded in ``reads``."""
    for line in logs:
        emit(fmt, "log", {"message": line})
    if status != "ok":
        return fmt, None, [Diagnostic(**d) for d in payload], secs
    data, digests = payload
    if reads is not None:
        reads[fmt] = digests
    return fmt, data, [], secs


_RUNS = itertools.count()


def render_on_pool(
    tasks: dict[str, RenderTask],
    pool,
    *,
    on_event: Event | None = None,
    reads: dict[str, dict[str, str]] | None = None,
) -> Iterator[tuple[str, bytes | None, list[Diagnostic], float]]:
    """``render_parallel`` on a pool of long-lived, warm workers (``pool.LocalPool``,
    e.g. the one ``publish watch`` keeps): the same results, diagnostics, reads and
    events; the pool's time-out applies, and a worker that dies or times out is
    replaced by the pool. Tasks of this call still running when it is left (an
    interrupt) are cancelled, so the pool is clean for the next build."""
    emit = on_event or (lambda *a: None)
    run = next(_RUNS)
    waiting = set(tasks)
    try:
        for fmt, task in tasks.items():
            pool.submit((run, fmt), task)
            emit(fmt, "rendering", {})
        while waiting:
            for key, status, payload, secs, logs in pool.poll(0.1):
                if not (isinstance(key, tuple) and key[0] == run and key[1] in waiting):
                    continue  # not ours (a cancelled call's)
                fmt = key[1]
                waiting.discard(fmt)
                yield _task_result(fmt, status, payload, logs, secs, emit, reads)
    finally:
        if waiting:
            pool.cancel()


def reap(procs: list, grace: float = 2.0) -> None:
    """Join worker processes that already sent their result (their interpreter is
    shutting down); one still alive after ``grace`` seconds is killed. Empties ``procs``."""
    deadline = time.monotonic() + grace
    while procs:
        proc = procs.pop()
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join()


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
    strict: bool = False  # warnings are errors (nothing is written)
    html_images: str = "inline"  # the HTML edition's images: "inline" (data: URIs) or "files"


@dataclass
class BuildReport:
    results: list[FormatResult]
    diagnostics: list[Diagnostic]

    @property
    def exit_code(self) -> int:
        return 3 if any(r.status == "failed" for r in self.results) else 0


def _ordered(diags) -> list[Diagnostic]:
    return sorted(set(diags), key=lambda d: (d.path, d.line, d.col, d.severity, d.message))


def _package_templates() -> list[Path]:
    """The package's templates and default styles: read into every build's snapshot
    (a render task's resolver serves nothing else)."""
    return sorted(p for d in ("templates", "styles") for p in (PACKAGE_DIR / d).rglob("*") if p.is_file())


def _snapshot_digest(resolver: Resolver, path: Path) -> str:
    """Read ``path`` into the build's snapshot (once) and return the hash of those bytes."""
    from .resources import ResourceError

    try:
        resolver.read_bytes(path)
        return resolver.snapshot[os.path.realpath(path)].digest
    except (ResourceError, OSError):  # e.g. a style file linked from outside: no writer may read it
        try:
            return _digest_file(path)
        except OSError:
            return CHANGED


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


@dataclass(frozen=True)
class RunSettings:
    """What a request fixes for every article of a run: formats, options, epoch source."""

    formats: tuple[str, ...]
    options: RenderOptions
    epoch_from_env: bool


def settings(req: BuildRequest, environ: dict[str, str] | None = None) -> RunSettings:
    """The run's settings; BadEnvironment (exit 2) for a bad SOURCE_DATE_EPOCH."""
    env = dict(os.environ if environ is None else environ)
    try:
        epoch_from_env = epoch_from(env) is not None
    except ValueError as exc:
        raise BadEnvironment(Diagnostic("SOURCE_DATE_EPOCH", 1, 1, "error", str(exc))) from None
    formats = tuple(dict.fromkeys(req.formats or available_formats()))
    options = RenderOptions.from_env(paper=req.paper, environ=env,  # type: ignore[arg-type]
                                     html_images=req.html_images)  # type: ignore[arg-type]
    return RunSettings(formats, options, epoch_from_env)


def lock_out_dir(out_dir: Path, wait: float, emit: Event) -> BuildLock:
    """Create the output folder and take its lock (LockBusy, OutputError)."""
    prepare_out_dir(out_dir)
    lock = BuildLock(out_dir, wait=wait, on_wait=lambda m: emit("*", "waiting", {"message": m}))
    try:
        lock.__enter__()
    except OSError as exc:
        raise _fault(out_dir, f"cannot write to the output folder: {cause(exc)}") from None
    return lock


def build(req: BuildRequest, on_event: Event | None = None, environ: dict[str, str] | None = None,
          pool=None) -> BuildReport:
    """Build the requested formats. Raises PublishError (exit 1) on input errors,
    BadEnvironment (2), LockBusy (4), OutputError (5) when the output folder
    cannot take the outputs. With ``pool`` (a ``pool.LocalPool``) the formats are
    rendered by its warm workers instead of a fresh process each."""
    emit = on_event or (lambda *a: None)
    run = settings(req, environ)
    lock = lock_out_dir(Path(req.out_dir), req.lock_wait, emit)
    try:
        return _build_locked(req, run, emit, pool)
    finally:
        lock.__exit__(None, None, None)


@dataclass
class Article:
    """One article's build, under its folder's lock: what the cache says is left
    to do, then (after ``read_article``) the model and the snapshot it renders from.
    The single build and the batch (publish.batch) go through the same stages:
    ``plan_article`` → ``read_article`` → render ``tasks`` anywhere → ``commit_article``."""

    req: BuildRequest
    run: RunSettings
    source: Path
    out_dir: Path
    targets: dict[str, Path]
    package: dict[str, str]
    manifest: Manifest
    keys: dict[str, str]
    styles: dict[str, list[Path]]
    todo: list[str]
    results: dict[str, FormatResult]
    diagnostics: list[Diagnostic]
    # after read_article
    doc: Document | None = None
    resolver: Resolver | None = None
    options: RenderOptions | None = None
    read_diags: list[Diagnostic] = field(default_factory=list)
    source_digests: dict[str, str] = field(default_factory=dict)
    style_digests: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def formats(self) -> tuple[str, ...]:
        return self.run.formats

    def report(self) -> BuildReport:
        return BuildReport([self.results[f] for f in self.formats], _ordered(self.diagnostics))

    def tasks(self) -> dict[str, RenderTask]:
        """One render task per format left to do, each with a resolver that serves
        only the snapshot (no file-system access on the worker)."""
        assert self.doc is not None and self.resolver is not None and self.options is not None
        frozen = self.resolver.frozen()
        return {fmt: RenderTask(WRITERS[fmt], self.doc, self.options, frozen) for fmt in self.todo}


def plan_article(req: BuildRequest, run: RunSettings, emit: Event) -> Article:
    """Under the lock: roll back an interrupted commit, then ask the cache what is
    left to do. Cached formats are settled here (their recorded warnings repeated)."""
    source, out_dir, formats = Path(req.source), Path(req.out_dir), run.formats
    targets = {fmt: out_dir / WRITERS[fmt].filename(source.stem) for fmt in formats}
    try:  # a killed build's interrupted commit is rolled back, its temporary files removed
        if txn.recover(out_dir, (out_dir / CACHE_DIR,)):
            emit("*", "recovered", {"message": "an interrupted build was rolled back: previous outputs restored"})
        remove_stale_temporaries(out_dir, source.stem)
    except OSError as exc:
        raise _fault(out_dir, f"cannot clean up after an interrupted build: {cause(exc)}") from None
    # The package's code, hashed before anything is read or rendered: a change
    # after this point makes the next build render again, never the reverse.
    package = {str(p): _digest_file(p) for p in _package_files()}
    manifest = Manifest.load(out_dir, source.stem)
    keys = {fmt: options_key(fmt, run.options, run.epoch_from_env) for fmt in formats}
    styles_dir = Resolver.for_source(source).styles_dir
    styles = {fmt: style_files(fmt, styles_dir) for fmt in formats}
    todo = [f for f in formats
            if not (req.use_cache and manifest.is_fresh(f, keys[f], targets[f], styles[f]))]
    results: dict[str, FormatResult] = {}
    diagnostics: list[Diagnostic] = []
    for fmt in formats:
        if fmt not in todo:
            results[fmt] = FormatResult(fmt, targets[fmt], "cached", targets[fmt].stat().st_size)
            diagnostics += manifest.diagnostics(fmt)  # the warnings its source still deserves
            emit(fmt, "cached", {"size": results[fmt].size})
    if req.strict and not todo:
        # cached outputs were made from this very input: under --strict its
        # warnings must still stop the build
        _doc, diag = read(source, None, strict=True)
        if diag.errors:
            raise PublishError(diag.sorted())
    return Article(req, run, source, out_dir, targets, package, manifest, keys, styles, todo, results, diagnostics)


def read_article(a: Article, resolver: Resolver | None = None) -> None:
    """Read the article once into its snapshot (PublishError on input errors);
    ``resolver`` may be one that shares bytes already read in a batch."""
    check_writable(a.out_dir, [a.targets[f] for f in a.todo])
    resolver = resolver or Resolver.for_source(a.source)
    doc, diag = read(a.source, resolver, formats=tuple(a.todo), strict=a.req.strict)
    a.read_diags = _ordered(diag.items)
    if doc is None:
        raise PublishError(diag.sorted())
    a.diagnostics = _ordered(a.diagnostics + a.read_diags)
    # The snapshot: every input read once, here, before any worker starts; the
    # workers get these bytes with the resolver and the cache records their hashes.
    source_files = list(resolver.reads)
    for p in source_files:
        resolver.read_bytes(p)
    a.source_digests = resolver.digests()
    a.style_digests = {fmt: {str(p): _snapshot_digest(resolver, p) for p in a.styles[fmt]} for fmt in a.todo}
    for p in _package_templates():
        _snapshot_digest(resolver, p)
    options = a.run.options
    if not a.run.epoch_from_env:
        # No SOURCE_DATE_EPOCH: date outputs by their newest input (as read), so
        # that identical inputs still give identical bytes.
        options = RenderOptions(paper=options.paper, html_images=options.html_images,
                                epoch=int(max(resolver.snapshot[str(p)].mtime for p in source_files)))
    a.doc, a.resolver, a.options = doc, resolver, options


def commit_article(a: Article, rendered: dict[str, tuple[dict[str, bytes], float]],
                   worker_reads: dict[str, dict[str, str]], emit: Event) -> BuildReport:
    """Commit a complete set (outputs and manifest, all or nothing) or, if any
    format failed (already in ``a.results``), keep every previous output."""
    formats, targets, out_dir, source = a.formats, a.targets, a.out_dir, a.source
    results = a.results
    if any(r.status == "failed" for r in results.values()):
        for fmt, (data, secs) in rendered.items():
            results[fmt] = FormatResult(fmt, targets[fmt], "kept", len(data[""]), secs)
        return BuildReport([results[f] for f in formats], a.diagnostics)

    # every file of every format (a writer may make several: writers.WRITERS)
    files = {fmt: {out_dir / WRITERS[fmt].filename(source.stem, key): d for key, d in data.items()}
             for fmt, (data, _) in rendered.items()}
    changed = {fmt: f for fmt, f in files.items() if not all(_same_bytes(p, d) for p, d in f.items())}
    assert a.resolver is not None
    templates = {p: d for p, d in a.resolver.digests().items() if Path(p).is_relative_to(PACKAGE_DIR)}

    def record(stats: dict[Path, os.stat_result]) -> dict[Path, bytes]:
        for fmt, (data, _) in rendered.items():
            st = stats.get(targets[fmt]) or targets[fmt].stat()
            inputs = dict(a.package)
            for more in (templates, a.source_digests, a.style_digests[fmt], worker_reads.get(fmt, {})):
                _merge_digests(inputs, more)
            a.manifest.record(fmt, a.keys[fmt], hashlib.sha256(data[""]).hexdigest(), [st.st_size, st.st_mtime_ns],
                              inputs, a.styles[fmt], a.read_diags)
        return {a.manifest.path: a.manifest.to_bytes()}

    try:
        txn.commit(out_dir, {p: d for f in changed.values() for p, d in f.items()}, late=record)
    except txn.CommitError as exc:
        what = exc.path.name if exc.path != out_dir / txn.JOURNAL else "the commit journal"
        raise _fault(out_dir, f"cannot write {what}: {cause(exc.cause)}; previous outputs kept") from None
    for fmt, (data, secs) in rendered.items():
        results[fmt] = FormatResult(fmt, targets[fmt], "written" if fmt in changed else "unchanged", len(data[""]), secs)
        emit(fmt, results[fmt].status, {"size": len(data[""]), "seconds": secs})
    return BuildReport([results[f] for f in formats], a.diagnostics)


def _build_locked(req: BuildRequest, run: RunSettings, emit: Event, pool=None) -> BuildReport:
    a = plan_article(req, run, emit)
    if not a.todo:
        return a.report()
    jobs = req.jobs or os.cpu_count() or 1
    prestarted = prestart_workers(tuple(a.todo), jobs) if pool is None else {}
    try:
        read_article(a)
        return _render_and_commit(a, req, emit, pool, jobs, prestarted)
    finally:
        stop_workers(prestarted)  # the ones the build did not use (a read error, a fake renderer)


def _render_and_commit(a: Article, req: BuildRequest, emit: Event, pool, jobs: int,
                       prestarted: dict[str, tuple]) -> BuildReport:
    assert a.doc is not None and a.resolver is not None and a.options is not None
    rendered: dict[str, tuple[dict[str, bytes], float]] = {}
    worker_reads: dict[str, dict[str, str]] = {}
    finished: list = []  # workers that sent their result: reaped after the commit
    if pool is not None:  # the same task a fresh worker would get (the build's resolver)
        tasks = {fmt: RenderTask(WRITERS[fmt], a.doc, a.options, a.resolver) for fmt in a.todo}
        renders = render_on_pool(tasks, pool, on_event=emit, reads=worker_reads)
    else:
        renders = render_parallel(tuple(a.todo), a.doc, a.options, a.resolver, jobs=jobs, timeout=req.timeout,
                                  on_event=emit, reads=worker_reads, finished=finished, prestarted=prestarted)
    try:
        for fmt, data, diags, secs in renders:
            if data is None:
                a.results[fmt] = FormatResult(fmt, a.targets[fmt], "failed", 0, secs, diags)
                emit(fmt, "failed", {"seconds": secs})
            else:
                rendered[fmt] = (data, secs)
                emit(fmt, "rendered", {"size": len(data[""]), "seconds": secs})
        # Commit only a complete set: if any format failed, every previous output
        # stays exactly as it was.
        return commit_article(a, rendered, worker_reads, emit)
    finally:
        renders.close()  # left early (an interrupt): its running workers are stopped now
        reap(finished)
