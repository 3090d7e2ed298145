"""The engine boundary: everything the PDF writer needs from WeasyPrint, in one place.

Public WeasyPrint API is used wherever it serves (``HTML``, ``CSS``,
``FontConfiguration``, ``Document.write_pdf``, ``Page.anchors``). The one-layout
design needs four things WeasyPrint has no public API for; they are here and
nowhere else, WeasyPrint is pinned to the release they were written against
(``WEASYPRINT``), and ``check_hooks()`` -- run by the tests, and before the first
render of a process -- fails loudly if one of their assumptions no longer holds:

1. **Pagination with a say on every page.** ``weasyprint.layout.make_all_pages``
   is replaced, for one render, by ``_make_all_pages``: it makes each page with
   WeasyPrint's own ``remake_page`` and shows it to the caller's ``Inspector``
   at once. The inspector may restyle elements (``Pagination.restyle``) and ask
   for that page, or an earlier one, to be made again; the layout state before
   each page (its footnote lists, the out-of-flow boxes broken across it) is
   kept so that a page is re-made exactly as WeasyPrint would make it.
2. **Restyling one element during layout.** A paragraph's computed style is
   rebuilt with extra declarations (a ``p.<class>`` rule of the stylesheet)
   through WeasyPrint's own cascade (``ComputedStyle``), and its descendants'
   styles re-derived from it, so that inheritance works as CSS says.
3. **Page references without re-pagination.** A ``target-counter(..., page)``
   whose target has been laid out is resolved before the referring box is laid
   out (``TargetCollector.cache_target_page_counters`` is wrapped per render),
   instead of after it -- WeasyPrint's way, which makes every referring page
   twice.
4. **Page boxes, and writing the PDF.** ``Page._page_box`` to find notes and lines
   on a page; while the PDF is written (``writing``), ``Page.paint``, pydyf's
   ``PDF.page_references`` and ``weasyprint.pdf.tags._build_box_tree`` are wrapped.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

WEASYPRINT = "70.0"  # the release the hooks below were written and tested against (pyproject pins it)

_LOCK = threading.RLock()  # the hooks are module attributes: one render at a time per process


class EngineMismatch(RuntimeError):
    """The installed WeasyPrint does not have what this module relies on."""


def check_hooks() -> None:
    """Fail loudly if an assumption of this module does not hold for the installed WeasyPrint."""
    import inspect
    import re

    import weasyprint
    from weasyprint import layout
    from weasyprint.css import AnonymousStyle, ComputedStyle
    from weasyprint.css.targets import TargetCollector
    from weasyprint.document import Page
    from weasyprint.layout import block
    from weasyprint.layout import page as page_module
    from weasyprint.pdf import tags

    problems = []
    if weasyprint.__version__ != WEASYPRINT:
        problems.append(f"WeasyPrint {weasyprint.__version__} is installed; this module was written for {WEASYPRINT}")
    if not callable(getattr(layout, "make_all_pages", None)):
        problems.append("weasyprint.layout.make_all_pages is gone")
    elif "make_all_pages(" not in inspect.getsource(layout.layout_document):
        problems.append("layout_document no longer calls make_all_pages")
    if list(inspect.signature(page_module.remake_page).parameters) != ["index", "context", "root_box", "html"]:
        problems.append("weasyprint.layout.page.remake_page changed its signature")
    if list(inspect.signature(TargetCollector.cache_target_page_counters).parameters) != [
            "self", "anchor_name", "page_counter_values", "page_maker_index", "page_maker"]:
        problems.append("TargetCollector.cache_target_page_counters changed its signature")
    if list(inspect.signature(ComputedStyle.__init__).parameters) != [
            "self", "parent_style", "cascaded", "pseudo_type", "root_style", "base_url",
            "font_config", "initial_page_sizes"]:
        problems.append("ComputedStyle changed its constructor")
    if list(inspect.signature(AnonymousStyle.__init__).parameters) != ["self", "parent_style"]:
        problems.append("AnonymousStyle changed its constructor")
    if list(inspect.signature(block.block_container_layout).parameters)[:8] != [
            "context", "box", "bottom_space", "skip_stack", "page_is_empty", "absolute_boxes", "fixed_boxes",
            "adjoining_margins"] or "block_container_layout(" not in inspect.getsource(block.block_box_layout):
        problems.append("weasyprint.layout.block.block_container_layout changed")
    mutations = re.findall(r"\n\s+box\.(\w+) [-+]?= ", inspect.getsource(block.block_container_layout))
    if set(mutations) - {"position_x", "position_y"}:
        problems.append(f"block_container_layout now changes the box's {', '.join(sorted(set(mutations)))}")
    if "return None, None, {'break': 'any', 'page': None}, [], False, max_lines" not in inspect.getsource(
            block.block_container_layout):
        problems.append("block_container_layout no longer says 'nothing fits' as it did")
    if "_page_box" not in inspect.getsource(Page.__init__):
        problems.append("Page no longer keeps its page box")
    import pydyf

    if not callable(getattr(pydyf, "_to_bytes", None)) or "self.stream" not in inspect.getsource(pydyf.Stream):
        problems.append("pydyf.Stream no longer keeps its operators in .stream")
    if not isinstance(getattr(pydyf.PDF, "page_references", None), property) or "Kids" not in inspect.getsource(
            pydyf.PDF.page_references.fget):
        problems.append("pydyf.PDF.page_references is no longer a property over pages['Kids']")
    if not callable(getattr(tags, "_build_box_tree", None)):
        problems.append("weasyprint.pdf.tags._build_box_tree is gone")
    if problems:
        raise EngineMismatch("; ".join(problems))


# --------------------------------------------------------------------------
# What the writer sees of a page


@dataclass(frozen=True)
class Line:
    """One line box of a paragraph: how far its content reaches, and the room it had."""

    filled: float  # width of the content, from the paragraph's content edge
    width: float   # the paragraph's content width
    justified: bool


@dataclass
class PageView:
    """A page as it was just made: the elements on it, by area."""

    index: int
    box: object  # weasyprint PageBox; use the methods below

    def elements(self) -> Iterator[tuple[object, str, bool]]:
        """(element, area, inside) for every box of a real element (pseudo-elements
        excluded) on the page; area is "flow" or "footnotes"; inside: drawn within
        the page's height."""
        from weasyprint.formatting_structure.boxes import FootnoteAreaBox

        height = self.box.margin_height() + 0.5
        for area in self.box.children:
            name = "footnotes" if isinstance(area, FootnoteAreaBox) else "flow"
            for b in area.descendants():
                element = getattr(b, "element", None)
                if element is None or not hasattr(element, "get"):
                    continue
                if "::" in (getattr(b, "element_tag", "") or ""):
                    continue
                y = getattr(b, "position_y", 0) or 0
                inside = y >= 0 and y + b.margin_height() <= height
                yield element, name, inside

    def paragraphs(self, tag: str = "p") -> Iterator[tuple[object, list[Line]]]:
        """(element, lines) for each block of this tag in the page's flow, in order."""
        from weasyprint.formatting_structure import boxes

        flow = self.box.children[0] if self.box.children else None
        if flow is None:
            return
        for b in flow.descendants():
            if isinstance(b, boxes.BlockContainerBox) and b.element_tag == tag and b.element is not None:
                yield b.element, _lines(b)


