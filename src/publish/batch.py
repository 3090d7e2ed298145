"""Many articles at once: ``publish build a.md b.md dir/ 'series/*.md'``.

Each article goes through the single build's stages (``build.plan_article`` →
``read_article`` → render tasks → ``commit_article``): its own output folder,
cache entry, lock and all-or-nothing commit. What the batch adds is the
scheduling: every article × format left to do is a task for one executor — a
pool of long-lived local workers (``pool.LocalPool``, the default) or a Dask
cluster (``dask_executor.DaskPool``) — so the cores stay busy across article
boundaries, and the interpreter start-up and the writer imports (WeasyPrint)
are paid once per worker, not once per article.

Articles are read in this process, one after another, while the workers render
the ones before (at most two tasks per worker are kept outstanding, which
bounds the memory held by read snapshots). A file several articles read (one
glossary for a series, the styles, the templates) is read from disk once per
batch. Tasks carry a resolver that serves only the snapshot of their article.

The exit code is the worst (highest) of all articles'. ``keep_going`` (the
default) builds every article whatever the others do; without it the first
failure stops the batch: running tasks are stopped, their articles keep their
previous outputs, and the rest are not started.
"""

from __future__ import annotations

import glob
import os
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from .build import (Article, BuildLock, BuildReport, BuildRequest, FormatResult, RunSettings, cause, commit_article,
                    lock_out_dir, plan_article, read_article, settings)
from .diagnostics import Diagnostic, PublishError
from .resources import Resolver, Snapshot

GLOB_CHARS = set("*?[")


class BadSources(PublishError):
    exit_code = 2


# --------------------------------------------------------------------------- sources and folders


