"""``publish check``: lints on the finished model (the reader reports hard errors).

Warnings: a glossary entry never used, a person never marked, an unmarked
occurrence of a glossary term or alias, an abbreviation used before (or
without) its expansion.

What the writers would refuse is found here too, so that ``check`` ok means
``build`` ok: characters no font has (``publish.fonts``, for the PDF) and
images a writer cannot embed (``publish.embeddable``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .diagnostics import Collector
from .options import FORMATS
from .model import (
    Document, Figure, GlossaryEntry, Heading, Image, Link, Math, Paragraph, Table, TermRef, Text, nodes,
    plain_text, query,
)


def lint(doc: Document, diag: Collector, *, formats: tuple[str, ...] = FORMATS, resolver=None) -> None:
    """Lints, and what the writers of ``formats`` would refuse."""
    _link_targets(doc, diag)
    _unused(doc, diag)
    _unmarked(doc, diag)
    _expansions(doc, diag)
    _math(doc, diag)
    if "pdf" in formats:
        from .fonts import check_glyphs

        check_glyphs(doc, diag, resolver.styles_dir if resolver is not None else None)
    if resolver is not None:
        _embeddable(doc, diag, formats, resolver)


def _embeddable(doc: Document, diag: Collector, formats: tuple[str, ...], resolver) -> None:
    """Images a writer of ``formats`` cannot embed, at their first use."""
    from .diagnostics import PublishError
    from .embeddable import PROBLEMS
    from .model import Image

    judges = [PROBLEMS[f] for f in formats if f in PROBLEMS]
    seen: set[str] = set()
    for i in nodes(doc):
        if not isinstance(i, Image) or i.src in seen or i.pos is None or not judges:
            continue
        seen.add(i.src)
        try:
            data = resolver.read_bytes(resolver.resolve(i.src, i.pos))  # the snapshot the writers get
        except (PublishError, OSError):
            continue  # the reader has reported it
        for judge in judges:
            problem = judge(data)
            if problem:
                diag.error(i.pos.path, i.pos.line, i.pos.col, f"image '{i.src}': {problem}")


def _math(doc: Document, diag: Collector) -> None:
    """TeX that latex2mathml cannot read is printed as TeX source (a warning, not a failure)."""
    from .writers.mathml import tex_to_mathml

    for i in nodes((doc.blocks, doc.reader_notes)):
        if isinstance(i, Math) and i.pos is not None and tex_to_mathml(i.text, i.display) is None:
            diag.warning(i.pos.path, i.pos.line, i.pos.col,
                         f"math '{i.text}' cannot be converted (latex2mathml); it is shown as TeX source")


def document_ids(doc: Document) -> set[str]:
    """Every id a link may point at, in every format: headings and every {#id}
    (spans, divs, images, tables, figures, ...) in the text and reader notes,
    glossary entries (gloss-ID) and people (person-ID)."""
    ids: set[str] = {e.anchor for e in doc.glossary} | {p.anchor for p in doc.people}
    for n in nodes((doc.blocks, doc.reader_notes)):
        ident = n.attr.id if hasattr(n, "attr") else ""
        if ident:
            ids.add(ident)
    return ids


def _link_targets(doc: Document, diag: Collector) -> None:
    """A link to #id that has nowhere to go keeps its text without the link (a
    warning; ``transforms.links.unlink_dangling`` removes the link after the lints)."""
    ids = document_ids(doc)
    for i in nodes(doc):
        if isinstance(i, Link) and i.url.startswith("#") and i.url[1:] not in ids and i.pos is not None:
            diag.warning(i.pos.path, i.pos.line, i.pos.col,
                         f"link to '{i.url}': no heading, {{#id}}, gloss-ID or person-ID has that id; "
                         "the text is kept without the link")


def _unused(doc: Document, diag: Collector) -> None:
    used = set(query(doc.blocks, lambda i: i.ref if isinstance(i, TermRef) else None))
    for e in doc.glossary:
        if e.id not in used and e.pos is not None:
            diag.warning(e.pos.path, e.pos.line, e.pos.col, f"glossary entry '{e.id}' is never used in the text")
    for p in doc.people:
        if p.first_use_id is None and p.pos is not None:
            diag.warning(p.pos.path, p.pos.line, p.pos.col,
                         f"person '{p.id}' is never marked in the text ([{p.name}]{{.speaker ref={p.id}}})")


def _is_abbreviation(name: str) -> bool:
    return any(c.isdigit() for c in name) or (name.upper() == name and any(c.isalpha() for c in name))


def _name_pattern(entries: tuple[GlossaryEntry, ...]) -> list[tuple[re.Pattern[str], GlossaryEntry, str]]:
    pats = []
    for e in entries:
        for name in {e.term, e.expansion, *e.aliases} - {""}:
            flags = 0 if _is_abbreviation(name) else re.IGNORECASE
            body = re.escape(name).replace(r"\ ", r"\s+").replace("'", "['\u2019]")
            pats.append((re.compile(rf"(?<![\w-]){body}(?![\w-])", flags), e, name))
    pats.sort(key=lambda t: -len(t[2]))  # longest names first
    return pats


def _unmarked(doc: Document, diag: Collector) -> None:
    pats = _name_pattern(doc.glossary)
    if not pats:
        return
    runs = tuple(query(doc.blocks, lambda b: b.content if isinstance(b, (Paragraph, Heading)) else None))
    marked = {id(t) for r in nodes(runs) if isinstance(r, TermRef) for t in nodes(r.content)}
    for i in (t for t in nodes(runs) if isinstance(t, Text) and id(t) not in marked):
        taken: list[tuple[int, int]] = []
        for pat, entry, _name in pats:
            for m in pat.finditer(i.text):
                if any(m.start() < b and a < m.end() for a, b in taken):
                    continue
                taken.append((m.start(), m.end()))
                p = i.pos
                if p is None:
                    continue
                diag.warning(p.path, p.line, p.col + m.start(),
                             f"unmarked use of glossary term '{m.group(0)}' (entry '{entry.id}'): "
                             f"write [{m.group(0)}]{{.term ref={entry.id}}}")


def _expansions(doc: Document, diag: Collector) -> None:
    expanded: set[str] = set()
    warned: set[str] = set()
    uses = [i for i in nodes(doc.blocks) if isinstance(i, TermRef)]
    for i in uses:
        e = doc.entry(i.ref)
        if not e.expansion:
            continue
        text = _norm(plain_text(i.content))
        if _norm(e.expansion) in text:
            expanded.add(e.id)
        elif text == _norm(e.term) and e.id not in expanded and e.id not in warned and i.pos:
            warned.add(e.id)
            later = any(
                j.ref == e.id and _norm(e.expansion) in _norm(plain_text(j.content)) for j in uses
            )
            msg = (f"abbreviation '{e.term}' is used before its expansion '{e.expansion}'" if later
                   else f"abbreviation '{e.term}' is never expanded in the text ('{e.expansion}')")
            diag.warning(i.pos.path, i.pos.line, i.pos.col, msg)


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip().casefold()


@dataclass(frozen=True)
class Counts:
    paragraphs: int
    sections: int
    headings: int
    words: int
    term_uses: int
    glossary_entries: int
    annotations: dict[str, int]
    people: int
    images: int
    tables: int = 0
    figures: int = 0
    math: int = 0

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def counts(doc: Document) -> Counts:
    inl = list(nodes(doc.blocks))
    paras = [b for b in inl if isinstance(b, Paragraph)]
    heads = [b for b in inl if isinstance(b, Heading)]
    kinds: Counter[str] = Counter(a.kind for a in doc.annotations)
    words = sum(len(plain_text(b.content).split()) for b in paras)
    return Counts(
        paragraphs=len(paras),
        sections=1 + sum(1 for h in heads if h.level == 1) if paras else 0,
        headings=len(heads),
        words=words,
        term_uses=sum(1 for i in inl if isinstance(i, TermRef)),
        glossary_entries=len(doc.glossary),
        annotations={k: kinds.get(k, 0) for k in ("context", "update", "source", "editorial", "footnote")},
        people=len(doc.people),
        images=sum(1 for i in inl if isinstance(i, Image)),
        tables=sum(1 for i in inl if isinstance(i, Table)),
        figures=sum(1 for i in inl if isinstance(i, Figure)),
        math=sum(1 for i in inl if isinstance(i, Math)),
    )
