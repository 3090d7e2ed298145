"""The PDF writer: model → HTML fragments → Jinja2 template → WeasyPrint.

The look is ``styles/print.css``; this module chooses the paper size and the
note placement, and mends what WeasyPrint gets wrong, in one layout:

* every WeasyPrint warning or error logged during layout or drawing (a glyph
  no font covers, unknown CSS, a refused fetch) is a ``RenderError``;
* every reader note's body must sit on the page of its call (WeasyPrint's
  ``float: footnote`` can move or drop notes, upstream #2502, #1564), and no
  justified line may be left badly short (upstream #1614-like breaking). Each
  page is checked the moment WeasyPrint has made it (``_Mender``, through the
  engine boundary ``_weasyprint``) and, if it must be mended, restyled with a
  ``p.<class>`` rule of print.css and made again -- one layout, not one per
  mend. The whole document is checked again after layout (the safety net); a
  fault found only then is mended in a new layout, and ``--verbose`` says so.
  If footnotes cannot hold every note, notes go beside their calls in a wide
  outer margin; if that fails too, the render fails. A PDF with a lost or
  displaced note is never returned.
"""

from __future__ import annotations

import gc
import logging
import re
from collections import defaultdict
import threading
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Iterator

from ..diagnostics import Diagnostic, RenderError
from ..model import Document, Image, Pos, Text, nodes, plain_text
from ..options import RenderOptions
from ..resources import ResourceError, Resolver
from ..backmatter import display_date
from .common import join_names
from . import _weasyprint as engine
from .html import Fragments, HtmlContext, render_fragments
from .templating import environment

TEMPLATE = "pdf/article.html"
STYLESHEET = "print.css"
# Tried in order until every note sits on the page of its call (see print.css):
# footnotes at the foot of the calling page, then side notes in a wide outer margin.
PLACEMENTS: tuple[str, ...] = ("footnotes", "sidenotes")
# Classes (defined in print.css) that re-set one paragraph when WeasyPrint broke
# its lines badly (a line of one short word; upstream #1614-like inline breaking),
# tried in order: a hair tighter, a hair looser, without first-line indent.
PARAGRAPH_FIXES: tuple[str, ...] = ("fit-tight", "fit-loose", "fit-noindent")
# Set on the paragraph that calls a note WeasyPrint moved to a later page: the
# paragraph starts a new page, with its notes (tried before side notes).
NOTE_PUSH = "fn-push"
MAX_LAYOUTS = 4  # per placement: the first, and safety-net layouts for faults found only after it
SHORT_LINE = 0.6  # a justified line (not its paragraph's last) filled less than this is badly broken
LOG = logging.getLogger("publish.pdf")
PAPER_CSS = {"a4": "@page { size: A4; }", "letter": "@page { size: letter; }"}

# --------------------------------------------------------------------------
# Logs: any WeasyPrint warning is a build error


class _Capture(logging.Handler):
    """Collects WeasyPrint records of level WARNING and above from this thread."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.thread = threading.get_ident()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.records.append(record)


@contextmanager
def _capture_weasyprint_logs() -> Iterator[_Capture]:
    logger = logging.getLogger("weasyprint")
    handler = _Capture()
    old_level = logger.level
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _raise_on_logs(capture: _Capture, doc: Document) -> None:
    if not capture.records:
        return
    path = doc.source_path or "<document>"
    diags = []
    seen: set[str] = set()
    for rec in capture.records:
        msg = rec.getMessage()
        if msg in seen:
            continue
        seen.add(msg)
        missing = re.search(r"\(U\+([0-9A-Fa-f]{4,6})\)", msg) if ".notdef" in msg else None
        if missing:
            char = chr(int(missing.group(1), 16))
            where = _first_use(doc, char) or Pos(path, 1, 1)
            diags.append(Diagnostic(where.path, where.line, where.col, "error",
                                    f"PDF: no font in styles/ has {char!r} (U+{missing.group(1).upper()}): "
                                    "it would print as a box; remove it or name a font that has it"))
        else:
            diags.append(Diagnostic(path, 1, 1, "error", f"PDF: WeasyPrint {rec.levelname.lower()}: {msg}"))
    raise RenderError(diags)


def _first_use(doc: Document, char: str) -> Pos | None:
    """Where a character first stands in the source, from the model's text positions."""
    for i in nodes((doc.blocks, doc.reader_notes)):
        if isinstance(i, Text) and char in i.text and i.pos is not None:
            return Pos(i.pos.path, i.pos.line, i.pos.col + i.text.index(char))
    for e in doc.glossary:
        if e.pos is not None and char in (e.term + "".join(n.text + n.romanized for n in e.native) + e.expansion
                                                  + plain_text(e.definition)):
            return e.pos
    for p in doc.people:
        if p.pos is not None and char in (p.name + p.role + p.affiliation):
            return p.pos
    return doc.meta.pos


