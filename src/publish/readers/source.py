"""Read one article source (Markdown + front matter + side files) into a raw model.

Raw: references are resolved to objects, but numbering, ids and first uses are
left to ``publish.transforms``.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..diagnostics import Collector, Diagnostic, PublishError, did_you_mean
from ..model import Annotation, Document, GlossaryEntry, Meta, NativeName, Person, Pos, Source
from ..resources import Resolver
from . import schema as side_schema
from .images import check_image, image_format
from .dates import read_date
from .markdown import Converter, Refs, normalise_name, parse
from .text import decode
from .yamlsafe import Located, LocatedList, load_yaml

META_KEYS = {
    "title", "title-note", "short-title", "subtitle", "standfirst", "series-note", "author",
    "publisher", "date", "lang", "rights", "identifier", "keywords", "glossary", "annotations",
    "people",
}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_IMAGE_SUFFIXES = {"PNG": (".png",), "JPEG": (".jpg", ".jpeg"), "GIF": (".gif",)}
_URL_OK = re.compile(r"^https?://[^\s]+$", re.I)
ANNOTATION_KINDS_IN_FILES = ("context", "update", "source", "editorial")


def read_source(path: Path, resolver: Resolver, diag: Collector) -> Document:
    """Read ``path``; errors go to ``diag`` (PublishError raised when reading cannot go on)."""
    spath = str(path)
    try:
        data = resolver.read_bytes(path)
    except OSError as exc:
        raise PublishError(Diagnostic(spath, 1, 1, "error", f"cannot read: {exc.strerror or exc}")) from None
    text = decode(data, spath)
    if not text.strip():
        raise PublishError(Diagnostic(spath, 1, 1, "error", "the source is empty (it needs at least a title in front matter)"))

    fm_text, fm_line = _front_matter(text, spath)
    raw_meta = load_yaml(fm_text, spath, line_offset=fm_line - 1) if fm_text is not None else None
    if raw_meta is None:
        raw_meta = Located()
        raw_meta.key_pos, raw_meta.val_pos = {}, {}
    if not isinstance(raw_meta, Located):
        raise PublishError(Diagnostic(spath, fm_line, 1, "error", "front matter must be a YAML mapping (key: value)"))
    meta = _meta(raw_meta, spath, fm_line, diag)
    has_front_matter = fm_text is not None

    refs = Refs()
    glossary = _side_file(raw_meta, "glossary", path, resolver, diag, _glossary_entry, refs)
    people = _side_file(raw_meta, "people", path, resolver, diag, _person, refs)
    for e in glossary:
        refs.glossary[e.id] = e
    for p in people:
        refs.people[p.id] = p
        refs.people_by_name.setdefault(normalise_name(p.name), p)
    _index_names(glossary, refs, diag)
    annotations = _side_file(raw_meta, "annotations", path, resolver, diag, _annotation_shell, refs)
    for a in annotations:
        refs.annotations[a.id] = a

    def resolve_image(src: str, pos: Pos) -> str:
        try:
            real = resolver.resolve(src, pos)
            data = resolver.read_bytes(real)  # the bytes the writers will embed
        except PublishError as exc:
            diag.items.extend(exc.diagnostics)
            return src
        except OSError as exc:
            diag.error(pos.path, pos.line, pos.col, f"'{src}': cannot read: {exc.strerror or exc}")
            return src
        problem = check_image(real, data)
        if problem:
            diag.error(pos.path, pos.line, pos.col, f"'{src}': {problem}")
            return src
        kind = image_format(real, data)
        if real.suffix.lower() not in _IMAGE_SUFFIXES.get(kind, ()):
            diag.error(pos.path, pos.line, pos.col,
                       f"'{src}' is a {kind} image: name it with one of "
                       f"{', '.join(_IMAGE_SUFFIXES.get(kind, ()))}")
        return src  # as written (URL-encoded): writers resolve it through the same resolver

    conv = Converter(text, spath, diag, refs, resolve_image=resolve_image)
    blocks = conv.blocks(*parse(text))
    _follow_ups(diag, refs)
    meta, blocks = _title(meta, blocks, raw_meta, has_front_matter, spath, fm_line, diag)
    footnote_ids = [a.id for a in refs.footnotes]

    all_notes = [refs.annotations[a.id] for a in annotations] + [refs.annotations[i] for i in footnote_ids]
    for a in annotations:
        if a.id not in refs.anchored:
            p = a.pos or Pos(spath, 1, 1)
            diag.error(p.path, p.line, p.col,
                       f"annotation '{a.id}' is never anchored in the text (mark a span [..]{{.note ref={a.id}}})")
    return Document(
        meta=meta,
        blocks=blocks,
        glossary=tuple(glossary),
        annotations=tuple(all_notes),
        people=tuple(people),
        source_path=spath,
    )


# --------------------------------------------------------------------------- front matter


def _front_matter(text: str, path: str) -> tuple[str | None, int]:
    """Return (YAML text, line of its first line) or (None, 1) if there is none."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None, 1
    for k in range(1, len(lines)):
        if lines[k].rstrip() in ("---", "..."):
            return "\n".join(lines[1:k]), 2
    raise PublishError(Diagnostic(path, 1, 1, "error", "front matter is not closed: add a line '---' after it"))


