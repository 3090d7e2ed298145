"""Diagnostics: ``path:line:col: severity: message``, and the one error type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    severity: Severity
    message: str

    def __str__(self) -> str:
        if self.line <= 0:  # about a file or folder as a whole (an output folder fault)
            return f"{self.path}: {self.severity}: {self.message}"
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "severity": self.severity,
            "message": self.message,
        }


class PublishError(Exception):
    """Input errors. Carries every diagnostic found (errors and warnings)."""

    exit_code = 1

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class RenderError(PublishError):
    """A writer could not render (or timed out): exit 3."""

    exit_code = 3


class OutputError(PublishError):
    """The output folder cannot take the outputs (not creatable, a file,
    read-only, full, over quota, a folder in an output's place): exit 5, and
    the previous outputs are kept."""

    exit_code = 5


def did_you_mean(word: str, choices, cutoff: float = 0.6) -> str | None:
    """The closest of ``choices`` to a misspelt ``word`` (difflib), or None."""
    import difflib

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    if not found:  # case or separator slips: "Title", "short_title"
        norm = {c.casefold().replace("_", "-"): c for c in choices}
        found = [norm[word.casefold().replace("_", "-")]] if word.casefold().replace("_", "-") in norm else []
    return found[0] if found else None


def promote(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """``--strict``: every warning becomes an error, at the same position, with the same message."""
    return [Diagnostic(d.path, d.line, d.col, "error", d.message + STRICT_SUFFIX) if d.severity == "warning" else d
            for d in diagnostics]


STRICT_SUFFIX = " [warning: an error under --strict]"


@dataclass
class Collector:
    """Accumulates diagnostics during one run (per-run state, never global).

    Root causes first: a problem that makes others follow (a side file that does
    not parse, is empty or is not a list) is recorded with ``root=True``; it is
    listed before everything else, and ``suppressed`` names what must not be
    reported because of it (e.g. the unknown term ids of a glossary that did not
    load)."""

    items: list[Diagnostic] = field(default_factory=list)
    roots: list[Diagnostic] = field(default_factory=list)
    # kinds of reference whose target file failed: "glossary", "annotations", "people"
    suppressed: set[str] = field(default_factory=set)

    def root(self, path: str, line: int, col: int, message: str, suppresses: str | None = None) -> None:
        d = Diagnostic(str(path), max(line, 1), max(col, 1), "error", message)
        self.items.append(d)
        self.roots.append(d)
        if suppresses:
            self.suppressed.add(suppresses)

    def promote_warnings(self) -> None:
        self.items = promote(self.items)
        self.roots = promote(self.roots)

    def error(self, path: str, line: int, col: int, message: str) -> None:
        self.items.append(Diagnostic(str(path), max(line, 1), max(col, 1), "error", message))

    def warning(self, path: str, line: int, col: int, message: str) -> None:
        self.items.append(Diagnostic(str(path), max(line, 1), max(col, 1), "warning", message))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def sorted(self) -> list[Diagnostic]:
        """Root causes first (in the order found), then everything else by position."""
        roots = [d for d in self.roots if d in self.items]
        rest = [d for d in self.items if d not in roots]
        return roots + sorted(rest, key=_order)


def _order(d: Diagnostic) -> tuple[str, int, int]:
    return (d.path, d.line, d.col)
