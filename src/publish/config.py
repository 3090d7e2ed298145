"""Project defaults from ``publish.toml`` or ``[tool.publish]`` in ``pyproject.toml``.

The file is looked for beside the source, then in each parent folder up to the
project root (the first folder with a ``.git``, a ``pyproject.toml`` or a
``publish.toml``); without a source on the command line, from the current
folder up. Paths in it (``source``, ``out``) are relative to the file's folder.
Flags override it. Unknown keys and wrong types are errors with their line;
format and paper names are case-insensitive.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import Diagnostic, PublishError, did_you_mean
from .options import FORMATS, PAPERS


@dataclass(frozen=True)
class Config:
    source: str = "source/article.md"
    out: str = "out"
    formats: tuple[str, ...] = ()
    paper: str = "a4"
    timeout: float = 300.0
    jobs: int = 0
    strict: bool = False
    base: Path | None = None  # the config file's folder (None: no file; paths relative to the cwd)
    path: Path | None = None  # the config file itself

    def at(self, value: str) -> Path:
        """A path from the config file, relative to its folder."""
        if self.base is None:
            return Path(value)
        full = self.base / value
        try:  # as the user would write it, when the file is in (or under) the current folder
            return full.relative_to(Path.cwd().resolve())
        except ValueError:
            return full
    executor: str = "local"  # where a batch renders: "local" (worker processes) or "dask"
    scheduler: str = ""  # the Dask scheduler's address, tcp://HOST:PORT


EXECUTORS = ("local", "dask")
KEYS = {"source": str, "out": str, "formats": list, "paper": str, "timeout": (int, float), "jobs": int,
        "strict": bool, "executor": str, "scheduler": str}


def _line_of(text: str, key: str, table: str | None) -> int:
    lines = text.split("\n")
    start = 0
    if table:
        for n, ln in enumerate(lines):
            if re.match(rf"^\s*\[\s*{re.escape(table)}\s*\]\s*(#.*)?$", ln):
                start = n
                break
    for n in range(start, len(lines)):
        if re.match(rf"^\s*{re.escape(key)}\s*=", lines[n]):
            return n + 1
    return start + 1


def _is_root(d: Path) -> bool:
    return any((d / marker).exists() for marker in (".git", "pyproject.toml", "publish.toml"))


def find_config(start: Path) -> Config:
    """The config nearest ``start`` (a folder): there, then up to the project root."""
    start = start.resolve()
    for d in (start, *start.parents):
        cfg = load_config(d)
        if cfg.path is not None or _is_root(d):
            return cfg
    return Config()


def load_config(cwd: Path) -> Config:
    """The config of the project in ``cwd`` (publish.toml wins over pyproject.toml)."""
    for name, table in (("publish.toml", None), ("pyproject.toml", "tool.publish")):
        path = cwd / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+), column (\d+)", str(exc))
            line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
            raise PublishError(Diagnostic(str(path), line, col, "error", f"TOML error: {exc}")) from None
        section = data.get("tool", {}).get("publish") if table else data
        if section is None:
            continue
        return _validate(section, path, text, table)
    return Config()


def _validate(section: dict, path: Path, text: str, table: str | None) -> Config:
    errors = []
    values: dict[str, object] = {}
    for key, value in section.items():
        line = _line_of(text, key, table)
        want = KEYS.get(key)
        if want is None:
            hint = did_you_mean(key, KEYS)
            errors.append(Diagnostic(str(path), line, 1, "error",
                                     f"unknown publish setting '{key}'"
                                     + (f": did you mean '{hint}'?" if hint else f" (known: {', '.join(sorted(KEYS))})")))
            continue
        if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
            errors.append(Diagnostic(str(path), line, 1, "error", f"'{key}' has the wrong type"))
            continue
        if key == "paper" and isinstance(value, str):
            value = value.lower()
        if key == "paper" and value not in PAPERS:
            errors.append(Diagnostic(str(path), line, 1, "error", f"paper must be one of {', '.join(PAPERS)}"))
            continue
        if key == "executor" and value not in EXECUTORS:
            errors.append(Diagnostic(str(path), line, 1, "error", f"executor must be one of {', '.join(EXECUTORS)}"))
            continue
        if key == "formats":
            value = [f.lower() if isinstance(f, str) else f for f in value]  # type: ignore[union-attr]
            bad = [f for f in value if f not in FORMATS]
            if bad:
                errors.append(Diagnostic(str(path), line, 1, "error", f"unknown format(s): {', '.join(map(str, bad))}"))
                continue
            value = tuple(value)  # type: ignore[arg-type]
        if key in ("timeout", "jobs") and value <= 0 and not (key == "jobs" and value == 0):  # type: ignore[operator]
            errors.append(Diagnostic(str(path), line, 1, "error", f"'{key}' must be positive"))
            continue
        values[key] = value
    if errors:
        raise PublishError(errors)
    return Config(**values, base=path.parent, path=path)  # type: ignore[arg-type]
