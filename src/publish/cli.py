"""Command line: arguments → build(); no logic here.

Exit codes: 0 ok, 1 errors in the input, 2 bad command line, 3 render failure
or time-out, 4 another build holds the lock, 5 the output folder cannot take
the outputs (not creatable, a file, read-only, full, over quota, a folder in an
output's place).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import click

from .diagnostics import Diagnostic, PublishError
from .options import FORMATS, HTML_IMAGES, PAPERS


def _emit(diags: list[Diagnostic]) -> None:
    for d in diags:
        click.echo(str(d), err=True)


def _config(source: Path | None = None):
    """The config beside ``source`` (or the current folder), then up to the project root."""
    from .config import find_config

    start = Path.cwd() if source is None else (source.parent if str(source.parent) else Path.cwd())
    try:
        return find_config(start if start.is_dir() else Path.cwd())
    except PublishError as exc:
        _emit(exc.diagnostics)
        sys.exit(2)


class _Choices(click.ParamType):
    """One or more names from ``choices``, any case, comma-separated (``pdf,EPUB``);
    the option may also be repeated. Converts to a tuple of canonical names."""

    name = "choices"

    def __init__(self, choices: tuple[str, ...]) -> None:
        self.choices = tuple(choices)

    def get_metavar(self, param, ctx=None) -> str:  # click >= 8.2 passes ctx
        return "[" + "|".join(self.choices) + "][,...]"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        out = []
        for part in str(value).split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name not in self.choices:
                self.fail(f"{part.strip()!r} is not one of {', '.join(self.choices)}", param, ctx)
            out.append(name)
        if not out:
            self.fail("no format named", param, ctx)
        return tuple(out)

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        head, _, last = incomplete.rpartition(",")
        prefix = head + "," if head else ""
        return [CompletionItem(prefix + c) for c in self.choices if c.startswith(last.lower())]


def _flat(values) -> tuple[str, ...]:
    """The names of a repeated comma-list option, in order, once each."""
    return tuple(dict.fromkeys(n for v in values or () for n in v))


def _source_or_exit(source: Path | None, default: Path | str) -> Path:
    src = Path(source or default)
    if not src.is_file():
        click.echo(f"{src}:1:1: error: source file not found", err=True)
        sys.exit(1)
    return src


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="publish", prog_name="publish")
def main() -> None:
    """Render one semantic article source to PDF, EPUB 3, DOCX and HTML.

    Shell completion: eval "$(publish completion bash)" (or zsh, fish)."""


@main.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=str,
              help="Output folder (default: out/); for several sources a pattern with {stem} and {parent} "
                   "(default: out/{stem}).")
@click.option("--format", "formats", type=_Choices(FORMATS), multiple=True,
              help="Format(s) to build: a comma list (pdf,epub) or repeated; any case. Default: all.")
@click.option("--paper", type=click.Choice(PAPERS, case_sensitive=False), help="PDF paper size (default: a4).")
@click.option("--quiet", "-q", is_flag=True, help="Print only diagnostics.")
@click.option("--verbose", "-v", is_flag=True, help="Also print what the writers report (e.g. the PDF's layout passes).")
@click.option("--no-cache", is_flag=True, help="Rebuild every format even if nothing changed.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Formats rendered at once (default: one per core).")
@click.option("--timeout", type=click.FloatRange(min=0.1), help="Seconds allowed per format (default: 300).")
@click.option("--wait", "lock_wait", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Seconds to wait for another build into the same folder (then exit 4).")
@click.option("--strict/--no-strict", default=None,
              help="Treat every warning as an error (exit 1, nothing written), like Sphinx -W (default: strict in publish.toml).")
@click.option("--html-images", type=click.Choice(HTML_IMAGES), default="inline", show_default=True,
              help="HTML edition: images as data: URIs in the page, or as files in OUT/<stem>_files/.")
@click.option("--keep-going/--fail-fast", default=True, show_default=True,
              help="Several sources: build every article whatever the others do, or stop at the first failure.")
@click.option("--executor", type=click.Choice(("local", "dask")),
              help="Where several sources render: worker processes here (default) or a Dask cluster.")
@click.option("--scheduler", help="The Dask scheduler's address, tcp://HOST:PORT (with --executor dask).")
def build(sources, out_dir, formats, paper, quiet, verbose, no_cache, jobs, timeout, lock_wait, strict, html_images,
          keep_going, executor, scheduler) -> None:
    """Build SOURCE... (default source/article.md) into OUT/<stem>.<format>.

    SOURCE may be files, folders (every *.md with front matter under them) and
    globs; several articles are built as one batch, each into its own folder."""
    from .build import BuildRequest

    cfg = _config(sources[0] if len(sources) == 1 and not _is_glob(sources[0]) else None)
    executor = executor or cfg.executor
    base = BuildRequest(
        source=cfg.at(cfg.source),
        out_dir=cfg.at(cfg.out),
        formats=_flat(formats) or cfg.formats,
        paper=paper or cfg.paper,
        use_cache=not no_cache,
        jobs=jobs or cfg.jobs,
        timeout=timeout or cfg.timeout,
        lock_wait=lock_wait,
        strict=cfg.strict if strict is None else strict,
        html_images=html_images,
    )
    single = (len(sources) <= 1 and executor == "local" and "{" not in (out_dir or "")
              and not (sources and (sources[0].is_dir() or (not sources[0].exists() and _is_glob(sources[0])))))
    if single:
        req = replace(base, source=_source_or_exit(sources[0] if sources else None, cfg.at(cfg.source)),
                      out_dir=Path(out_dir) if out_dir else cfg.at(cfg.out))
        sys.exit(_run_build(req, quiet, verbose))
    from .batch import BatchRequest, expand_sources, output_folders

    found, missing = expand_sources(list(sources) or [cfg.at(cfg.source)])
    _emit(missing)
    if not found:
        if not missing:
            click.echo(f"{', '.join(map(str, sources))}: error: no *.md source with front matter found", err=True)
        sys.exit(1)
    try:
        outs = output_folders(found, out_dir, cfg.out)
    except PublishError as exc:
        _emit(exc.diagnostics)
        sys.exit(exc.exit_code)
    breq = BatchRequest(tuple(found), tuple(outs), base, keep_going=keep_going, executor=executor,
                        scheduler=scheduler or cfg.scheduler or None)
    code = _run_batch(breq, quiet, verbose)
    sys.exit(max(code, 1 if missing else 0))


def _is_glob(p: Path) -> bool:
    return bool(set("*?[") & set(str(p)))


def _run_batch(breq, quiet: bool, verbose: bool = False) -> int:
    from .batch import build_batch

    progress = _BatchProgress(quiet, verbose)

    def run():
        with progress:
            return build_batch(breq, on_event=progress.event)

    report, code = _guarded(run, breq.base.out_dir)
    if report is None:
        return code
    progress.summary(report)
    return report.exit_code


class _BatchProgress:
    """One live display for the whole batch (articles done/failed, formats per
    second, ETA), each article's diagnostics as it ends, then a summary table."""

    def __init__(self, quiet: bool, verbose: bool = False) -> None:
        from rich.console import Console

        self.quiet = quiet
        self.verbose = verbose
        self.console = Console(stderr=True)
        self.progress = None
        self.task = None
        self.started = time.monotonic()
        self.formats_done = 0
        self.failed = 0

    def __enter__(self):
        if not self.quiet and self.console.is_terminal:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                       TimeRemainingColumn)

            self.progress = Progress(SpinnerColumn(), TextColumn("articles"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[failed]} failed"),
                                     TextColumn("{task.fields[rate]} formats/s"), TextColumn("ETA"),
                                     TimeRemainingColumn(), console=self.console, transient=True)
            self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def _say(self, line: str) -> None:
        if self.progress is not None:
            self.progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            click.echo(line, err=True)

    def event(self, kind: str, info: dict) -> None:
        if kind == "start":
            self.started = time.monotonic()
            if self.progress is not None:
                self.task = self.progress.add_task("batch", total=info["articles"], failed=0, rate="0.0")
        elif kind == "format":
            self.formats_done += 1
            if self.verbose:
                for line in info.get("logs", ()):
                    self._say(f"{info['source']}: {info['format']}: {line}")
        elif kind == "article":
            r = info["result"]
            self.failed += r.exit_code != 0
            for d in r.all_diagnostics():
                self._say(str(d))
        elif kind == "message":
            self._say(info.get("message", ""))
        if self.progress is not None and self.task is not None:
            secs = max(time.monotonic() - self.started, 1e-6)
            self.progress.update(self.task, advance=1 if kind == "article" else 0, failed=self.failed,
                                 rate=f"{self.formats_done / secs:.1f}")

    def summary(self, report) -> None:
        if self.quiet:
            return
        n = len(report.articles)
        built = sum(a.status == "built" for a in report.articles)
        cached = sum(a.status == "cached" for a in report.articles)
        failed = sum(a.exit_code != 0 for a in report.articles)
        rate = report.formats_rendered / report.seconds if report.seconds else 0.0
        line = (f"{n} articles: {built} built, {cached} cached, {failed} failed; {report.formats_rendered} formats "
                f"rendered in {report.seconds:.1f} s ({rate:.2f}/s, {60 * built / max(report.seconds, 1e-6):.1f} "
                f"articles/min); exit {report.exit_code}")
        if not self.console.is_terminal:  # logs and scripts: one plain line per article
            for a in report.articles:
                click.echo(f"{a.source}\t{a.out_dir}\t{a.status}\t{_counts(a)}\t{a.seconds:.1f}s\t{a.exit_code}",
                           err=True)
            click.echo(line, err=True)
            return
        from rich.table import Table

        t = Table(title=None, show_edge=False, header_style="bold")
        for col, just in (("source", "left"), ("output folder", "left"), ("formats", "left"),
                          ("seconds", "right"), ("status", "left")):
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for a in report.articles:
            t.add_row(str(a.source), str(a.out_dir), _counts(a), f"{a.seconds:.1f}",
                      a.status + (f" (exit {a.exit_code})" if a.exit_code else ""))
        self.console.print(t)
        self.console.print(line, markup=False, highlight=False)