def has_front_matter(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(5)
    except OSError:
        return False
    return head.startswith(b"---\n") or head.startswith(b"---\r\n") or head.startswith(b"\xef\xbb\xbf---")


def _under(folder: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if name.endswith(".md") and not name.startswith(".") and has_front_matter(p):
                found.append(p)
    return found


def expand_sources(args: list[str | Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Files as given, folders to every ``*.md`` with front matter under them, globs
    (``**`` included) to what they match; in order, each article once. A name that
    matches nothing is a diagnostic (exit 1), the others are still built."""
    out: list[Path] = []
    seen: set[str] = set()
    missing: list[Diagnostic] = []

    def add(p: Path) -> None:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            out.append(p)

    for arg in args:
        p = Path(arg)
        if p.is_dir():
            for f in _under(p):
                add(f)
        elif p.is_file():
            add(p)
        elif GLOB_CHARS & set(str(arg)):
            matched = sorted(glob.glob(str(arg), recursive=True))
            for m in matched:
                mp = Path(m)
                if mp.is_dir():
                    for f in _under(mp):
                        add(f)
                elif mp.is_file() and mp.suffix == ".md":
                    add(mp)
            if not matched:
                missing.append(Diagnostic(str(arg), 1, 1, "error", "no source file matches"))
        else:
            missing.append(Diagnostic(str(arg), 1, 1, "error", "source file not found"))
    return out, missing


def output_folders(sources: list[Path], pattern: str | None, default: str) -> list[Path]:
    """Each article's output folder. ``pattern`` may hold ``{stem}`` (the source's
    name without .md) and ``{parent}`` (its folder's name); without a placeholder
    it is the folder of a single article, or the parent of ``<pattern>/<stem>/``
    for several. Two articles that would write the same files are an error."""
    if pattern is None:
        pattern = default if len(sources) == 1 else str(Path(default) / "{stem}")
    elif "{" not in pattern and len(sources) > 1:
        pattern = str(Path(pattern) / "{stem}")
    outs = []
    for s in sources:
        try:
            outs.append(Path(pattern.format_map({"stem": s.stem, "parent": s.resolve().parent.name})))
        except (KeyError, ValueError, IndexError) as exc:
            raise BadSources(Diagnostic("--out", 0, 0, "error",
                                        f"bad output pattern {pattern!r} ({exc}); use {{stem}} and {{parent}}")) from None
    taken: dict[tuple[str, str], Path] = {}
    for s, o in zip(sources, outs):
        k = (os.path.abspath(o), s.stem)
        if k in taken:
            raise BadSources(Diagnostic(str(s), 1, 1, "error",
                                        f"{taken[k]} and {s} would write the same files in {o}; "
                                        "put {parent} in --out (e.g. --out 'out/{parent}/{stem}')"))
        taken[k] = s
    return outs


# --------------------------------------------------------------------------- the batch


@dataclass
class ArticleResult:
    source: Path
    out_dir: Path
    status: str  # "built" | "cached" | "failed" | "stopped" (fail-fast) | "not started"
    exit_code: int = 0
    report: BuildReport | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)  # input or folder errors (no report)
    seconds: float = 0.0

    def all_diagnostics(self) -> list[Diagnostic]:
        out = list(self.diagnostics)
        if self.report:
            out += self.report.diagnostics
            for r in self.report.results:
                out += r.diagnostics
        return out


@dataclass
class BatchReport:
    articles: list[ArticleResult]
    seconds: float = 0.0
    formats_rendered: int = 0

    @property
    def exit_code(self) -> int:
        return max((a.exit_code for a in self.articles), default=0)


@dataclass(frozen=True)
class BatchRequest:
    sources: tuple[Path, ...]
    out_dirs: tuple[Path, ...]
    base: BuildRequest  # formats, paper, cache, jobs, timeout, lock wait, strict, html images
    keep_going: bool = True
    executor: str = "local"  # "local" | "dask"
    scheduler: str | None = None  # the Dask scheduler's address (tcp://HOST:PORT)


BatchEvent = Callable[[str, dict], None]
# ("start", {"articles": n, "formats": k}), ("format", {"source", "format", "ok", "seconds", "logs"}),
# ("article", {"result": ArticleResult}), ("message", {"message": str})


def make_executor(breq: BatchRequest, run: RunSettings, on_start=None):
    if breq.executor == "dask":
        from .dask_executor import ClusterError, DaskPool

        if not breq.scheduler:
            raise ClusterError(Diagnostic("--scheduler", 0, 0, "error",
                                          "--executor dask needs --scheduler tcp://HOST:PORT (or scheduler in [tool.publish])"))
        return DaskPool(breq.scheduler, breq.base.timeout, on_start=on_start)
    from .pool import LocalPool, preload_modules

    jobs = breq.base.jobs or os.cpu_count() or 1
    return LocalPool(jobs, breq.base.timeout, preload=preload_modules(run.formats), on_start=on_start)


@dataclass
class _Open:
    index: int
    article: Article
    started: float
    rendered: dict[str, tuple[dict[str, bytes], float]] = field(default_factory=dict)
    reads: dict[str, dict[str, str]] = field(default_factory=dict)
    waiting: set[str] = field(default_factory=set)


def build_batch(breq: BatchRequest, on_event: BatchEvent | None = None, environ: dict[str, str] | None = None,
                executor: Any = None) -> BatchReport:
    """Build every article; never raises for one article's fault (it is in its
    ArticleResult). Raises for what stops the whole batch: a bad SOURCE_DATE_EPOCH,
    an unreachable or mismatched cluster."""
    emit = on_event or (lambda *a: None)
    t0 = time.monotonic()
    run = settings(breq.base, environ)
    n = len(breq.sources)
    results: list[ArticleResult | None] = [None] * n
    emit("start", {"articles": n, "formats": len(run.formats)})
    pool = executor or make_executor(breq, run)
    shared: dict[str, Snapshot] = {}  # bytes read once per batch
    locks: dict[str, list] = {}  # out folder -> [BuildLock, users]
    pending = deque(range(n))
    open_: dict[int, _Open] = {}
    rendered_count = 0
    stopping = False

    def quiet(*a: object) -> None:
        pass

    def take_lock(out: Path) -> None:
        key = os.path.abspath(out)
        if key not in locks:
            locks[key] = [lock_out_dir(out, breq.base.lock_wait,
                                       lambda _f, _s, info: emit("message", {"message": f"{out}: {info['message']}"})), 0]
        locks[key][1] += 1

    def drop_lock(out: Path) -> None:
        key = os.path.abspath(out)
        entry = locks.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] <= 0:
            entry[0].__exit__(None, None, None)
            del locks[key]

    def finish(i: int, res: ArticleResult) -> None:
        nonlocal stopping
        results[i] = res
        emit("article", {"result": res})
        if res.exit_code and not breq.keep_going:
            stopping = True

    def failed(i: int, exc: BaseException, started: float) -> ArticleResult:
        src, out = breq.sources[i], breq.out_dirs[i]
        if isinstance(exc, PublishError):
            return ArticleResult(src, out, "failed", exc.exit_code, None, list(exc.diagnostics),
                                 time.monotonic() - started)
        assert isinstance(exc, OSError)
        return ArticleResult(src, out, "failed", 5, None,
                             [Diagnostic(str(exc.filename or out), 0, 0, "error", cause(exc))], time.monotonic() - started)

    def open_article(i: int) -> None:
        src, out = breq.sources[i], breq.out_dirs[i]
        started = time.monotonic()
        req = replace(breq.base, source=src, out_dir=out)
        locked = False
        try:
            take_lock(out)
            locked = True
            a = plan_article(req, run, quiet)
            if not a.todo:
                drop_lock(out)
                finish(i, ArticleResult(src, out, "cached", 0, a.report(), [], time.monotonic() - started))
                return
            read_article(a, Resolver.for_source(src, shared=shared))
            o = _Open(i, a, started, waiting=set(a.todo))
            open_[i] = o
            for fmt, task in a.tasks().items():
                pool.submit((i, fmt), task)
        except (PublishError, OSError) as exc:
            open_.pop(i, None)
            if locked:
                drop_lock(out)
            finish(i, failed(i, exc, started))

    def close_article(o: _Open) -> None:
        a, i = o.article, o.index
        del open_[i]
        try:
            report = commit_article(a, o.rendered, o.reads, quiet)
        except (PublishError, OSError) as exc:
            drop_lock(a.out_dir)
            finish(i, failed(i, exc, o.started))
            return
        drop_lock(a.out_dir)
        code = report.exit_code
        finish(i, ArticleResult(a.source, a.out_dir, "failed" if code else "built", code, report, [],
                                time.monotonic() - o.started))

    try:
        while (pending and not stopping) or open_:
            while pending and not stopping and pool.busy() < 2 * pool.capacity:
                open_article(pending.popleft())
            if stopping and open_:
                pool.cancel()
                for i, o in list(open_.items()):
                    del open_[i]
                    drop_lock(o.article.out_dir)
                    results[i] = ArticleResult(o.article.source, o.article.out_dir, "stopped", 0,
                                               None, [], time.monotonic() - o.started)
                    emit("article", {"result": results[i]})
                break
            if not open_:
                continue
            for (i, fmt), status, payload, secs, logs in pool.poll(0.1):
                o = open_.get(i)
                if o is None or fmt not in o.waiting:
                    continue
                o.waiting.discard(fmt)
                a = o.article
                if status == "ok":
                    data, digests = payload
                    o.rendered[fmt] = (data, secs)
                    o.reads[fmt] = digests
                    rendered_count += 1
                else:
                    a.results[fmt] = FormatResult(fmt, a.targets[fmt], "failed", 0, secs,
                                                  [Diagnostic(**d) for d in payload])
                emit("format", {"source": a.source, "format": fmt, "ok": status == "ok", "seconds": secs,
                                "logs": logs})
                if not o.waiting:
                    close_article(o)
    finally:
        if executor is None:
            pool.close()
        for entry in locks.values():
            entry[0].__exit__(None, None, None)
        locks.clear()
    for i in range(n):
        if results[i] is None:
            results[i] = ArticleResult(breq.sources[i], breq.out_dirs[i], "not started")
    return BatchReport([r for r in results if r is not None], time.monotonic() - t0, rendered_count)


__all__ = ["ArticleResult", "BatchReport", "BatchRequest", "BuildLock", "build_batch", "expand_sources",
           "output_folders"]