def _meta(raw: Located, path: str, fm_line: int, diag: Collector) -> Meta:
    def pos(key: str) -> tuple[int, int]:
        return raw.pos_of(key) if key in raw.key_pos else (max(fm_line - 1, 1), 1)

    for key in raw:
        if key not in META_KEYS:
            line, col = pos(key)
            hint = did_you_mean(str(key), META_KEYS)
            diag.warning(path, line, col, f"unknown front matter key '{key}' (ignored)"
                         + (f": did you mean '{hint}'?" if hint else ""))

    def text(key: str, required: bool = False) -> str:
        v = raw.get(key)
        if v is None:
            if required:
                diag.error(path, max(fm_line - 1, 1), 1, f"missing required metadata '{key}'")
            return ""
        if isinstance(v, (dict, list)):
            line, col = pos(key)
            diag.error(path, line, col, f"'{key}' must be text")
            return ""
        s = str(v).strip()
        if required and not s:
            line, col = pos(key)
            diag.error(path, line, col, f"'{key}' is empty")
        return s

    def text_list(key: str) -> tuple[str, ...]:
        v = raw.get(key)
        if v is None:
            return ()
        if isinstance(v, str):
            return (v.strip(),) if v.strip() else ()
        if isinstance(v, list) and all(isinstance(x, (str, int, float)) for x in v):
            return tuple(str(x).strip() for x in v if str(x).strip())
        line, col = pos(key)
        diag.error(path, line, col, f"'{key}' must be text or a list of text")
        return ()

    title = text("title")
    lang = text("lang") or "en"
    if not _LANG.match(lang):
        line, col = pos("lang")
        diag.error(path, line, col, f"'lang' must be a BCP 47 language tag such as en-GB (got '{lang}')")
        lang = "en"
    date_written = text("date")
    date, problem = read_date(date_written) if date_written else ("", None)
    if problem:
        line, col = pos("date")
        if date:
            diag.warning(path, line, col, f"'date': {problem}, shown as written (ISO is preferred: date: {date})")
        else:
            diag.warning(path, line, col, f"'date': {problem}: it is shown as written and left out of the "
                                          "metadata (write it as YYYY-MM-DD)")
    ident = text("identifier")
    line0 = max(fm_line - 1, 1)
    return Meta(
        title=title,
        title_note=text("title-note"),
        short_title=text("short-title"),
        subtitle=text("subtitle"),
        standfirst=text("standfirst"),
        series_note=text("series-note"),
        authors=text_list("author"),
        publisher=text("publisher"),
        date=date,
        date_text=date_written if problem else "",
        lang=lang,
        rights=text("rights"),
        identifier=ident,
        keywords=text_list("keywords"),
        pos=Pos(path, line0, 1),
    )


# --------------------------------------------------------------------------- side files