def _counts(a) -> str:
    if a.report is None:
        return "-"
    by: dict[str, int] = {}
    for r in a.report.results:
        by[r.status] = by.get(r.status, 0) + 1
    return ", ".join(f"{v} {k}" for k, v in sorted(by.items()))


def _guarded(run, out_dir):
    """(report, 0) from ``run()``, or (None, exit code) with the fault said in one line:
    input errors, an interrupt, an output-folder fault the build did not name. Never a traceback."""
    try:
        return run(), 0
    except PublishError as exc:
        _emit(exc.diagnostics)
        return None, exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted: previous outputs kept", err=True)
        return None, 130
    except OSError as exc:
        from .build import cause

        click.echo(f"{exc.filename or out_dir}: error: {cause(exc)}", err=True)
        return None, 5


def _say_log(fmt: str, state: str, info: dict) -> None:
    """--verbose --quiet: only what the writers report, one line each."""
    if state == "log":
        click.echo(f"{fmt}: {info['message']}", err=True)


def _run_build(req, quiet: bool, verbose: bool = False, pool=None) -> int:
    """One build (on ``pool``'s warm workers if given); its diagnostics and summary; the exit code."""
    from .build import build as run_build

    progress = None if quiet else _Progress(req, verbose)

    def run():
        if not progress:
            return run_build(req, on_event=_say_log if verbose else None, pool=pool)
        with progress:
            return run_build(req, on_event=progress.event, pool=pool)

    report, code = _guarded(run, req.out_dir)
    if report is None:
        return code
    _emit(report.diagnostics)
    for r in report.results:
        _emit(r.diagnostics)
    if progress:
        progress.summary(report)
    return report.exit_code


