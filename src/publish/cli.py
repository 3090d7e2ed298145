"""Command line: arguments → build(); no logic here.

Exit codes: 0 ok, 1 errors in the input, 2 bad command line, 3 render failure
or time-out, 4 another build holds the lock.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .diagnostics import Diagnostic, PublishError
from .options import FORMATS, PAPERS

DEFAULT_SOURCE = Path("source/article.md")


def _emit(diags: list[Diagnostic]) -> None:
    for d in diags:
        click.echo(str(d), err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="publish")
def main() -> None:
    """Render one semantic article source to PDF, EPUB 3 and DOCX."""


@main.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_SOURCE)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out"),
              show_default=True, help="Output folder.")
@click.option("--format", "formats", type=click.Choice(FORMATS), multiple=True,
              help="Format to build (repeatable). Default: all.")
@click.option("--paper", type=click.Choice(PAPERS), default="a4", show_default=True, help="PDF paper size.")
def build(source: Path, out_dir: Path, formats: tuple[str, ...], paper: str) -> None:
    """Build SOURCE (default source/article.md) into OUT/<stem>.<format>."""
    from .build import build as run_build
    from .options import RenderOptions

    if not source.is_file():
        click.echo(f"{source}:1:1: error: source file not found", err=True)
        sys.exit(1)
    try:
        outputs, diag = run_build(source, out_dir, tuple(dict.fromkeys(formats)) or None,
                                  RenderOptions.from_env(paper=paper))  # type: ignore[arg-type]
    except PublishError as exc:
        _emit(exc.diagnostics)
        sys.exit(exc.exit_code)
    _emit(diag.sorted())
    for o in outputs:
        state = "written" if o.changed else "unchanged"
        click.echo(f"{o.path}  {o.size:,} bytes  {state}")


@main.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_SOURCE)
@click.option("--json", "as_json", is_flag=True, help="Print diagnostics and counts as JSON on stdout.")
def check(source: Path, as_json: bool) -> None:
    """Check SOURCE without writing anything; exit 1 if it has errors."""
    from .build import read
    from .check import counts

    if not source.is_file():
        click.echo(f"{source}:1:1: error: source file not found", err=True)
        sys.exit(1)
    doc, diag = read(source)
    diags = diag.sorted()
    if as_json:
        payload = {
            "source": str(source),
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
            click.echo(f"{source}: ok ({len(diag.warnings)} warning(s))", err=True)
    sys.exit(1 if diag.errors else 0)