def _side_file(raw_meta: Located, key: str, src: Path, resolver: Resolver, diag: Collector, make, refs: Refs) -> list:
    ref = raw_meta.get(key)
    if ref is None:
        return []
    line, col = raw_meta.pos_of(key)
    where = Pos(str(src), line, col)
    if not isinstance(ref, str):
        diag.root(where.path, line, col, f"'{key}' must name a YAML file beside the source", suppresses=key)
        return []
    try:
        fpath = resolver.resolve(ref, where)
        data = decode(resolver.read_bytes(fpath), _display(fpath, src))
        items = load_yaml(data, _display(fpath, src))
    except OSError as exc:
        diag.root(where.path, line, col, f"{key} file '{ref}' cannot be read: {exc.strerror or exc}", suppresses=key)
        return []
    except PublishError as exc:
        # the file is missing, outside the tree, not text or not YAML: a root cause
        # (the uses of its entries in the text are not reported one by one)
        for d in exc.diagnostics:
            diag.root(d.path, d.line, d.col, d.message + f" (the {key} file '{ref}' is not read)", suppresses=key)
        return []
    fname = _display(fpath, src)
    if items is None:
        diag.root(fname, 1, 1, f"the {key} file is empty: it should be a YAML list of entries ('- id: …')",
                  suppresses=key)
        return []
    if not isinstance(items, LocatedList):
        diag.root(fname, getattr(items, "line", 1), 1,
                  f"the {key} file must be a YAML list of entries ('- id: …'), not "
                  + ("a mapping" if isinstance(items, dict) else "a single value"), suppresses=key)
        return []
    # The schema (publish/schemas/<key>.schema.json) says which fields exist, their
    # types and which are required; the entry readers below add what a schema
    # cannot say (a definition is one paragraph, see-also ids exist, dates read).
    # An entry the schema has found wrong gets no second error from them.
    schema_diags = side_schema.validate(key, items, fname)
    diag.items.extend(schema_diags)
    starts = [p[0] for p in items.item_pos]
    wrong = {sum(1 for st in starts if st <= d.line) - 1 for d in schema_diags}
    out = []
    seen: dict[str, int] = {}
    for n, item in enumerate(items):
        if not isinstance(item, Located):
            continue  # reported by the schema ("must be a mapping")
        own = Collector()
        obj = make(item, fname, own, refs)
        diag.items.extend(d for d in own.items if d.severity != "error" or n not in wrong)
        if obj is None:
            continue
        if obj.id in seen:
            l, c = item.pos_of("id")
            diag.error(fname, l, c, f"duplicate id '{obj.id}' (first at line {seen[obj.id]})")
            continue
        seen[obj.id] = item.pos_of("id")[0]
        out.append(obj)
    return out


def _display(p: Path, src: Path) -> str:
    """Paths in messages: as the user would write them, relative to the source's folder."""
    try:
        return str(Path(src).parent / p.relative_to(Path(src).resolve().parent))
    except ValueError:
        return str(p)


def _need_id(item: Located, fname: str, diag: Collector) -> str | None:
    ident = item.get("id")
    if not isinstance(ident, str) or not _ID.match(ident):
        l, c = item.pos_of("id")
        diag.error(fname, l, c, "entry needs an 'id' (letters, digits, '-' or '_')")
        return None
    return ident


def _str(item: Located, key: str, fname: str, diag: Collector, required: bool = False) -> str:
    v = item.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        if required:
            diag.error(fname, item.line, item.col, f"entry '{item.get('id', '?')}' needs '{key}'")
        return ""
    if isinstance(v, (dict, list)):
        l, c = item.pos_of(key)
        diag.error(fname, l, c, f"'{key}' must be text")
        return ""
    return str(v).strip()


def _date(item: Located, key: str, fname: str, diag: Collector) -> str:
    """A note's or source's date: ISO; another readable form is taken as its ISO
    date with a warning; an unreadable one is left out with a warning."""
    value = _str(item, key, fname, diag)
    iso, problem = read_date(value) if value else ("", None)
    if problem:
        l, c = item.pos_of(key)
        if iso:
            diag.warning(fname, l, c, f"'{key}': {problem} (ISO is preferred: {key}: {iso})")
        else:
            diag.warning(fname, l, c, f"'{key}': {problem}: it is left out (write it as YYYY-MM-DD)")
    return iso


def _strs(item: Located, key: str, fname: str, diag: Collector) -> tuple[str, ...]:
    v = item.get(key)
    if v is None:
        return ()
    if isinstance(v, str):
        return (v.strip(),) if v.strip() else ()
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return tuple(x.strip() for x in v if x.strip())
    l, c = item.pos_of(key)
    diag.error(fname, l, c, f"'{key}' must be a list of text")
    return ()


# The fields of each side file: from its schema (the one statement of them).
GLOSSARY_KEYS = set(side_schema.fields("glossary"))
PEOPLE_KEYS = set(side_schema.fields("people"))
ANNOTATION_KEYS = set(side_schema.fields("annotations"))
SOURCE_KEYS = set(side_schema.schema("annotations")["$defs"]["source"]["properties"])


def _inline_md(text: str, fname: str, line: int, diag: Collector):
    """Inline Markdown of a YAML text (a definition): the first paragraph's inlines."""
    conv = Converter(text, fname, diag, Refs(), line_offset=line - 1, in_note=True)
    blocks = conv.blocks(*parse(text))
    from ..model import Paragraph

    if len(blocks) != 1 or not isinstance(blocks[0], Paragraph):
        diag.error(fname, line, 1, "a definition must be one paragraph of text")
        return ()
    return blocks[0].content