def _lines(box) -> list[Line]:
    """The line boxes of a laid-out block container."""
    from weasyprint.formatting_structure import boxes

    justified = box.style["text_align_all"] == "justify"
    left = box.content_box_x()
    lines = []
    for child in box.children:
        if isinstance(child, boxes.LineBox):
            right = max((c.position_x + c.margin_width() for c in child.children), default=left)
            lines.append(Line(right - left, box.width, justified))
    return lines


# --------------------------------------------------------------------------
# Restyling elements during layout


@dataclass
class Restyle:
    """Extra declarations per class name, read from ``p.<class>`` rules of a stylesheet."""

    declarations: dict[str, dict[str, tuple]]  # class -> {property: (value, weight)}

    @classmethod
    def from_css(cls, css_text: str, base_url: str | None, classes: tuple[str, ...], tag: str = "p") -> "Restyle":
        """The declarations of the rules ``tag.class`` (exactly that selector) in the
        stylesheet, in WeasyPrint's cascaded form; a class without a rule is an error."""
        import tinycss2
        from weasyprint.css.validation import preprocess_declarations

        found: dict[str, dict[str, tuple]] = {}
        for rule in tinycss2.parse_stylesheet(css_text, skip_whitespace=True, skip_comments=True):
            if rule.type != "qualified-rule":
                continue
            selector = tinycss2.serialize(rule.prelude).strip()
            for c in classes:
                if selector == f"{tag}.{c}":
                    decls = tinycss2.parse_blocks_contents(rule.content, skip_whitespace=True, skip_comments=True)
                    weight = ((2, 0), None, (1 << 20, 0, 0))  # above any author rule
                    target = found.setdefault(c, {})
                    for name, value, _important in preprocess_declarations(base_url, decls):
                        target[name] = (value, weight)
        missing = [c for c in classes if not found.get(c)]
        if missing:
            raise EngineMismatch(f"the stylesheet has no rule for {', '.join(f'{tag}.{c}' for c in missing)}")
        return cls(found)