@contextmanager
def _fetch_errors(doc: Document, error_type: type[Exception]) -> Iterator[None]:
    """A resource the resolver refuses is a build error with the resolver's message."""
    try:
        yield
    except error_type as e:
        raise RenderError(Diagnostic(doc.source_path or "<document>", 1, 1, "error",
                                     f"PDF: {e}")) from None


# --------------------------------------------------------------------------
# Note placement and line checks


@dataclass(frozen=True)
class NotePlacement:
    """Where one note's call and body ended up (0-based page indexes)."""

    note_id: str
    number: int
    call_pages: tuple[int, ...]
    body_pages: tuple[int, ...]

    @property
    def ok(self) -> bool:
        return (len(self.call_pages) == 1 and len(self.body_pages) == 1
                and self.call_pages == self.body_pages)

    def describe(self) -> str:
        if not self.body_pages:
            return f"note {self.number} ({self.note_id}) was dropped from the layout"
        if not self.call_pages:
            return f"the call of note {self.number} ({self.note_id}) is missing"
        calls = ", ".join(str(p + 1) for p in self.call_pages)
        bodies = ", ".join(str(p + 1) if p >= 0 else f"{-p} (outside the note area)"
                           for p in self.body_pages)
        return f"note {self.number} ({self.note_id}) is called on page {calls} but set on page {bodies}"


def _notes_on(page: engine.PageView, calls: dict[str, str], bodies: set[str], footnotes: bool,
              call_pages: dict[str, set[int]], body_pages: dict[str, set[int]]) -> None:
    """Record the note calls and note bodies found on one page (a body in the wrong area,
    or drawn off the page, is recorded as page ``-1 - index``)."""
    for element, area, inside in page.elements():
        ident = element.get("id")
        if ident in bodies:
            ok = inside and (area == "footnotes" or not footnotes)
            body_pages[ident].add(page.index if ok else -1 - page.index)
        elif ident in calls:
            call_pages[calls[ident]].add(page.index)


def check_note_placement(document, fragments: Fragments, footnotes: bool = True) -> list[NotePlacement]:
    """Find every note call and note body in WeasyPrint's laid-out pages.

    With ``footnotes``, a note body counts only inside a page's footnote area."""
    calls = {n.anchor_id: n.id for n in fragments.notes}
    bodies = {n.id for n in fragments.notes}
    call_pages: dict[str, set[int]] = {i: set() for i in bodies}
    body_pages: dict[str, set[int]] = {i: set() for i in bodies}
    for page in engine.page_views(document):
        _notes_on(page, calls, bodies, footnotes, call_pages, body_pages)
    return [NotePlacement(n.id, n.number, tuple(sorted(call_pages[n.id])), tuple(sorted(body_pages[n.id])))
            for n in fragments.notes]


def _short_lines(lines: list[engine.Line]) -> bool:
    """A justified paragraph's line, not its last on the page, filled less than SHORT_LINE."""
    return any(line.justified and line.filled < SHORT_LINE * line.width for line in lines[:-1])


def _refitted(element, lines: list[engine.Line], pg: engine.Pagination) -> tuple[str, ...] | None:
    """A paragraph's classes with its next fix, if a line is badly broken and a fix is left."""
    if not _short_lines(lines):
        return None
    classes = pg.classes(element)
    fix = next((c for c in classes if c in PARAGRAPH_FIXES), None)
    if fix == PARAGRAPH_FIXES[-1]:
        return None
    new = PARAGRAPH_FIXES[0 if fix is None else PARAGRAPH_FIXES.index(fix) + 1]
    return tuple(c for c in classes if c != fix) + (new,)