def _natives(item: Located, fname: str, diag: Collector) -> tuple[NativeName, ...]:
    """``native`` (a mapping or a list of them) and the Chinese shorthand ``zh``/``pinyin``."""
    out = []
    zh = _str(item, "zh", fname, diag)
    pinyin = _str(item, "pinyin", fname, diag)
    if zh:
        out.append(NativeName("zh-Hans", zh, pinyin, "zh-Latn-pinyin" if pinyin else ""))
    elif pinyin:
        l, c = item.pos_of("pinyin")
        diag.error(fname, l, c, "'pinyin' romanises 'zh': add the Chinese name (zh: …)")
    raw = item.get("native")
    for n in (raw if isinstance(raw, list) else [raw] if raw is not None else []):
        if not isinstance(n, Located):
            continue  # the schema reports it
        lang, text = _str(n, "lang", fname, diag), _str(n, "text", fname, diag)
        if not (lang and text and _LANG.match(lang)):
            continue
        romanized = _str(n, "romanized", fname, diag)
        rlang = _str(n, "romanized-lang", fname, diag)
        if romanized and not (rlang and _LANG.match(rlang)):
            rlang = lang.split("-")[0] + "-Latn"
        out.append(NativeName(lang, text, romanized, rlang if romanized else ""))
    return tuple(out)


def _glossary_entry(item: Located, fname: str, diag: Collector, refs: Refs) -> GlossaryEntry | None:
    ident = _need_id(item, fname, diag)
    if ident is None:
        return None
    term = _str(item, "term", fname, diag, required=True)
    definition = _str(item, "definition", fname, diag, required=True)
    dline = item.text_line("definition")
    return GlossaryEntry(
        id=ident,
        term=term or ident,
        definition=_inline_md(definition, fname, dline, diag) if definition else (),
        expansion=_str(item, "expansion", fname, diag),
        native=_natives(item, fname, diag),
        aliases=_strs(item, "aliases", fname, diag),
        see_also=_strs(item, "see", fname, diag),
        pos=Pos(fname, *item.pos_of("id")),
    )


def _index_names(glossary: list[GlossaryEntry], refs: Refs, diag: Collector) -> None:
    ids = {e.id for e in glossary}
    for e in glossary:
        for name in (e.term, e.expansion, *e.aliases):
            if not name:
                continue
            key = normalise_name(name)
            other = refs.by_name.get(key)
            if other is not None and other.id != e.id:
                p = e.pos or Pos("?", 1, 1)
                diag.error(p.path, p.line, p.col, f"'{name}' names both '{other.id}' and '{e.id}'")
            refs.by_name.setdefault(key, e)
        for s in e.see_also:
            if s not in ids:
                p = e.pos or Pos("?", 1, 1)
                diag.error(p.path, p.line, p.col, f"see-also '{s}' of '{e.id}' is not a glossary entry")


def _person(item: Located, fname: str, diag: Collector, refs: Refs) -> Person | None:
    ident = _need_id(item, fname, diag)
    if ident is None:
        return None
    return Person(
        id=ident,
        name=_str(item, "name", fname, diag, required=True) or ident,
        role=_str(item, "role", fname, diag),
        affiliation=_str(item, "affiliation", fname, diag),
        pos=Pos(fname, *item.pos_of("id")),
    )


def _annotation_shell(item: Located, fname: str, diag: Collector, refs: Refs) -> Annotation | None:
    ident = _need_id(item, fname, diag)
    if ident is None:
        return None
    if ident.startswith("fn-"):
        l, c = item.pos_of("id")
        diag.error(fname, l, c, f"annotation id '{ident}': the prefix 'fn-' belongs to Markdown footnotes")
        return None
    kind = _str(item, "kind", fname, diag, required=True)
    if kind and kind not in ANNOTATION_KINDS_IN_FILES:
        l, c = item.pos_of("kind")
        diag.error(fname, l, c, f"unknown annotation kind '{kind}' (one of: {', '.join(ANNOTATION_KINDS_IN_FILES)})")
        kind = "context"
    body_text = _str(item, "body", fname, diag, required=True)
    conv = Converter(body_text, fname, diag, refs, line_offset=item.text_line("body") - 1, in_note=True)
    body = conv.blocks(*parse(body_text)) if body_text else ()
    sources = []
    raw_sources = item.get("sources")
    if raw_sources is not None:
        if not isinstance(raw_sources, list):
            l, c = item.pos_of("sources")
            diag.error(fname, l, c, "'sources' must be a list")
        else:
            for s in raw_sources:
                if isinstance(s, str):
                    sources.append(Source(title=s))
                elif isinstance(s, Located):
                    url = _str(s, "url", fname, diag)
                    if url and not _URL_OK.match(url):
                        l, c = s.pos_of("url")
                        diag.error(fname, l, c, f"source url '{url[:40]}' must be an https:// or http:// address")
                        url = ""
                    sources.append(Source(
                        title=_str(s, "title", fname, diag, required=True),
                        url=url,
                        publisher=_str(s, "publisher", fname, diag),
                        date=_date(s, "date", fname, diag),
                    ))
                else:
                    diag.error(fname, item.line, item.col, "each source must be text or a mapping")
    return Annotation(
        id=ident,
        kind=kind or "context",  # type: ignore[arg-type]
        body=body,
        title=_str(item, "title", fname, diag),
        sources=tuple(sources),
        author=_str(item, "author", fname, diag),
        date=_date(item, "date", fname, diag),
        pos=Pos(fname, *item.pos_of("id")),
    )