class _Styles:
    """Per-render restyling of elements: the boxes of each element in the box tree
    WeasyPrint paginates, and their original styles (to undo)."""

    def __init__(self, root_box, restyle: Restyle) -> None:
        self.restyle = restyle
        self.boxes: dict[int, list] = {}  # element -> its topmost boxes (not the anonymous ones inside)
        stack = [(root_box, None)]
        while stack:
            b, parent_element = stack.pop()
            element = getattr(b, "element", None)
            if element is not None and element is not parent_element and "::" not in (b.element_tag or ""):
                self.boxes.setdefault(id(element), []).append(b)
            stack.extend((c, element) for c in reversed(getattr(b, "children", ()) or ()))
        self.original: dict[int, tuple[list, list]] = {}  # element -> (boxes of its subtree, their styles)
        self.applied: dict[int, tuple[str, ...]] = {}

    def is_top(self, box) -> bool:
        """Whether restyling the box's element reaches this very box."""
        return any(b is box for b in self.boxes.get(id(box.element), ()))

    def set(self, element, classes: tuple[str, ...]) -> None:
        key = id(element)
        if self.applied.get(key, ()) == classes:
            return
        tops = self.boxes.get(key, [])
        if key not in self.original:
            subtree = []
            for top in tops:
                subtree.append(top)
                subtree.extend(top.descendants())
            self.original[key] = (subtree, [b.style for b in subtree])
        subtree, styles = self.original[key]
        for b, s in zip(subtree, styles):
            b.style = s
        self.applied[key] = classes
        if not classes:
            return
        extra: dict[str, tuple] = {}
        for c in classes:
            extra.update(self.restyle.declarations[c])
        remap: dict[int, object] = {}
        for top in tops:
            remap[id(top.style)] = _with_declarations(top.style, extra)
        for b in subtree:
            b.style = _derived(b.style, remap)


def _with_declarations(style, extra: dict[str, tuple]):
    from weasyprint.css import ComputedStyle

    new = ComputedStyle(style.parent_style, {**style.cascaded, **extra}, style.pseudo_type, style.root_style,
                        style.base_url, style.font_config, style.initial_page_sizes)
    return new


def _derived(style, remap: dict[int, object]):
    """The style re-derived under restyled ancestors: the same declarations, a new parent."""
    from weasyprint.css import AnonymousStyle, ComputedStyle

    key = id(style)
    if key in remap:
        return remap[key]
    parent = getattr(style, "parent_style", None)
    if parent is None:
        return style
    new_parent = _derived(parent, remap)
    if new_parent is parent:
        return style
    if isinstance(style, AnonymousStyle):
        new = AnonymousStyle(new_parent)
    else:
        new = ComputedStyle(new_parent, style.cascaded, style.pseudo_type, style.root_style,
                            style.base_url, style.font_config, style.initial_page_sizes)
        # values WeasyPrint set directly after computing (not from the cascade) are kept
        for k in ("position", "float", "display"):
            if k in style and k not in style.cascaded:
                if k in style.specified:
                    new.specified[k] = style.specified[k]
                new[k] = style[k]
    remap[key] = new
    return new