class _Mender:
    """Checks each page as WeasyPrint makes it, and mends it (``engine.Inspector``).

    * A paragraph with a badly broken line gets the next of PARAGRAPH_FIXES, and is
      set again from the page it starts on.
    * A note whose body did not land on its call's page: WeasyPrint can drop a note
      to the next page when it re-lays a paragraph split across the page end (the
      un-layout loses the note placed above it), so the first try is to push that
      page-end paragraph to the next page (the page ends a few lines early); if the
      note is still displaced, that push is undone and the paragraph that calls the
      note starts the next page, with its note (a shorter page, never a lost note).
    Mends are kept per paragraph (by its place in the document), so a later layout
    of the same HTML (the safety net) starts with them."""

    def __init__(self, fragments: Fragments, footnotes: bool) -> None:
        self.calls = {n.anchor_id: n.id for n in fragments.notes}
        self.bodies = {n.id for n in fragments.notes}
        self.numbers = {n.id: n.number for n in fragments.notes}
        self.anchor_of = {n.id: n.anchor_id for n in fragments.notes}
        self.footnotes = footnotes
        self.on_page: dict[int, list[int]] = {}  # page index -> keys of the paragraphs on it
        self.tail_pushes: dict[str, int] = {}  # note id -> key of the page-end paragraph pushed for it
        self.mends: dict[int, tuple[str, ...]] = {}  # paragraph key -> classes, for the next layout
        self.log: list[str] = []

    def _set(self, pg: engine.Pagination, element, classes: tuple[str, ...]) -> None:
        pg.restyle(element, classes)
        key = pg.key(element)
        if classes:
            self.mends[key] = classes
        else:
            self.mends.pop(key, None)

    def _first_page(self, key: int, index: int) -> int:
        while index > 0 and key in self.on_page.get(index - 1, ()):
            index -= 1
        return index

    block_tag = "p"

    def _refit(self, element, lines: list[engine.Line], pg: engine.Pagination, where: str) -> bool:
        """Give a paragraph with a badly broken line its next fix, now; False if none is left."""
        classes = _refitted(element, lines, pg)
        if classes is None:
            return False
        self._set(pg, element, classes)
        self.log.append(f"{where}: paragraph {pg.key(element)} re-set ({classes[-1]})")
        return True

    def block_laid_out(self, element, lines: list[engine.Line], pg: engine.Pagination,
                       displaced: list, can_push: bool) -> str | None:
        if displaced and can_push:
            # WeasyPrint moved a note called earlier on this page to the next one to make
            # room for this paragraph's lines: this paragraph starts the next page instead
            numbers = ", ".join(str(self.numbers.get(e.get("id"), "?")) for e in displaced)
            self.log.append(f"in place: note {numbers} kept by starting the next page with paragraph {pg.key(element)}")
            return engine.NEXT_PAGE
        return engine.AGAIN if self._refit(element, lines, pg, "in place") else None

    def page_made(self, page: engine.PageView, pg: engine.Pagination) -> int | None:
        again: list[int] = []
        keys = []
        for element, lines in page.paragraphs():
            key = pg.key(element)
            keys.append(key)
            if self._refit(element, lines, pg, f"page {page.index + 1}"):
                again.append(self._first_page(key, page.index))
        self.on_page[page.index] = keys
        if self.footnotes:
            again += self._mend_notes(page, pg, keys)
        return min(again) if again else None

    def _mend_notes(self, page: engine.PageView, pg: engine.Pagination, keys: list[int]) -> list[int]:
        call_pages: dict[str, set[int]] = defaultdict(set)
        body_pages: dict[str, set[int]] = defaultdict(set)
        _notes_on(page, self.calls, self.bodies, True, call_pages, body_pages)
        displaced = sorted((n for n, pages in call_pages.items() if pages and page.index not in body_pages[n]),
                           key=lambda n: self.numbers[n])
        if not displaced:
            return []
        note = displaced[0]
        call = pg.by_id(self.anchor_of[note])
        paragraph = pg.ancestor(call, "p") if call is not None else None
        if paragraph is None:
            return []
        par_key = pg.key(paragraph)
        if note in self.tail_pushes:
            tail = pg.element(self.tail_pushes.pop(note))
            self._set(pg, tail, tuple(c for c in pg.classes(tail) if c != NOTE_PUSH))
        elif keys and keys[-1] > par_key:
            tail = pg.element(keys[-1])
            if NOTE_PUSH not in pg.classes(tail) and self._first_page(keys[-1], page.index) == page.index:
                self._set(pg, tail, pg.classes(tail) + (NOTE_PUSH,))
                self.tail_pushes[note] = keys[-1]
                self.log.append(f"page {page.index + 1}: note {self.numbers[note]} kept by ending the page early")
                return [page.index]
        if NOTE_PUSH in pg.classes(paragraph):
            return []  # it starts a page with its note, and still does not fit: side notes
        self._set(pg, paragraph, pg.classes(paragraph) + (NOTE_PUSH,))
        self.log.append(f"page {page.index + 1}: note {self.numbers[note]} moved with its paragraph to the next page")
        return [self._first_page(par_key, page.index)]


