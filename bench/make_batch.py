#!/usr/bin/env python3
"""Generate a series of N small articles for the batch benchmark and tests.

Each article ``article-NN.md`` has front matter, a few sections of text that
vary with N, glossary terms, speakers, context/update/editorial notes, a
footnote and a pipe table. The series shares one ``glossary.yaml`` and one
``people.yaml`` (read once per batch); each article has its own
``article-NN.annotations.yaml``. Deterministic: the same N gives the same bytes.

Usage: python bench/make_batch.py [--count 40] [--paragraphs 6] [--out bench/work/series]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

GLOSSARY = """\
- id: cac
  term: CAC
  expansion: Cyberspace Administration of China
  definition: China's internet regulator, set up in *2014*.
  zh: 国家互联网信息办公室
  pinyin: Guójiā Hùliánwǎng Xìnxī Bàngōngshì
  aliases: [the regulator]
- id: pipl
  term: PIPL
  expansion: Personal Information Protection Law
  definition: China's data-privacy law, in force since November 2021.
- id: dsl
  term: DSL
  expansion: Data Security Law
  definition: The law that sorts data by its importance to the state.
- id: social-credit
  term: social credit
  definition: Scoring systems for companies and, in places, for people.
"""

PEOPLE = """\
- id: kendra
  name: Kendra Schaefer
  role: Head of tech policy research
  affiliation: Trivium China
- id: he
  name: He Aoxuan
  role: Researcher
  affiliation: Beihang University
"""

WORDS = ("data regulators companies platforms rules market security privacy cross-border transfers "
         "audits licences cloud providers ministries provinces fines compliance localisation exports "
         "algorithms recommendation engines users consent storage sovereignty governance").split()


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def article(k: int, paragraphs: int) -> tuple[str, str]:
    rng = random.Random(k)
    ann = f"article-{k:02d}.annotations.yaml"
    parts = [f"""---
title: "Data governance, part {k}"
author:
  - James Kynge
  - Sun Yu
date: 2021-09
lang: en-GB
glossary: glossary.yaml
annotations: {ann}
people: people.yaml
---
The [Cyberspace Administration of China]{{.term ref=cac}} spoke first; [the regulator]{{.term ref=cac}}
then [acted on its own review]{{.note ref=review}}, said [Kendra Schaefer]{{.speaker ref=kendra}}.
"""]
    for s in range(1, 3):
        parts.append(f"\n# Section {s} of part {k}\n")
        for p in range(paragraphs):
            text = " ".join(_sentence(rng, rng.randint(8, 16)) for _ in range(rng.randint(2, 4)))
            if p == 0 and s == 1:
                text += " The [Personal Information Protection Law]{.term ref=pipl} ([PIPL]{.term ref=pipl}) and the [Data Security Law]{.term ref=dsl} ([DSL]{.term ref=dsl}) apply.[^a]"
            if p == 1 and s == 1:
                text += (" [He Aoxuan]{.speaker ref=he} added [a point]{.note ref=desk}"
                         " on [social credit]{.term ref=social-credit}.")
            if p == 0 and s == 2:
                text += " [The background]{.note ref=background} matters."
            parts.append(f"\n{text}\n")
        if s == 1:
            rows = "\n".join(f"| {rng.choice(WORDS)} | {rng.randint(1, 999)} | {rng.randint(2015, 2023)} |"
                             for _ in range(4))
            parts.append(f"\n| Item | Count | Year |\n|:-----|------:|-----:|\n{rows}\n\n"
                         f"Table: Figures for part {k} {{#tbl-part-{k}}}\n")
    parts.append(f"\n[^a]: A plain *footnote* of part {k}.\n")
    annotations = f"""- id: review
  kind: update
  title: The review
  body: |
    The [CAC]{{.term}} fined a platform in July 2022 (part {k}).
  sources:
    - title: CAC statement
      date: "2022-07-21"
- id: desk
  kind: editorial
  author: Desk
  date: "2021-09-20"
  body: Check the figure in part {k}.
- id: background
  kind: context
  title: Background
  body: Rules on data exports have tightened since 2017.
"""
    return "".join(parts), annotations


def make(out: Path, count: int, paragraphs: int = 6) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "glossary.yaml").write_text(GLOSSARY, encoding="utf-8")
    (out / "people.yaml").write_text(PEOPLE, encoding="utf-8")
    paths = []
    for k in range(1, count + 1):
        text, ann = article(k, paragraphs)
        p = out / f"article-{k:02d}.md"
        p.write_text(text, encoding="utf-8")
        (out / f"article-{k:02d}.annotations.yaml").write_text(ann, encoding="utf-8")
        paths.append(p)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--paragraphs", type=int, default=6)
    ap.add_argument("--out", type=Path, default=HERE / "work" / "series")
    a = ap.parse_args(argv)
    paths = make(a.out, a.count, a.paragraphs)
    print(f"{a.out}: {len(paths)} articles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