# --------------------------------------------------------------------------
# Pagination with an inspector


AGAIN = "again"
NEXT_PAGE = "next-page"


class Inspector(Protocol):
    block_tag: str  # the blocks ``block_laid_out`` is asked about

    def block_laid_out(self, element, lines: list[Line], pagination: "Pagination",
                       displaced: list, can_push: bool) -> str | None:
        """Called when a block of ``block_tag`` has been laid out (its part on the page
        being made). ``displaced``: the elements of footnotes called earlier on the page
        that WeasyPrint moved to the next page to make room for this block. Return None
        to keep it, AGAIN to lay it out again (after restyling it), or NEXT_PAGE (only
        if ``can_push``) to start the next page with it instead."""

    def page_made(self, page: PageView, pagination: "Pagination") -> int | None:
        """Called when a page has been made. Return None to keep it, or the index of
        the page (this one or an earlier one) to make again, after restyling."""


@dataclass
class Stats:
    layouts: int = 0
    page_makes: int = 0
    remakes: int = 0  # page makes asked for by the inspector
    relayouts: int = 0  # blocks laid out again, in place, at the inspector's request
    pushed: int = 0  # blocks sent to the next page, in place, at the inspector's request
    pages: int = 0
    refs_resolved_early: int = 0


@dataclass
class Pagination:
    """One render's pagination, as the inspector sees it."""

    styles: _Styles
    root: object  # the parsed HTML's root element (ElementTree)
    stats: Stats
    _order: dict[int, int] = field(default_factory=dict)
    _parents: dict[int, object] = field(default_factory=dict)
    _ids: dict[str, object] = field(default_factory=dict)
    _elements: list = field(default_factory=list)

    def restyle(self, element, classes: tuple[str, ...]) -> None:
        """Give one element these classes' declarations (replacing any given before; () undoes)."""
        self.styles.set(element, classes)

    def classes(self, element) -> tuple[str, ...]:
        return self.styles.applied.get(id(element), ())

    def key(self, element) -> int:
        """The element's position in document order: the same for the same HTML in every render."""
        if not self._order:
            self._order = {id(e): i for i, e in enumerate(self.root.iter())}
        return self._order[id(element)]

    def element(self, key: int):
        if not self._elements:
            self._elements = list(self.root.iter())
        return self._elements[key]

    def by_id(self, ident: str):
        if not self._ids:
            self._ids = {e.get("id"): e for e in self.root.iter() if e.get("id")}
        return self._ids.get(ident)

    def ancestor(self, element, tag: str):
        """The nearest element of this tag that contains the element (or is it)."""
        if not self._parents:
            self._parents = {id(c): p for p in self.root.iter() for c in p}
        while element is not None:
            if _local(element.tag) == tag:
                return element
            element = self._parents.get(id(element))
        return None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


_ACTIVE = threading.local()
_ORIGINAL: dict[str, Callable] = {}  # WeasyPrint's own functions, replaced during a render
_CHECKED: dict[str, str] = {}  # the WeasyPrint release check_hooks() passed for


def _save(context) -> tuple:
    return (list(context.footnotes), list(context.reported_footnotes), dict(context.broken_out_of_flow))


def _restore(context, saved: tuple) -> None:
    footnotes, reported, broken = saved
    context.footnotes = list(footnotes)
    context.reported_footnotes = list(reported)
    context.broken_out_of_flow = dict(broken)


def _reset(remake_state: dict) -> None:
    remake_state["content_changed"] = False
    remake_state["pages_wanted"] = False
    remake_state["anchors"] = []
    remake_state["content_lookups"] = []