class _Progress:
    """A live line per format while it renders, then a summary table (rich)."""

    def __init__(self, req, verbose: bool = False) -> None:
        from rich.console import Console

        from .build import available_formats

        self.verbose = verbose  # print the writers' INFO lines ("log" events)
        self.console = Console(stderr=True)
        self.formats = req.formats or available_formats()
        self.state = {f: ("queued", "") for f in self.formats}
        self.started: dict[str, float] = {}
        self.live = None

    def _table(self):
        from rich.spinner import Spinner
        from rich.table import Table

        t = Table.grid(padding=(0, 2))
        for fmt in self.formats:
            state, info = self.state[fmt]
            if state == "rendering":
                secs = time.monotonic() - self.started.get(fmt, time.monotonic())
                t.add_row(Spinner("dots"), fmt.upper(), f"rendering… {secs:.1f} s")
            else:
                t.add_row(" ", fmt.upper(), f"{state} {info}".strip())
        return t

    def __enter__(self):
        from rich.live import Live

        if self.console.is_terminal:
            self.live = Live(get_renderable=self._table, console=self.console, refresh_per_second=8, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc):
        if self.live is not None:
            self.live.__exit__(*exc)

    def event(self, fmt: str, state: str, info: dict) -> None:
        if fmt == "*":
            self.console.print(info.get("message", state))
            return
        if state == "log":
            if self.verbose:
                line = f"{fmt}: {info['message']}"
                if self.live is not None:
                    self.console.print(line, markup=False, highlight=False, soft_wrap=True)
                else:
                    click.echo(line, err=True)
            return
        if state == "rendering":
            self.started[fmt] = time.monotonic()
        self.state[fmt] = (state, "")

    def summary(self, report) -> None:
        if not self.console.is_terminal:  # logs and scripts: one plain line per file
            for r in report.results:
                secs = f"{r.seconds:.1f}s" if r.status != "cached" else "-"
                click.echo(f"{r.path}\t{r.size}\t{secs}\t{r.status}", err=True)
            return
        from rich.table import Table

        t = Table(title=None, show_edge=False, header_style="bold")
        t.add_column("file")
        t.add_column("size", justify="right")
        t.add_column("seconds", justify="right")
        t.add_column("status")
        for r in report.results:
            size = f"{r.size / 1024:,.0f} KiB" if r.size else "-"
            secs = f"{r.seconds:.1f}" if r.status != "cached" else "-"
            t.add_row(str(r.path), size, secs, r.status)
        self.console.print(t)


