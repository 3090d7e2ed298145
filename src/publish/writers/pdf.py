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

import gc
import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

from ..diagnostics import Diagnostic, RenderError
from ..model import Document, Image, Pos, Text, nodes, plain_text
from ..options import RenderOptions
from ..resources import ResourceError, Resolver
from ..backmatter import display_date
from .common import join_names
from .html import Fragments, HtmlContext, render_fragments
from .templating import environment

TEMPLATE = "pdf/article.html"
STYLESHEET = "print.css"
# Tried in order until every note sits on the page of its call (see print.css):
# footnotes that push their block to the next page when they do not fit, then
# footnotes that push only their line, then side notes in a wide outer margin.
PLACEMENTS: tuple[str, ...] = ("footnotes", "footnotes-line", "sidenotes")
# Classes (defined in print.css) that re-set one paragraph when WeasyPrint broke
# its lines badly (a line of one short word; upstream #1614-like inline breaking),
# tried in order: a hair tighter, a hair looser, without first-line indent.
PARAGRAPH_FIXES: tuple[str, ...] = ("fit-tight", "fit-loose", "fit-noindent")
MAX_FIX_PASSES = 3
# Set on the paragraph that calls a note WeasyPrint moved to a later page: the
# paragraph starts a new page, with its notes (tried before side notes).
NOTE_PUSH = "fn-push"
MAX_PUSH_PASSES = 12
MEND_DISTANCE = 3  # pages between two notes mended in the same layout
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


@contextmanager
def _tag_languages():
    """PDF/UA: give each structure element the language of its HTML element (``/Lang``),
    so that a glossary's Arabic or Greek name is tagged as such in the PDF as in the
    other formats. WeasyPrint 70 writes the language of the document only; this wraps
    its structure-tree builder (``weasyprint.pdf.tags._build_box_tree``, which calls
    itself by its module name) for this one call, in this worker process."""
    import pydyf
    from weasyprint.pdf import tags

    original = getattr(tags, "_build_box_tree", None)
    if original is None:  # another WeasyPrint: the document's language only
        yield
        return

    def build_box_tree(box, parent, pdf, *args):
        element = getattr(box, "element", None)
        lang = None
        if element is not None and getattr(box, "element_tag", None) not in ("html", "body"):
            lang = element.get("lang")
        for struct in original(box, parent, pdf, *args):
            if lang and "Lang" not in struct and struct.get("P") == parent.reference:
                struct["Lang"] = pydyf.String(lang)
            yield struct

    tags._build_box_tree = build_box_tree
    try:
        yield
    finally:
        tags._build_box_tree = original


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
        bodies = ", ".join(str(p + 1) if p >= 0 else f"{-p} (outside the note area)"
                           for p in self.body_pages)
        return f"note {self.number} ({self.note_id}) is called on page {calls} but set on page {bodies}"


def check_note_placement(document, fragments: Fragments, footnotes: bool = True) -> list[NotePlacement]:
    """Find every note call and note body in WeasyPrint's laid-out page boxes.

    With ``footnotes``, a note body counts only inside a page's footnote area.
    A body found in the wrong area or off the page is recorded as page ``-1 - index``."""
    wanted_bodies = {n.id for n in fragments.notes}
    wanted_calls = {n.anchor_id for n in fragments.notes}
    body_pages: dict[str, set[int]] = {i: set() for i in wanted_bodies}
    call_pages: dict[str, set[int]] = {i: set() for i in wanted_calls}
    from weasyprint.formatting_structure.boxes import FootnoteAreaBox

    for index, page in enumerate(document.pages):
        page_box = page._page_box
        for area in page_box.children:
            in_footnote_area = isinstance(area, FootnoteAreaBox)
            for box in area.descendants():
                element = getattr(box, "element", None)
                if element is None or not hasattr(element, "get"):
                    continue
                if "::" in (getattr(box, "element_tag", "") or ""):
                    continue  # ::footnote-call and other pseudo-elements stay at the call
                ident = element.get("id")
                if ident in body_pages:
                    # a floated footnote must be in the footnote area; any note must be
                    # drawn inside the page (WeasyPrint can leave one in the flow, off the page)
                    inside = (box.position_y >= 0
                              and box.position_y + box.margin_height() <= page_box.margin_height() + 0.5)
                    if (footnotes and not in_footnote_area) or not inside:
                        body_pages[ident].add(-1 - index)
                    else:
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


def _image_src(resolver: Resolver):
    def src(image: Image) -> str:
        try:
            return resolver.resolve(image.src, image.pos).as_uri()
        except ResourceError as e:
            raise RenderError(e.diagnostics) from None
    return src


def build_html(doc: Document, options: RenderOptions, resolver: Resolver, placement: str,
               fragments: Fragments | None = None,
               fixes: dict[int, str] | None = None) -> tuple[str, Fragments]:
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
    if fixes:
        html = _apply_paragraph_fixes(html, fixes)
    return _stand_ins(html, doc, resolver), fragments