def _make_all_pages(context, root_box, html, pages):
    """WeasyPrint's pagination loop, with the inspector's say after every page made."""
    from weasyprint.layout.page import remake_page
    from weasyprint.logger import PROGRESS_LOGGER

    run = _ACTIVE.run
    inspector, pagination = run.inspector, run.pagination
    if pagination is None:
        pagination = run.pagination = Pagination(_Styles(root_box, run.restyle), html.etree_element, run.stats)
        for key, classes in run.initial.items():
            pagination.restyle(pagination.element(key), classes)
        _resolve_page_refs_early(context, run.stats)
    made: list = []
    before: list[tuple] = []  # layout state before page i was made
    tries: dict[int, int] = {}
    context.rendered_notes = []
    i = 0
    while True:
        remake_state = context.page_maker[i][-1]
        if not pages or i >= len(pages) or remake_state["content_changed"] or remake_state["pages_wanted"]:
            PROGRESS_LOGGER.info("Step 5 - Creating layout - Page %d", i + 1)  # as WeasyPrint says it
            _reset(remake_state)
            del made[i:], before[i:]
            before.append(_save(context))
            page, resume_at = remake_page(i, context, root_box, html)
            run.stats.page_makes += 1
            again = None
            if inspector is not None and tries.get(i, 0) < run.max_tries:
                again = inspector.page_made(PageView(i, page), pagination)
            if again is not None:
                if not 0 <= again <= i:
                    raise ValueError(f"the inspector asked to re-make page {again + 1} from page {i + 1}")
                tries[i] = tries.get(i, 0) + 1
                run.stats.remakes += 1
                _restore(context, before[again])
                _reset(context.page_maker[again][-1])
                context.page_maker[again][-1]["content_changed"] = True  # make it, even in a later loop
                del made[again:], before[again:]
                i = again
                continue
            made.append(page)
            reported = context.reported_footnotes
        else:
            PROGRESS_LOGGER.info("Step 5 - Creating layout - Page %d (up-to-date)", i + 1)
            resume_at = context.page_maker[i + 1][0]
            reported = None
            made.append(pages[i])
            before.append(_save(context))
        i += 1
        if resume_at is None and not reported:
            context.page_maker = context.page_maker[:i + 1]
            context.broken_out_of_flow.clear()
            context.reported_footnotes.clear()
            run.stats.pages = len(made)
            yield from made
            return


def _block_container_layout(*args, **kwargs):
    """WeasyPrint's block layout, with the inspector's say on each block of its tag laid
    out in the flow: a block it restyles is laid out again in place, from the same
    layout state (the footnotes it placed or moved, the page bottom, floats and
    positioned boxes). Other calls (floats, table cells, by keyword) pass through."""
    run = getattr(_ACTIVE, "run", None)
    layout = _ORIGINAL["block_container_layout"]
    inspector = run.inspector if run is not None else None
    if inspector is None or run.pagination is None or len(args) < 8:
        return layout(*args, **kwargs)
    context, box, _, _, _, absolute_boxes, fixed_boxes, adjoining_margins = args[:8]
    if (box.element is None
            or box.element_tag != getattr(inspector, "block_tag", None)
            or not run.pagination.styles.is_top(box)):
        return layout(*args, **kwargs)
    area = context.current_footnote_area
    saved = (list(context.footnotes), list(context.current_page_footnotes), list(context.reported_footnotes),
             context.page_bottom, area.height, list(context.excluded_shapes or ()), len(absolute_boxes),
             len(fixed_boxes), list(adjoining_margins))
    geometry = (box.position_x, box.position_y)  # the layout moves the box itself (collapsed margins)
    page_is_empty = args[4]
    for attempt in range(run.max_tries):
        result = layout(*args, **kwargs)
        if result[0] is None:
            return result
        displaced = [f.element for f in saved[1] if any(r is f for r in context.reported_footnotes)]
        verdict = inspector.block_laid_out(box.element, _lines(result[0]), run.pagination, displaced,
                                           not page_is_empty)
        if verdict is None:
            return result
        footnotes, page_footnotes, reported, bottom, height, shapes, n_abs, n_fixed, margins = saved
        context.footnotes = list(footnotes)
        context.current_page_footnotes = list(page_footnotes)
        context.reported_footnotes = list(reported)
        area.children = context.current_page_footnotes
        context.page_bottom, area.height = bottom, height
        context.excluded_shapes = list(shapes)
        del absolute_boxes[n_abs:], fixed_boxes[n_fixed:]
        adjoining_margins[:] = margins
        box.position_x, box.position_y = geometry
        if verdict == NEXT_PAGE and not page_is_empty:
            # what WeasyPrint returns for a block of which nothing fits on this page
            run.stats.pushed += 1
            max_lines = args[11] if len(args) > 11 else kwargs.get("max_lines")
            return None, None, {"break": "any", "page": box.page_values()[0]}, [], False, max_lines
        run.stats.relayouts += 1
    return layout(*args, **kwargs)


