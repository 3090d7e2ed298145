"""A stable, readable dump of the model for fixture comparisons (like docutils' pformat).

Generic over the model: one line per node (from ``model.nodes_with_depth``, the
one traversal), its type and the fields that are not children and not at their
default, indented by depth."""

from __future__ import annotations

from dataclasses import MISSING, fields

from publish.model import Attr, Document, nodes_with_depth


def _attr(a: Attr) -> str:
    bits = ([f"#{a.id}"] if a.id else []) + [f".{c}" for c in a.classes] + [f"{k}={v!r}" for k, v in a.kv]
    return "{" + " ".join(bits) + "}"


def _scalar(v: object) -> bool:
    return not isinstance(v, tuple) or all(isinstance(x, (str, int, float)) for x in v)


def describe(n: object) -> str:
    if isinstance(n, tuple):
        return "Item"
    out = [type(n).__name__]
    for f in fields(n):  # type: ignore[arg-type]
        if f.name == "pos":
            continue
        v = getattr(n, f.name)
        if f.default is not MISSING and v == f.default:
            continue
        if isinstance(v, Attr):
            out.append(_attr(v))
        elif _scalar(v) and not (isinstance(v, tuple) and not v):
            out.append(f"{f.name}={v!r}")
    return " ".join(out)


def dump(doc: Document) -> str:
    return "".join(f"{'  ' * (d - 1)}{describe(n)}\n" for d, n in nodes_with_depth(doc) if d > 0)
