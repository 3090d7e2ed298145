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


@dataclass
class Collector:
    """Accumulates diagnostics during one run (per-run state, never global)."""

    items: list[Diagnostic] = field(default_factory=list)

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
        return sorted(self.items, key=_order)


def _order(d: Diagnostic) -> tuple[str, int, int]:
    return (d.path, d.line, d.col)