def _resolve_page_refs_early(context, stats: Stats) -> None:
    """Resolve a page reference (``target-counter(..., page)``) as soon as every target
    it names is placed. WeasyPrint 70 files these references under no anchor name, so
    it re-parses each one when its own page is made and then makes that page again
    (and the pages after it). Here a reference whose content is only strings and
    target counters -- nothing of its own page -- is parsed when its targets land, so
    a reference after its target is laid out once, right; one before its target has
    its page made again, as WeasyPrint intends but 70 does not do."""
    from weasyprint.css.targets import anchor_name_from_token
    from weasyprint.urls import get_url_tuple

    collector = context.target_collector
    original = collector.cache_target_page_counters
    targets: dict[int, tuple[str, ...]] = {}
    by_anchor: dict[str, list] = {}
    for (box, token), item in collector.counter_lookup_items.items():
        if token != "content" or item.missing_target_counters.keys() - {None}:
            continue  # WeasyPrint can follow this one itself
        names = _target_anchors(box, anchor_name_from_token, get_url_tuple)
        if not names:
            continue
        item.missing_counters = [c for c in item.missing_counters if c == "pages"]
        targets[id(item)] = names
        for name in names:
            by_anchor.setdefault(name, []).append(item)

    def cache_target_page_counters(anchor_name, page_counter_values, page_maker_index, page_maker):
        target = collector.target_lookup_items.get(anchor_name)
        before = target.cached_page_counter_values if target is not None else None
        original(anchor_name, page_counter_values, page_maker_index, page_maker)
        if target is None or target.cached_page_counter_values == before:
            return
        for item in by_anchor.get(anchor_name, ()):
            if all(collector.target_lookup_items[n].page_maker_index is not None for n in targets[id(item)]):
                item.parse_again(item.cached_page_counter_values)
                stats.refs_resolved_early += 1
                if item.page_maker_index is not None and item.page_maker_index < len(page_maker):
                    page_maker[item.page_maker_index][-1]["content_changed"] = True  # laid out already

    collector.cache_target_page_counters = cache_target_page_counters


def _target_anchors(box, anchor_name_from_token, get_url_tuple) -> tuple[str, ...] | None:
    """The anchors a box's ``content`` takes page numbers from, if it is made of
    strings and target counters only (else None)."""
    content = box.style["content"]
    if not isinstance(content, (list, tuple)):
        return None
    names = []
    for type_, value in content:
        if type_ == "string":
            continue
        if type_ not in ("target-counter()", "target-counters()"):
            return None
        token = value[0]
        if token[0] == "attr()":
            attr_name, kind, fallback = token[1]
            attr = box.element.get(attr_name, fallback)
            token = ("url", get_url_tuple(attr, box.style.base_url)) if kind == "url" else ("string", attr)
        name = anchor_name_from_token(token)
        if name is None:
            return None
        names.append(name)
    return tuple(names) or None


@dataclass
class _Run:
    inspector: Inspector | None
    restyle: Restyle
    initial: dict[int, tuple[str, ...]]
    stats: Stats
    max_tries: int
    pagination: Pagination | None = None