# --------------------------------------------------------------------------- one pass

_UNKNOWN = {
    "glossary": re.compile(r"^unknown glossary term '(?P<ref>[^']*)'$|^unknown glossary term for '(?P<text>.*)' \("),
    "annotations": re.compile(r"^unknown annotation '(?P<ref>[^']*)'$"),
    "people": re.compile(r"^unknown person '(?P<ref>[^']*)'$|^unknown person for '(?P<text>.*)' \("),
}


def _follow_ups(diag: Collector, refs: Refs) -> None:
    """After the text is read: drop the "unknown term/note/person" errors that a side
    file which failed to load explains (it is reported first, once), and add "did
    you mean" to the others."""
    known = {
        "glossary": (list(refs.glossary), list(refs.by_name)),
        "annotations": ([a for a in refs.annotations if not a.startswith("fn-")], []),
        "people": (list(refs.people), list(refs.people_by_name)),
    }
    kept = []
    for d in diag.items:
        for kind, pat in _UNKNOWN.items():
            m = pat.match(d.message) if d.severity == "error" else None
            if m is None:
                continue
            if kind in diag.suppressed:
                d = None
            else:
                ids, names = known[kind]
                hint = (did_you_mean(m["ref"], ids) if m["ref"] is not None
                        else did_you_mean(normalise_name(m["text"]), names))
                if hint is not None:
                    if m["ref"] is None:  # a name: suggest the entry it is closest to
                        entry = (refs.by_name if kind == "glossary" else refs.people_by_name)[hint]
                        hint = entry.id
                    d = Diagnostic(d.path, d.line, d.col, d.severity, f"{d.message}: did you mean ref={hint}?")
            break
        if d is not None:
            kept.append(d)
    diag.items = kept


def _title(meta: Meta, blocks, raw_meta: Located, has_front_matter: bool, path: str, fm_line: int,
           diag: Collector):
    """No title in the front matter: a level-1 heading that opens the text is the title
    (with a warning), as Pandoc does with --shift-heading-level-by=-1; if it is the
    only level-1 heading, the others move up a level."""
    from dataclasses import replace

    from ..model import Heading, plain_text

    if meta.title:
        return meta, blocks
    first = blocks[0] if blocks else None
    if isinstance(first, Heading) and first.level == 1 and plain_text(first.content).strip():
        title = plain_text(first.content).strip()
        p = first.pos if getattr(first, "pos", None) is not None else Pos(path, 1, 1)
        where = "" if has_front_matter else "no front matter: "
        diag.warning(p.path, p.line, p.col,
                     f"{where}the first heading '{title}' is taken as the title (say so in front matter: "
                     f"---, title: \"{title}\", ---)")
        rest = tuple(blocks[1:])
        if not any(isinstance(b, Heading) and b.level == 1 for b in rest):
            rest = _shift_up(rest)
        return replace(meta, title=title), rest
    if "title" in raw_meta:
        line, col = raw_meta.pos_of("title")
        diag.error(path, line, col, "'title' is empty")
    elif has_front_matter:
        diag.error(path, max(fm_line - 1, 1), 1, "missing required metadata 'title': add a line 'title: …' "
                                                 "to the front matter")
    else:
        diag.error(path, 1, 1, "missing required metadata 'title': start the file with front matter "
                               "(---, title: \"…\", ---) or with a level-1 heading (# Title)")
    return meta, blocks


def _shift_up(blocks):
    """Every heading one level up (Pandoc's --shift-heading-level-by=-1)."""
    from dataclasses import replace

    from ..model import Heading, walk

    return walk(tuple(blocks), lambda b: replace(b, level=max(b.level - 1, 1)) if isinstance(b, Heading) else b)
