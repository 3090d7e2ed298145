"""Strict, safe YAML: no tags beyond the standard ones, no anchors or aliases,
no duplicate keys; every mapping remembers where it and each of its keys stand.

Errors are ``Diagnostic``s with the file's line and column (front matter is
parsed with a line offset so that lines refer to the Markdown file).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode

from ..diagnostics import Diagnostic, PublishError
from .text import describe_char, illegal_char

MAX_YAML_BYTES = 2_000_000


class Located(dict):
    """A mapping that knows its own position and its keys' positions (1-based)."""

    line: int = 1
    col: int = 1
    key_pos: dict[str, tuple[int, int]]
    val_pos: dict[str, tuple[int, int, str | None]]  # line, col, scalar style

    def pos_of(self, key: str) -> tuple[int, int]:
        return self.key_pos.get(key, (self.line, self.col))

    def text_line(self, key: str) -> int:
        """The file line on which a text value's first character stands (block
        scalars | and > start on the line after their indicator)."""
        line, _col, style = self.val_pos.get(key, (*self.pos_of(key), None))
        return line + 1 if style in ("|", ">") else line


class LocatedList(list):
    line: int = 1
    col: int = 1
    item_pos: list[tuple[int, int]]


class _StrictLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):  # type: ignore[override]
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise _Refused("anchors and aliases are not allowed in this file", event.start_mark)
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.anchor is not None:
            raise _Refused("anchors and aliases are not allowed in this file", event.start_mark)
        return super().compose_node(parent, index)

    def construct_located_map(self, node: MappingNode):
        data = Located()
        off = getattr(self, "line_offset", 0)
        data.line, data.col = node.start_mark.line + 1 + off, node.start_mark.column + 1
        data.key_pos = {}
        data.val_pos = {}
        yield data
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise _Refused("mapping keys must be plain scalars", key_node.start_mark)
            key = str(key)
            if key in data:
                raise _Refused(f"duplicate key '{key}'", key_node.start_mark)
            data[key] = self.construct_object(value_node, deep=True)
            data.key_pos[key] = (key_node.start_mark.line + 1 + off, key_node.start_mark.column + 1)
            data.val_pos[key] = (value_node.start_mark.line + 1 + off, value_node.start_mark.column + 1,
                                 getattr(value_node, "style", None))

    def construct_located_seq(self, node):
        off = getattr(self, "line_offset", 0)
        data = LocatedList()
        data.line, data.col = node.start_mark.line + 1 + off, node.start_mark.column + 1
        data.item_pos = [(n.start_mark.line + 1 + off, n.start_mark.column + 1) for n in node.value]
        yield data
        data.extend(self.construct_object(n, deep=True) for n in node.value)

    def construct_yaml_timestamp(self, node):  # keep dates as written (strings)
        return self.construct_scalar(node)

    def construct_scalar(self, node):  # type: ignore[override]
        value = super().construct_scalar(node)
        if isinstance(value, str) and any("\ud800" <= c <= "\udfff" for c in value):
            raise _Refused("lone surrogate (an escape such as \\ud800 that is not a character)", node.start_mark)
        if isinstance(value, str) and (bad := illegal_char(value)) is not None:
            raise _Refused(f"{describe_char(value[bad])}: no output format can hold it", node.start_mark)
        return value


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_located_map)
_StrictLoader.add_constructor("tag:yaml.org,2002:seq", _StrictLoader.construct_located_seq)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)


class _Refused(yaml.YAMLError):
    def __init__(self, message: str, mark) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


def load_yaml(text: str, path: str, line_offset: int = 0) -> Any:
    """Parse ``text`` strictly; raise PublishError with the position on any problem."""
    if len(text) > MAX_YAML_BYTES:
        raise PublishError(Diagnostic(path, 1 + line_offset, 1, "error", "YAML file too large"))
    try:
        loader = _StrictLoader(text)
        loader.line_offset = line_offset
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except _Refused as exc:
        raise PublishError(_diag(path, exc.mark, exc.message, line_offset)) from None
    except ConstructorError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = exc.problem or "cannot construct value"
        if "could not determine a constructor" in msg:
            tag = msg.split("tag", 1)[-1].strip(" '")
            msg = f"tag '{tag}' is not allowed (only plain YAML)"
        raise PublishError(_diag(path, mark, msg, line_offset)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = f"YAML syntax error: {exc.problem or exc.context}"
        tab_line = _tab_indent(text, mark)
        if tab_line is not None:
            msg = (f"YAML syntax error: a tab indents line {tab_line + 1 + line_offset}; YAML indents with spaces "
                   "only: replace the tab with spaces (two per level)")
        raise PublishError(_diag(path, mark, msg, line_offset)) from None
    except yaml.YAMLError as exc:  # unmarked (e.g. reader errors on odd characters)
        raise PublishError(Diagnostic(path, 1 + line_offset, 1, "error", f"YAML error: {exc}")) from None
    except RecursionError:
        raise PublishError(Diagnostic(path, 1 + line_offset, 1, "error", "YAML nested too deeply")) from None


def _tab_indent(text: str, mark) -> int | None:
    """The 0-based line near the error whose indentation holds a tab, if any."""
    if mark is None:
        return None
    lines = text.split("\n")
    for n in (mark.line, mark.line - 1):
        if 0 <= n < len(lines):
            indent = lines[n][: len(lines[n]) - len(lines[n].lstrip(" \t"))]
            if "\t" in indent:
                return n
    return None


def _diag(path: str, mark, message: str, line_offset: int) -> Diagnostic:
    if mark is None:
        return Diagnostic(path, 1 + line_offset, 1, "error", message)
    return Diagnostic(path, mark.line + 1 + line_offset, mark.column + 1, "error", message)