def _safety_net(document, fragments: Fragments, mender: _Mender, pg: engine.Pagination,
                footnotes: bool) -> list[NotePlacement]:
    """The whole-document check after layout: displaced notes, and badly broken lines
    the page checks did not mend (a page WeasyPrint made again after them). Mends what
    it can for the next layout; returns the displaced notes."""
    bad = [p for p in check_note_placement(document, fragments, footnotes) if not p.ok]
    for page in engine.page_views(document):
        for element, lines in page.paragraphs():
            classes = _refitted(element, lines, pg)
            if classes is not None:  # for the next layout
                mender.mends[pg.key(element)] = classes
                mender.log.append(f"safety net: paragraph {pg.key(element)} re-set ({classes[-1]})")
    if footnotes:
        for p in bad:
            call = pg.by_id(mender.anchor_of[p.note_id])
            paragraph = pg.ancestor(call, "p") if call is not None else None
            if paragraph is not None and NOTE_PUSH not in pg.classes(paragraph):
                key = pg.key(paragraph)
                mender.mends[key] = mender.mends.get(key, ()) + (NOTE_PUSH,)
                mender.log.append(f"safety net: note {p.number} moved with its paragraph to the next page")
    return bad


# --------------------------------------------------------------------------
# The writer


def _image_src(resolver: Resolver):
    def src(image: Image) -> str:
        try:
            return resolver.resolve(image.src, image.pos).as_uri()
        except ResourceError as e:
            raise RenderError(e.diagnostics) from None
    return src


