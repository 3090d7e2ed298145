"""The PDF writer: model → HTML fragments → Jinja2 template → WeasyPrint.

The look is ``styles/print.css``; this module only chooses the paper size and
the note placement, and checks the result:

* every WeasyPrint warning or error logged during layout or drawing (a glyph
  no font covers, unknown CSS, a refused fetch) is a ``RenderError``;
* after layout, every reader note's body must sit on the page of its call
  (WeasyPrint's ``float: footnote`` can move or drop notes, upstream #2502,
  #1564). Footnotes are tried first; if any note is displaced, the document is
  laid out again with side notes in a wide outer margin; if that fails too,
  the render fails. A PDF with a lost or displaced note is never returned.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

from ..diagnostics import Diagnostic, RenderError
from ..model import Document, Image
from ..options import RenderOptions
from ..resources import ResourceError, Resolver
from .html import Fragments, HtmlContext, render_fragments
from .templating import environment

TEMPLATE = "pdf/article.html"
STYLESHEET = "print.css"
PLACEMENTS: tuple[str, ...] = ("footnotes", "sidenotes")
PAPER_CSS = {"a4": "@page { size: A4; }", "letter": "@page { size: letter; }"}

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


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
        diags.append(Diagnostic(path, 1, 1, "error", f"PDF: WeasyPrint {rec.levelname.lower()}: {msg}"))
    raise RenderError(diags)


# --------------------------------------------------------------------------
# Note placement check


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
        bodies = ", ".join(str(p + 1) for p in self.body_pages)
        return f"note {self.number} ({self.note_id}) is called on page {calls} but set on page {bodies}"


def check_note_placement(document, fragments: Fragments) -> list[NotePlacement]:
    """Find every note call and note body in WeasyPrint's laid-out page boxes."""
    wanted_bodies = {n.id for n in fragments.notes}
    wanted_calls = {n.anchor_id for n in fragments.notes}
    body_pages: dict[str, set[int]] = {i: set() for i in wanted_bodies}
    call_pages: dict[str, set[int]] = {i: set() for i in wanted_calls}
    for index, page in enumerate(document.pages):
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is None or not hasattr(element, "get"):
                continue
            ident = element.get("id")
            if ident in body_pages:
                # count only boxes that hold something (a split note leaves a box per page)
                body_pages[ident].add(index)
            elif ident in call_pages:
                call_pages[ident].add(index)
    return [
        NotePlacement(n.id, n.number, tuple(sorted(call_pages[n.anchor_id])),
                      tuple(sorted(body_pages[n.id])))
        for n in fragments.notes
    ]


# --------------------------------------------------------------------------
# The writer


def format_date(iso: str) -> str:
    """'2021-09-20' → '20 September 2021'; '2021-09' → 'September 2021'; else as is."""
    parts = iso.split("-")
    try:
        if len(parts) == 3:
            d = datetime(int(parts[0]), int(parts[1]), int(parts[2]))
            return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"
        if len(parts) == 2:
            return f"{_MONTHS[int(parts[1]) - 1]} {int(parts[0])}"
    except (ValueError, IndexError):
        pass
    return iso


def _byline(authors: tuple[str, ...]) -> str:
    if len(authors) <= 1:
        return "".join(authors)
    return ", ".join(authors[:-1]) + " and " + authors[-1]


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
        date_text=format_date(doc.meta.date) if doc.meta.date else "",
        byline=_byline(doc.meta.authors),
    )
    return html, fragments


def layout(doc: Document, options: RenderOptions, resolver: Resolver, placement: str,
           fragments: Fragments | None = None):
    """Lay the document out with one note placement; returns (document, fragments).

    Raises RenderError for any WeasyPrint warning logged meanwhile."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    html, fragments = build_html(doc, options, resolver, placement, fragments)
    fetcher = resolver.weasyprint_fetcher()
    fonts = FontConfiguration()
    try:
        css_path = resolver.style(STYLESHEET)
    except ResourceError as e:
        raise RenderError(e.diagnostics) from None
    with _capture_weasyprint_logs() as capture:
        stylesheets = [
            CSS(filename=str(css_path), url_fetcher=fetcher, font_config=fonts),
            CSS(string=PAPER_CSS[options.paper], url_fetcher=fetcher, font_config=fonts),
        ]
        document = HTML(
            string=html, base_url=resolver.source_dir.as_uri() + "/", url_fetcher=fetcher,
        ).render(stylesheets=stylesheets, font_config=fonts)
    _raise_on_logs(capture, doc)
    return document, fragments


def render(doc: Document, options: RenderOptions, resolver: Resolver) -> bytes:
    if options.paper not in PAPER_CSS:
        raise RenderError(Diagnostic(doc.source_path or "<options>", 1, 1, "error",
                                     f"unknown paper size {options.paper!r}"))
    fragments = None
    problems: list[str] = []
    for placement in PLACEMENTS:
        document, fragments = layout(doc, options, resolver, placement, fragments)
        bad = [p for p in check_note_placement(document, fragments) if not p.ok]
        if not bad:
            break
        problems.append(f"{placement}: " + "; ".join(p.describe() for p in bad))
    else:
        raise RenderError(Diagnostic(
            doc.source_path or "<document>", 1, 1, "error",
            "PDF: notes could not be set on the pages of their calls (" + " | ".join(problems) + ")",
        ))

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

    with _capture_weasyprint_logs() as capture:
        pdf = document.write_pdf(
            pdf_variant="pdf/ua-1",
            pdf_identifier=True,  # derived from the content: identical input, identical bytes
            attachments=None,
        )
    _raise_on_logs(capture, doc)
    return pdf


__all__ = ["render", "check_note_placement", "NotePlacement", "layout", "build_html", "format_date"]
