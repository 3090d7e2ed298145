"""The side files' JSON Schemas (``publish/schemas/*.schema.json``), applied to the
loaded YAML: the one statement of which fields exist, their types and which are
required. The same files give editors completion (``# yaml-language-server:
$schema=…``) and the README's field tables (``scripts/schema_table.py``).

Errors are mapped back to ``file:line:col`` through the positions the strict YAML
loader keeps (``Located``/``LocatedList``), with messages in the reader's words:
"unknown key 'defintion': did you mean 'definition'?", "entry 'x' needs 'term'".
A subschema may carry ``x-message`` (``{key}`` and ``{value}`` are filled in).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from ..diagnostics import Diagnostic, did_you_mean
from .yamlsafe import Located, LocatedList

SIDE_FILES = ("glossary", "annotations", "people")


@lru_cache(maxsize=None)
def schema(kind: str) -> dict:
    """The JSON Schema of a side file ("glossary", "annotations", "people")."""
    text = resources.files("publish").joinpath("schemas", f"{kind}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def schema_path(kind: str):
    """The installed schema file (for the ``$schema=`` comment of a new project)."""
    return resources.files("publish").joinpath("schemas", f"{kind}.schema.json")


@lru_cache(maxsize=None)
def _validator(kind: str):
    from jsonschema import Draft202012Validator

    s = schema(kind)
    Draft202012Validator.check_schema(s)
    return Draft202012Validator(s)


def fields(kind: str) -> dict[str, dict]:
    """The fields of one entry: name -> its subschema (in the schema's order)."""
    return dict(schema(kind)["items"]["properties"])


def validate(kind: str, items: list, fname: str) -> list[Diagnostic]:
    """Every schema error of ``items`` (the loaded file) as a located diagnostic,
    in file order, one per position."""
    out: dict[tuple[int, int, str], Diagnostic] = {}
    for err in _validator(kind).iter_errors(items):
        for line, col, msg in _explain(err, items, kind):
            out.setdefault((line, col, msg), Diagnostic(fname, max(line, 1), max(col, 1), "error", msg))
    seen_lines: set[int] = set()
    result = []
    for d in sorted(out.values(), key=lambda d: (d.line, d.col, d.message)):
        if d.line in seen_lines and "unknown key" not in d.message:
            continue  # one problem per line is enough (anyOf branches say the same twice)
        seen_lines.add(d.line)
        result.append(d)
    return result


# --------------------------------------------------------------------------- mapping


def _walk(root: Any, path) -> tuple[Any, Any, Any]:
    """(parent container, last key, node) for a JSON path into the loaded YAML."""
    parent, key, node = None, None, root
    for step in path:
        parent, key = node, step
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
    return parent, key, node


def _pos(root: Any, path) -> tuple[int, int]:
    parent, key, node = _walk(root, path)
    if isinstance(parent, Located) and isinstance(key, str):
        return parent.pos_of(key)
    if isinstance(parent, LocatedList) and isinstance(key, int) and key < len(parent.item_pos):
        return parent.item_pos[key]
    return getattr(node, "line", 1), getattr(node, "col", 1)


def _entry(root: Any, path) -> Any:
    """The entry (top-level list item) a path lies in."""
    if path and isinstance(root, list) and isinstance(path[0], int) and path[0] < len(root):
        return root[path[0]]
    return None


def _key(path) -> str:
    for step in reversed(path):
        if isinstance(step, str):
            return step
    return "entry"


def _type_words(t) -> str:
    words = {"string": "text", "number": "text", "integer": "text", "array": "a list", "object": "a mapping",
             "boolean": "true or false"}
    ts = t if isinstance(t, list) else [t]
    return " or ".join(dict.fromkeys(words.get(x, x) for x in ts))


def _explain(err, root, kind: str) -> list[tuple[int, int, str]]:
    path = list(err.absolute_path)
    line, col = _pos(root, path)
    key = _key(path)
    value = err.instance
    custom = err.schema.get("x-message") if isinstance(err.schema, dict) else None
    v = err.validator
    if v == "additionalProperties" and isinstance(value, dict):
        allowed = list(err.schema.get("properties", {}))
        out = []
        for k in value:
            if k in allowed:
                continue
            kl, kc = value.pos_of(k) if isinstance(value, Located) else (line, col)
            hint = did_you_mean(str(k), allowed)
            out.append((kl, kc, f"unknown key '{k}'" + (f": did you mean '{hint}'?" if hint
                                                         else f" (allowed: {', '.join(sorted(allowed))})")))
        return out
    if v == "required" and isinstance(value, dict):
        out = []
        for k in err.validator_value:
            if k in value:
                continue
            if k == "id":
                out.append((line, col, "entry needs an 'id' (letters, digits, '-' or '_')"))
            elif len(path) <= 1:
                out.append((line, col, f"entry '{value.get('id', '?')}' needs '{k}'"))
            else:
                out.append((line, col, f"'{_key(path)}' needs '{k}'"))
        return out
    if v in ("anyOf", "oneOf") and err.context:
        # the branches whose shape fits (not a type mismatch right here) say what is wrong
        # inside; a value of no allowed shape gets the subschema's own message
        fitting = [e for e in err.context if not (e.validator == "type" and list(e.absolute_path) == path)]
        if fitting:
            from jsonschema.exceptions import best_match

            branch = best_match(fitting).relative_schema_path[0]  # every problem of the likeliest branch
            return [x for e in fitting if e.relative_schema_path[0] == branch for x in _explain(e, root, kind)]
    if v == "not" and key == "id":
        return [(line, col, f"annotation id '{value}': the prefix 'fn-' belongs to Markdown footnotes")]
    if custom and v != "type":
        return [(line, col, custom.format(key=key, value=str(value)[:40]))]
    if v == "type":
        what = _type_words(err.validator_value)
        return [(line, col, f"'{key}' must be {what}" if path else f"the {kind} file must be {what} of entries")]
    if v in ("minLength", "pattern") and len(path) == 2:
        entry = _entry(root, path)
        ident = entry.get("id", "?") if isinstance(entry, dict) else "?"
        return [(line, col, f"entry '{ident}' needs '{key}'")]
    return [(line, col, f"'{key}': {err.message}")]