def render(html: str, *, base_url: str, stylesheets: list[tuple[str, str | None]], url_fetcher: Callable,
           restyle: Restyle, inspector: Inspector | None = None,
           initial: dict[int, tuple[str, ...]] | None = None, max_tries: int = 6):
    """Lay the HTML out once (WeasyPrint ``HTML.render``), with the inspector's say on
    every page. ``initial`` restyles elements (by ``Pagination.key``) before the first
    page. Returns (document, pagination, stats)."""
    from weasyprint import CSS, HTML
    from weasyprint import layout
    from weasyprint.layout import block
    from weasyprint.text.fonts import FontConfiguration

    import weasyprint

    if _CHECKED.get("version") != weasyprint.__version__:  # once per process (and WeasyPrint)
        check_hooks()
        _CHECKED["version"] = weasyprint.__version__
    _ORIGINAL.setdefault("make_all_pages", layout.make_all_pages)
    _ORIGINAL.setdefault("block_container_layout", block.block_container_layout)
    fonts = FontConfiguration()
    css = [CSS(string=text, base_url=url, url_fetcher=url_fetcher, font_config=fonts) for text, url in stylesheets]
    source = HTML(string=html, base_url=base_url, url_fetcher=url_fetcher)
    run = _Run(inspector, restyle, dict(initial or {}), Stats(layouts=1), max_tries)
    with _LOCK:
        _ACTIVE.run = run
        layout.make_all_pages = _make_all_pages
        block.block_container_layout = _block_container_layout
        try:
            document = source.render(stylesheets=css, font_config=fonts)
        finally:
            layout.make_all_pages = _ORIGINAL["make_all_pages"]
            block.block_container_layout = _ORIGINAL["block_container_layout"]
            _ACTIVE.run = None
    return document, run.pagination, run.stats


def page_views(document) -> Iterator[PageView]:
    """Every page of a laid-out document, for the whole-document check."""
    for index, page in enumerate(document.pages):
        yield PageView(index, page._page_box)


@contextmanager
def writing():
    """The hooks of ``Document.write_pdf``, for one call; each leaves the PDF's bytes as
    WeasyPrint would write them, except where it says otherwise:

    * a drawn page is kept as one byte string, not as the list of operators it was
      drawn with (the list is joined the same way when written), so a long document's
      drawn pages stop holding millions of small objects while the others are drawn;
    * ``PDF.page_references`` is built once per page count, not once per structure
      element (pydyf builds the whole tuple on every access: quadratic in pages for
      PDF/UA's structure tree);
    * PDF/UA: each structure element gets the language of its HTML element (``/Lang``),
      so that a glossary's Arabic or Greek name is tagged as such in the PDF as in the
      other formats. WeasyPrint 70 writes the language of the document only; this
      wraps its structure-tree builder (which calls itself by its module name)."""
    import pydyf
    from weasyprint.document import Page
    from weasyprint.pdf import tags

    paint = Page.paint
    page_references = pydyf.PDF.page_references
    original = tags._build_box_tree

    def compact_paint(self, stream, scale=1):
        paint(self, stream, scale)
        stream.stream = [b"\n".join(pydyf._to_bytes(item) for item in stream.stream)]

    def cached_page_references(self):
        kids = len(self.pages["Kids"])
        cached = self.__dict__.get("_publish_page_references")
        if cached is None or cached[0] != kids:
            cached = self.__dict__["_publish_page_references"] = (kids, page_references.fget(self))
        return cached[1]

    def build_box_tree(box, parent, pdf, *args):
        element = getattr(box, "element", None)
        lang = None
        if element is not None and getattr(box, "element_tag", None) not in ("html", "body"):
            lang = element.get("lang")
        for struct in original(box, parent, pdf, *args):
            if lang and "Lang" not in struct and struct.get("P") == parent.reference:
                struct["Lang"] = pydyf.String(lang)
            yield struct

    with _LOCK:
        Page.paint = compact_paint
        pydyf.PDF.page_references = property(cached_page_references)
        tags._build_box_tree = build_box_tree
        try:
            yield
        finally:
            Page.paint = paint
            pydyf.PDF.page_references = page_references
            tags._build_box_tree = original