def build_html(doc: Document, options: RenderOptions, resolver: Resolver, placement: str,
               fragments: Fragments | None = None) -> tuple[str, Fragments]:
    if fragments is None:
        fragments = render_fragments(doc, HtmlContext("print", image_src=_image_src(resolver)))
    created = datetime.fromtimestamp(options.epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    html = environment(resolver).get_template(TEMPLATE).render(
        meta=doc.meta,
        fragments=fragments,
        paper=options.paper,
        note_placement=placement,
        created=created,
        date_text=display_date(doc.meta),
        byline=join_names(doc.meta.authors),
    )
    return _stand_ins(html, doc, resolver), fragments


def _stand_ins(html: str, doc: Document, resolver: Resolver) -> str:
    """Every character no font has (``publish check`` warned about each) printed as
    a visible stand-in instead of a box (.notdef)."""
    from ..fonts import glyph_stand_in, missing_glyphs

    for ch, _ in missing_glyphs(doc, resolver.styles_dir):
        html = html.replace(ch, glyph_stand_in(ch))
    return html


def _stylesheets(doc: Document, options: RenderOptions, resolver: Resolver) -> list[tuple[str, str | None]]:
    try:
        css_path = resolver.style(STYLESHEET)
    except ResourceError as e:
        raise RenderError(e.diagnostics) from None
    # the bytes the build read and hashed
    return [(resolver.read_bytes(css_path).decode("utf-8"), css_path.as_uri()), (PAPER_CSS[options.paper], None)]


def _lay_out(doc: Document, options: RenderOptions, resolver: Resolver, placement: str):
    """Lay the document out with one note placement, mending page by page; returns
    (document, notes still displaced, stats). Raises RenderError for any WeasyPrint
    warning logged meanwhile."""
    from weasyprint.urls import FatalURLFetchingError

    html, fragments = build_html(doc, options, resolver, placement)
    sheets = _stylesheets(doc, options, resolver)
    fetcher = resolver.weasyprint_fetcher()
    footnotes = placement != "sidenotes"
    mender = _Mender(fragments, footnotes)
    total = engine.Stats(layouts=0)
    with _capture_weasyprint_logs() as capture, _fetch_errors(doc, FatalURLFetchingError):
        restyle = engine.Restyle.from_css(sheets[0][0], sheets[0][1], PARAGRAPH_FIXES + (NOTE_PUSH,))
        for attempt in range(MAX_LAYOUTS):
            document = None  # one laid-out document alive at a time
            document, pg, stats = engine.render(
                html, base_url=resolver.source_dir.as_uri() + "/", stylesheets=sheets, url_fetcher=fetcher,
                restyle=restyle, inspector=mender, initial=dict(mender.mends))
            total = _add(total, stats)
            before = dict(mender.mends)
            bad = _safety_net(document, fragments, mender, pg, footnotes)
            if mender.mends == before:
                break
            LOG.info("PDF: the whole-document check found faults after layout %d; laying out again", attempt + 1)
    _raise_on_logs(capture, doc)
    for line in mender.log:
        LOG.debug("PDF: %s", line)
    return document, bad, total, len(set(mender.mends))


def _add(a: engine.Stats, b: engine.Stats) -> engine.Stats:
    """Counts of two layouts together (pages: the later one's)."""
    total = {f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(engine.Stats)}
    return engine.Stats(**{**total, "pages": b.pages})


def render(doc: Document, options: RenderOptions, resolver: Resolver) -> bytes:
    if options.paper not in PAPER_CSS:
        raise RenderError(Diagnostic(doc.source_path or "<options>", 1, 1, "error",
                                     f"unknown paper size {options.paper!r}"))
    problems: list[str] = []
    for placement in PLACEMENTS:
        document, bad, stats, mends = _lay_out(doc, options, resolver, placement)
        LOG.debug("PDF: %s", stats)
        LOG.info("PDF: %d layout%s, %d page makes for %d pages, %d paragraphs re-set, %d moved to the next page"
                 " (%s)", stats.layouts, "" if stats.layouts == 1 else "s", stats.page_makes, stats.pages, mends,
                 stats.pushed + stats.remakes, placement)
        if not bad:
            break
        problems.append(f"{placement}: " + "; ".join(p.describe() for p in bad))
        document = None
    else:
        raise RenderError(Diagnostic(
            doc.source_path or "<document>", 1, 1, "error",
            "PDF: notes could not be set on the pages of their calls (" + " | ".join(problems) + ")",
        ))

    # The page and paragraph layouts that mends replaced are cyclic garbage (box trees
    # point up and down); collect them once, before drawing adds its own peak. Measured
    # on the 50x document: the worker's peak RSS 632 -> 552 MB (bench/RESULTS.md).
    gc.collect()
    meta = doc.meta
    md = document.metadata
    md.title = meta.title
    md.authors = list(meta.authors)
    md.description = meta.standfirst or meta.subtitle or None
    md.keywords = list(meta.keywords)
    md.lang = meta.lang
    md.generator = "publish"
    stamp = datetime.fromtimestamp(options.epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    md.created = md.modified = stamp
    md.attachments = []  # never embed files

    from weasyprint.urls import FatalURLFetchingError

    with _capture_weasyprint_logs() as capture, _fetch_errors(doc, FatalURLFetchingError), engine.writing():
        pdf = document.write_pdf(
            pdf_variant="pdf/ua-1",
            pdf_identifier=True,  # derived from the content: identical input, identical bytes
            attachments=None,
        )
    _raise_on_logs(capture, doc)
    return pdf


__all__ = ["render", "check_note_placement", "NotePlacement", "build_html"]
