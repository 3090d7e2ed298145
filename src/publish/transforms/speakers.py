"""Speakers: ids for marks, first mentions; people in order of first appearance."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from ..model import Document, SpeakerRef, walk


def speakers(doc: Document) -> Document:
    counter: Counter[str] = Counter()
    order: list[str] = []

    def number(i):
        if not isinstance(i, SpeakerRef):
            return i
        counter[i.ref] += 1
        if i.ref not in order:
            order.append(i.ref)
        return replace(i, id=f"speaker-{i.ref}-{counter[i.ref]}", first=counter[i.ref] == 1)

    blocks = walk(doc.blocks, number)
    rank = {p: k for k, p in enumerate(order)}
    people = sorted(doc.people, key=lambda p: rank.get(p.id, len(rank)))
    people = [replace(p, first_use_id=f"speaker-{p.id}-1" if p.id in rank else None) for p in people]
    return replace(doc, blocks=blocks, people=tuple(people))
