"""Back matter and fixed labels, built once from the model for every writer.

The glossary, the voices, the sources and the colophon are plain data here;
the PDF and EPUB templates and the DOCX writer only lay them out, so the three
formats carry the same headings and the same content. Every fixed string comes
from ``labels/<lang>.yaml`` (Pandoc's translations), chosen by ``meta.lang``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Mapping

import yaml

from .model import Annotation, Document, Inline, Meta, NativeName, Source
from .writers.common import human_date, join_names


@dataclass(frozen=True)
class Labels:
    lang: str
    strings: Mapping[str, str]

    def __getitem__(self, key: str) -> str:
        return self.strings[key]

    def fmt(self, key: str, **values: str) -> str:
        return self.strings[key].format(**values)

    def names(self, names: tuple[str, ...]) -> str:
        return join_names(names, self.strings["and"])

    def kind(self, kind: str) -> str:
        return self.strings.get(f"kind-{kind}", kind.title())


@lru_cache(maxsize=None)
def _load(lang: str) -> dict[str, str]:
    try:
        text = resources.files("publish").joinpath("labels", f"{lang}.yaml").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return {}
    data = yaml.safe_load(text) or {}
    return {str(k): "" if v is None else str(v) for k, v in data.items()}


def labels_for(lang: str) -> Labels:
    primary = (lang or "en").split("-")[0].lower()
    return Labels(lang, {**_load("en"), **_load(primary)})


@dataclass(frozen=True)
class GlossaryItem:
    anchor: str  # id of the entry ("gloss-<id>")
    term: str
    expansion: str  # "" when it repeats the term
    native: str  # the term in its own script ("" if none): the first of ``natives``
    native_lang: str  # BCP 47 tag of ``native``
    romanized: str  # its romanisation (pinyin)
    romanized_lang: str
    definition: tuple[Inline, ...]
    see_also: tuple[tuple[str, str], ...]  # (anchor, term)
    first_use_id: str | None
    natives: tuple[NativeName, ...] = ()  # every native name (any language), in the glossary's order


@dataclass(frozen=True)
class VoiceItem:
    anchor: str  # "person-<id>"
    name: str
    description: str  # role, affiliation
    first_use_id: str | None


@dataclass(frozen=True)
class SourceItem:
    note_id: str  # the note that cites it
    note_number: int
    source: Source
    date: str  # as readers see it


@dataclass(frozen=True)
class BackMatter:
    labels: Labels
    glossary: tuple[GlossaryItem, ...]
    voices: tuple[VoiceItem, ...]
    sources: tuple[SourceItem, ...]
    colophon: tuple[str, ...]  # lines, after the title


def note_head(ann: Annotation, labels: Labels) -> str:
    """What a reader note opens with: its kind and title ("Update. The review")."""
    return ". ".join(x for x in (labels.kind(ann.kind), ann.title) if x)


def display_date(meta: Meta) -> str:
    """The date as readers see it: the source's own words when the date was not
    ISO (``meta.date_text``), else the ISO date spelt out ("September 2021")."""
    return meta.date_text or (human_date(meta.date) if meta.date else "")


def published_line(doc: Document, labels: Labels) -> str:
    m = doc.meta
    date = display_date(m)
    if m.publisher and date:
        return labels.fmt("published-by-on", publisher=m.publisher, date=date)
    if m.publisher:
        return labels.fmt("published-by", publisher=m.publisher)
    if date:
        return labels.fmt("published-on", date=date)
    return ""


def back_matter(doc: Document) -> BackMatter:
    labels = labels_for(doc.meta.lang)
    by_id = {e.id: e for e in doc.glossary}
    none = NativeName("", "")
    glossary = tuple(
        GlossaryItem(
            anchor=e.anchor, term=e.term,
            expansion=e.expansion if e.expansion and e.expansion != e.term else "",
            native=first.text, native_lang=first.lang,
            romanized=first.romanized, romanized_lang=first.romanized_lang,
            definition=e.definition,
            see_also=tuple((by_id[s].anchor, by_id[s].term) for s in e.see_also if s in by_id),
            first_use_id=e.first_use_id,
            natives=e.native,
        )
        for e in doc.glossary
        for first in (e.native[0] if e.native else none,)
    )
    voices = tuple(
        VoiceItem(p.anchor, p.name, ", ".join(x for x in (p.role, p.affiliation) if x), p.first_use_id)
        for p in doc.people
    )
    sources = tuple(
        SourceItem(a.note_id, a.number, s, human_date(s.date) if s.date else "")
        for a in sorted(doc.reader_notes, key=lambda a: a.number or 0) if a.number is not None
        for s in a.sources
    )
    m = doc.meta
    colophon = tuple(x for x in (
        labels.fmt("written-by", names=labels.names(m.authors)) if m.authors else "",
        published_line(doc, labels),
        m.rights,
        labels.fmt("identifier", identifier=m.identifier) if m.identifier else "",
    ) if x)
    return BackMatter(labels, glossary, voices, sources, colophon)
