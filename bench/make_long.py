#!/usr/bin/env python3
"""Generate a document N times as long as source/article.md (default 50x) for the benchmark.

Output: bench/work/long/article.md plus its side files (never committed).

* The article body (everything after the front matter, up to the closing
  ``::: credit`` block) is repeated N times; the credit block closes the document once.
* Every annotation must be anchored exactly once, so each repetition k gets its own
  copy of annotations.yaml with ids suffixed ``-rK`` and the body's
  ``{.note ref=ID}`` anchors rewritten to match (repetition 1 keeps the original ids).
* Glossary and people are shared: repeated ``{.term ref=..}`` / ``{.speaker ref=..}``
  references are legal. Headings repeat; the reader makes their ids unique.
* The front matter is kept as is (title, metadata, side-file names).

Usage: python bench/make_long.py [--times 50] [--source source/article.md] [--out bench/work/long]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOTE_REF = re.compile(r"(\{\.note ref=)([A-Za-z0-9][A-Za-z0-9_-]*)(\})")
ANN_ID = re.compile(r"^(- id: )([A-Za-z0-9][A-Za-z0-9_-]*)\s*$", re.M)


def split_front_matter(text: str) -> tuple[str, str]:
    if not text.startswith("---\n"):
        raise SystemExit("source has no YAML front matter")
    end = text.index("\n---\n", 4) + len("\n---\n")
    return text[:end], text[end:]


def split_credit(body: str) -> tuple[str, str]:
    at = body.rfind("\n::: credit")
    if at < 0:
        return body, ""
    return body[:at + 1], body[at + 1:]


def suffix_for(k: int) -> str:
    return "" if k == 1 else f"-r{k}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--times", type=int, default=50)
    ap.add_argument("--source", type=Path, default=ROOT / "source" / "article.md")
    ap.add_argument("--out", type=Path, default=HERE / "work" / "long")
    a = ap.parse_args(argv)

    src: Path = a.source
    text = src.read_text(encoding="utf-8")
    front, body = split_front_matter(text)
    main_body, credit = split_credit(body)
    fm = dict(re.findall(r"^(glossary|annotations|people):\s*(\S+)\s*$", front, re.M))
    ann_text = (src.parent / fm["annotations"]).read_text(encoding="utf-8")
    header, first = ann_text.split("\n- id:", 1) if "\n- id:" in ann_text else ("", ann_text)
    entries = "- id:" + first if header else ann_text

    out: Path = a.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    parts = [front]
    ann_parts = [header.rstrip("\n") + "\n\n" if header else ""]
    for k in range(1, a.times + 1):
        sfx = suffix_for(k)
        parts.append(NOTE_REF.sub(lambda m: f"{m.group(1)}{m.group(2)}{sfx}{m.group(3)}", main_body))
        ann_parts.append(ANN_ID.sub(lambda m: f"{m.group(1)}{m.group(2)}{sfx}", entries).rstrip("\n") + "\n\n")
    parts.append(credit)
    (out / src.name).write_text("".join(parts), encoding="utf-8")
    (out / fm["annotations"]).write_text("".join(ann_parts), encoding="utf-8")
    for key in ("glossary", "people"):
        shutil.copyfile(src.parent / fm[key], out / fm[key])
    # images or other files referenced beside the source (none today) would be copied here
    for p in src.parent.iterdir():
        if p.is_file() and not (out / p.name).exists():
            shutil.copyfile(p, out / p.name)

    words = len("".join(parts[1:]).split())
    n_refs = len(NOTE_REF.findall("".join(parts)))
    print(f"{out / src.name}: {a.times}x, {words} words in the body, {n_refs} note anchors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