def _stand_ins(html: str, doc: Document, resolver: Resolver) -> str:
    """Every character no font has (``publish check`` warned about each) printed as
    a visible stand-in instead of a box (.notdef)."""
    from ..fonts import glyph_stand_in, missing_glyphs

    for ch, _ in missing_glyphs(doc, resolver.styles_dir):
        html = html.replace(ch, glyph_stand_in(ch))
    return html


_P_TAG = re.compile(r"<p(?=[\s>/])([^>]*)>")


def _apply_paragraph_fixes(html: str, fixes: dict[int, str]) -> str:
    """Add a fix class to the n-th <p> of the page (0-based, document order)."""
    count = -1

    def sub(m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        cls = fixes.get(count)
        if cls is None:
            return m.group(0)
        attrs = m.group(1)
        if 'class="' in attrs:
            attrs = attrs.replace('class="', f'class="{cls} ', 1)
        else:
            attrs += f' class="{cls}"'
        return f"<p{attrs}>"

    return _P_TAG.sub(sub, html)


def _push_for(bad: list[NotePlacement], document, fragments: Fragments, html: str,
              fixes: dict[int, str], tail_pushes: dict[str, int]) -> bool:
    """Choose one paragraph to start a new page, for the earliest displaced note.

    A push changes every page after it, so only the earliest displacement is
    mended per layout; the others are judged again on the new layout. WeasyPrint
    can drop a note to the next page when it re-lays a paragraph split across the
    page end (the un-layout loses the note placed above it). So the first try
    is to push that page-end paragraph (the page ends a few lines early); if the
    note is still displaced, that push is undone and the paragraph that calls
    the note starts the next page with its note (a shorter page, never a lost
    note). Returns False when nothing is left to try."""
    first = min(bad, key=lambda p: (min(p.call_pages, default=1 << 30), p.number))
    calls = {n.id: n.anchor_id for n in fragments.notes}
    call_par = _paragraph_of(html, calls[first.note_id])
    if first.note_id in tail_pushes:
        tail = tail_pushes.pop(first.note_id)
        fixes.pop(tail, None)  # did not help: undo it
    elif first.call_pages:
        tail = _last_paragraph_on_page(document, first.call_pages[0])
        if tail is not None and call_par is not None and tail > call_par and fixes.get(tail) != NOTE_PUSH:
            fixes[tail] = NOTE_PUSH
            tail_pushes[first.note_id] = tail
            return True
    if call_par is None or fixes.get(call_par) == NOTE_PUSH:
        return False
    fixes[call_par] = NOTE_PUSH
    return True


def _last_paragraph_on_page(document, page_index: int) -> int | None:
    """Index (among all <p> in document order) of the last paragraph that starts on the page."""
    from weasyprint.formatting_structure import boxes

    if not 0 <= page_index < len(document.pages):
        return None
    last = root = None
    for box in document.pages[page_index]._page_box.descendants():
        if box.element_tag == "html" and root is None:
            root = box.element
        elif (isinstance(box, boxes.BlockContainerBox) and box.element_tag == "p"
                and box.element is not None):
            last = box.element
    if last is None or root is None:
        return None
    for i, el in enumerate(e for e in root.iter() if _local(e.tag) == "p"):
        if el is last:
            return i
    return None


def _paragraph_of(html: str, element_id: str) -> int | None:
    """Index of the <p> (document order) that contains the element with this id."""
    at = html.find(f'id="{element_id}"')
    if at < 0:
        return None
    starts = list(_P_TAG.finditer(html, 0, at))
    if not starts:
        return None
    last = starts[-1]
    if html.rfind("</p>", last.end(), at) >= 0:
        return None  # not inside a paragraph
    return len(starts) - 1


def find_broken_lines(document, root) -> list[int]:
    """Indexes (among all <p> in document order) of paragraphs with a badly broken line:
    a line, not the paragraph's last, filled less than 60 % in a justified paragraph."""
    from weasyprint.formatting_structure import boxes

    index = {id(el): i for i, el in enumerate(e for e in root.iter() if _local(e.tag) == "p")}
    bad: list[int] = []
    for page in document.pages:
        for box in page._page_box.descendants():
            if not isinstance(box, boxes.BlockContainerBox) or box.element_tag != "p":
                continue
            if box.style["text_align_all"] != "justify":
                continue
            lines = [c for c in box.children if isinstance(c, boxes.LineBox)]
            for line in lines[:-1]:
                if not line.children:
                    continue
                right = max(c.position_x + c.margin_width() for c in line.children)
                if right - box.content_box_x() < 0.6 * box.width:
                    i = index.get(id(box.element))
                    if i is not None and i not in bad:
                        bad.append(i)
    return bad


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def layout(doc: Document, options: RenderOptions, resolver: Resolver, placement: str,
           fragments: Fragments | None = None, fixes: dict[int, str] | None = None):
    """Lay the document out with one note placement; returns (document, fragments,
    fixes, html): the fix classes given to paragraphs and the HTML laid out.

    Paragraphs whose lines WeasyPrint broke badly are re-set with a fix class
    and the document laid out again (at most MAX_FIX_PASSES times).
    Raises RenderError for any WeasyPrint warning logged meanwhile."""
    fixes = dict(fixes or {})
    document = root = None
    for _ in range(MAX_FIX_PASSES + 1):
        document = root = None  # one laid-out document alive at a time (box trees hold cycles)
        gc.collect()
        document, root, fragments, html = _layout_once(
            doc, options, resolver, placement, fragments, fixes)
        if not _refit_broken_lines(document, root, fixes):
            break
    return document, fragments, fixes, html


def _refit_broken_lines(document, root, fixes: dict[int, str]) -> bool:
    """Give each badly broken paragraph its next fix class; False if none changed."""
    final = (PARAGRAPH_FIXES[-1], NOTE_PUSH)
    broken = [i for i in find_broken_lines(document, root) if fixes.get(i) not in final]
    for i in broken:
        current = fixes.get(i)
        fixes[i] = PARAGRAPH_FIXES[0 if current is None else PARAGRAPH_FIXES.index(current) + 1]
    return bool(broken)


def _layout_once(doc: Document, options: RenderOptions, resolver: Resolver, placement: str,
                 fragments: Fragments | None, fixes: dict[int, str]):
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import FatalURLFetchingError

    html, fragments = build_html(doc, options, resolver, placement, fragments, fixes)
    fetcher = resolver.weasyprint_fetcher()
    fonts = FontConfiguration()
    try:
        css_path = resolver.style(STYLESHEET)
    except ResourceError as e:
        raise RenderError(e.diagnostics) from None
    with _capture_weasyprint_logs() as capture, _fetch_errors(doc, FatalURLFetchingError):
        stylesheets = [
            CSS(string=resolver.read_bytes(css_path).decode("utf-8"), base_url=css_path.as_uri(),
                url_fetcher=fetcher, font_config=fonts),  # the bytes the build read and hashed
            CSS(string=PAPER_CSS[options.paper], url_fetcher=fetcher, font_config=fonts),
        ]
        source = HTML(
            string=html, base_url=resolver.source_dir.as_uri() + "/", url_fetcher=fetcher,
        )
        document = source.render(stylesheets=stylesheets, font_config=fonts)
    _raise_on_logs(capture, doc)
    return document, source.etree_element, fragments, html


def render(doc: Document, options: RenderOptions, resolver: Resolver) -> bytes:
    if options.paper not in PAPER_CSS:
        raise RenderError(Diagnostic(doc.source_path or "<options>", 1, 1, "error",
                                     f"unknown paper size {options.paper!r}"))
    fragments = None
    problems: list[str] = []
    for placement in PLACEMENTS:
        fixes: dict[int, str] = {}
        tail_pushes: dict[str, int] = {}  # note id -> the page-end paragraph pushed for it
        # Each layout is checked for both faults at once -- badly broken lines and
        # displaced notes -- and every fix it calls for is made before the next
        # layout: a whole-document layout is the expensive step.
        for _ in range(MAX_FIX_PASSES + MAX_PUSH_PASSES + 1):
            document = root = None  # one laid-out document alive at a time
            gc.collect()
            document, root, fragments, html = _layout_once(doc, options, resolver, placement, fragments, fixes)
            bad = [p for p in check_note_placement(document, fragments, placement != "sidenotes")
                   if not p.ok]
            changed = _refit_broken_lines(document, root, fixes)
            if bad and placement != "sidenotes":
                # Mend the earliest displaced note, and with it every later one at least
                # MEND_DISTANCE pages further on: a mend moves the text after it by less
                # than a page, so mends that far apart cannot disturb each other. A long
                # document then needs a few layouts, not one per note.
                chosen, last = [], -MEND_DISTANCE
                for p in sorted(bad, key=lambda p: (min(p.call_pages, default=1 << 30), p.number)):
                    page = min(p.call_pages, default=1 << 30)
                    if page - last >= MEND_DISTANCE:
                        chosen.append(p)
                        last = page
                changed = any([_push_for([p], document, fragments, html, fixes, tail_pushes) for p in chosen]) or changed
            if not changed:
                break
        if not bad:
            break
        problems.append(f"{placement}: " + "; ".join(p.describe() for p in bad))
    else:
        raise RenderError(Diagnostic(
            doc.source_path or "<document>", 1, 1, "error",
            "PDF: notes could not be set on the pages of their calls (" + " | ".join(problems) + ")",
        ))

    html = fragments = None  # only the laid-out document is needed from here on
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

    with _capture_weasyprint_logs() as capture, _fetch_errors(doc, FatalURLFetchingError), _tag_languages():
        pdf = document.write_pdf(
            pdf_variant="pdf/ua-1",
            pdf_identifier=True,  # derived from the content: identical input, identical bytes
            attachments=None,
        )
    _raise_on_logs(capture, doc)
    return pdf


__all__ = ["render", "check_note_placement", "NotePlacement", "layout", "build_html"]