@main.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print diagnostics and counts as JSON on stdout.")
@click.option("--strict/--no-strict", default=None,
              help="Treat every warning as an error (exit 1, nothing written), like Sphinx -W (default: strict in publish.toml).")
def check(source: Path | None, as_json: bool, strict: bool | None) -> None:
    """Check SOURCE without writing anything; exit 1 if it has errors."""
    from .build import read
    from .check import counts

    cfg = _config(source)
    src = _source_or_exit(source, cfg.at(cfg.source))
    doc, diag = read(src, strict=cfg.strict if strict is None else strict)
    diags = diag.sorted()
    if as_json:
        payload = {
            "source": str(src),
            "ok": not diag.errors,
            "errors": len(diag.errors),
            "warnings": len(diag.warnings),
            "diagnostics": [d.as_dict() for d in diags],
            "counts": counts(doc).as_dict() if doc is not None else None,
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        _emit(diags)
        if not diag.errors:
            click.echo(f"{src}: ok ({len(diag.warnings)} warning(s))", err=True)
    sys.exit(1 if diag.errors else 0)


@main.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Output folder.")
@click.option("--format", "formats", type=_Choices(FORMATS), multiple=True,
              help="Format(s): a comma list or repeated; any case.")
@click.option("--paper", type=click.Choice(PAPERS, case_sensitive=False), help="PDF paper size.")
@click.option("--strict/--no-strict", default=None,
              help="Treat every warning as an error (exit 1, nothing written), like Sphinx -W (default: strict in publish.toml).")
@click.option("--verbose", "-v", is_flag=True, help="Also print what the writers report (e.g. the PDF's layout passes).")
def watch(source, out_dir, formats, paper, strict, verbose) -> None:
    """Rebuild on every save of the source, its side files or styles/ (Ctrl-C stops).

    The formats are rendered by warm workers, started once for the session (the
    writers, WeasyPrint and its fonts loaded once), not by a fresh process per save."""
    from watchfiles import watch as watch_files

    from .build import BuildRequest, available_formats
    from .pool import LocalPool
    from .resources import Resolver

    cfg = _config(source)
    src = _source_or_exit(source, cfg.at(cfg.source))
    req = BuildRequest(source=src, out_dir=Path(out_dir or cfg.at(cfg.out)), formats=_flat(formats) or cfg.formats,
                       paper=paper or cfg.paper, jobs=cfg.jobs, timeout=cfg.timeout,
                       strict=cfg.strict if strict is None else strict)
    resolver = Resolver.for_source(src)
    out_real = req.out_dir.resolve()
    paths = resolver.watch_roots()

    def relevant(_change, path: str) -> bool:
        p = Path(path)
        return not (p == out_real or out_real in p.parents or p.name.startswith(".") or p.suffix in (".tmp", ".swp"))

    started = False
    pool = None
    try:
        # The watcher runs before the first build, so a save during that build is seen.
        for changes in watch_files(*paths, watch_filter=relevant, raise_interrupt=True,
                                   yield_on_timeout=True, rust_timeout=300):
            if not started:
                started = True
                pool = LocalPool.warm(req.formats or available_formats(), req.jobs, req.timeout)
                code = _run_build(req, quiet=False, verbose=verbose, pool=pool)
                click.echo(f"watching {', '.join(paths)} (Ctrl-C to stop)", err=True)
            elif changes:
                click.echo("change detected: rebuilding", err=True)
                code = _run_build(req, quiet=False, verbose=verbose, pool=pool)
            else:
                continue
            if code == 130:  # Ctrl-C during the build: it kept the previous outputs; stop
                break
    except KeyboardInterrupt:
        pass
    finally:
        if pool is not None:  # every worker ends: nothing of theirs is left to lose
            pool.terminate()
    click.echo("stopped", err=True)


@main.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Output folder (default: out/).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (only this machine by default).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port (0: any free one; a busy port falls back to a free one).")
@click.option("--format", "formats", type=_Choices(tuple(f for f in FORMATS if f != "html")), multiple=True,
              help="Format(s) rebuilt in the background: a comma list or repeated. Default: every other format.")
@click.option("--no-background", is_flag=True, help="Build only the HTML edition.")
@click.option("--open/--no-open", "open_browser", default=True, help="Open the page in a browser, if there is one.")
@click.option("--paper", type=click.Choice(PAPERS, case_sensitive=False), help="PDF paper size.")
@click.option("--strict/--no-strict", default=None,
              help="Treat every warning as an error (default: strict in publish.toml).")
def preview(source, out_dir, host, port, formats, no_background, open_browser, paper, strict) -> None:
    """Serve the HTML edition on 127.0.0.1, rebuild and reload it on every save (Ctrl-C stops)."""
    from .preview import run

    cfg = _config(source)
    src = _source_or_exit(source, cfg.at(cfg.source))
    others = () if no_background else (_flat(formats)
                                       or tuple(f for f in (cfg.formats or FORMATS) if f != "html"))

    def say(msg: str) -> None:
        click.echo(msg, err=True)

    sys.exit(run(src, Path(out_dir or cfg.at(cfg.out)), host=host, port=port, formats=others,
                 paper=paper or cfg.paper, strict=cfg.strict if strict is None else strict,
                 timeout=cfg.timeout, open_browser=open_browser, say=say))


@main.command()
@click.argument("shell", type=click.Choice(("bash", "zsh", "fish"), case_sensitive=False))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    \b
    bash: eval "$(publish completion bash)"   (in ~/.bashrc)
    zsh:  eval "$(publish completion zsh)"    (in ~/.zshrc)
    fish: publish completion fish > ~/.config/fish/completions/publish.fish"""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    click.echo(cls(main, {}, "publish", "_PUBLISH_COMPLETE").source())


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".", required=False)
@click.option("--styles", is_flag=True, help="Also copy the default styles into DIRECTORY/styles/ to edit.")
def init(directory: Path, styles: bool) -> None:
    """Start a new article project in DIRECTORY (default: here): article.md, its
    glossary, annotations and people, publish.toml; never overwrites a file."""
    from .init import init as make

    try:
        written = make(directory, styles=styles)
    except PublishError as exc:
        _emit(exc.diagnostics)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"{exc.filename or directory}: error: {exc.strerror or exc}", err=True)
        sys.exit(5)
    for p in written:
        click.echo(f"wrote {p}", err=True)
    where = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory} && "
    click.echo(f"next: {where}publish build", err=True)
