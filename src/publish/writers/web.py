"""The HTML web edition: one self-contained HTML5 page (``<stem>.html``).

Builder, not writer (Sphinx's split), like the EPUB writer: the text, notes and
back matter are the shared fragments of ``publish.writers.html`` in ``"epub"``
mode (the same markup and the same ids as the EPUB, links within the page),
filled into ``templates/html/article.html`` (``styles/templates/html/``
overrides it) with ``styles/html.css`` inlined.

* **Self-contained:** the stylesheet and a few lines of script are inline;
  images are ``data:`` URIs (or, with ``images="files"``, files beside the page
  in ``<stem>_files/``, returned as extra files of the render); Chinese text
  carries a subset of the CJK face as a ``data:`` font, as the EPUB does.
  Every file is read through the resolver; nothing is fetched.
* **Locked down:** a Content-Security-Policy meta tag allows no network at all
  (``default-src 'none'``), images from ``data:`` and the page's own folder,
  inline styles, and only the page's own script, by its sha256 hash.
* **Notes** are the EPUB's: an ``<aside role="doc-footnote">`` list closing each
  section, each linked to its call and back. ``html.css`` turns a targeted note
  into a pop-up on narrow screens (CSS only); on wide screens the script sets
  the notes in the right margin beside their calls (without it they stay at the
  section's end, as footnotes).
* **Terms** link to their glossary entry and are described by its definition
  (``aria-describedby``); the script shows the entry (term, Chinese, pinyin,
  definition) in one ``popover`` on hover and on keyboard focus.
* Editorial notes never appear (the fragments leave them out).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Literal

import jinja2
from markupsafe import Markup

from ..backmatter import labels_for
from ..diagnostics import Diagnostic, RenderError
from ..model import Document, Image, nodes
from ..options import RenderOptions
from ..resources import Resolver
from . import fonts, templating
from .common import human_date, join_names
from .html import HtmlContext, lang_wrap, render_fragments, rendered_ids, split_sections

TEMPLATE = "html/article.html"
SCRIPT = "html/edition.js"
STYLESHEET = "html.css"
ImageMode = Literal["inline", "files"]

MEDIA_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".svg": "image/svg+xml", ".webp": "image/webp",
}

# The fragments are XHTML for the EPUB; in an HTML5 page ``epub:type`` means
# nothing and ``xml:lang`` only repeats ``lang``. The renderer writes both in one
# fixed form (attribute values escaped, so text can never match), removed here.
_XML_ONLY_ATTRS = re.compile(r' (?:epub:type|xml:lang)="[^"<>]*"')
# Where the style and the script go (Unicode noncharacters around a name: a text
# that held one would make the slot appear twice, which is refused below).
_CSS_SLOT = "\ufdd0publish-css\ufdd0"
_SCRIPT_SLOT = "\ufdd0publish-script\ufdd0"
# A term use links to its glossary entry: it is described by the entry's definition.
_TERM_LINK = re.compile(r'<a class="(term(?: first)?)" href="#(gloss-[^"<>]+)"')


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates by name and source checksum, kept by this process: a
    pure memo (the same template source compiles to the same code), so that
    ``publish preview`` does not compile the page's template on every save."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self.store: dict[tuple[str, str], object] = {}

    def load_bytecode(self, bucket) -> None:
        code = self.store.get((bucket.key, bucket.checksum))
        if code is not None:
            bucket.code = code

    def dump_bytecode(self, bucket) -> None:
        self.store[(bucket.key, bucket.checksum)] = bucket.code
        while len(self.store) > self.size:
            self.store.pop(next(iter(self.store)))


_COMPILED = _CompiledTemplates()


def _fail(doc: Document, message: str) -> RenderError:
    return RenderError(Diagnostic(doc.source_path or "<document>", 1, 1, "error", message))


def _html5(markup: str) -> Markup:
    s = _XML_ONLY_ATTRS.sub("", str(markup))
    s = _TERM_LINK.sub(r'<a class="\1" href="#\2" aria-describedby="\2-def"', s)
    return Markup(s)


class _Images:
    """Every image of the text, read through the resolver once: its ``src`` in the page."""

    def __init__(self, doc: Document, resolver: Resolver, mode: ImageMode, stem: str) -> None:
        self.files: dict[str, bytes] = {}  # "_files/image-01.png" -> bytes
        self.src: dict[str, str] = {}
        found: dict[str, Image] = {}
        for i in nodes((doc.blocks, doc.reader_notes, doc.glossary)):
            if isinstance(i, Image):
                found.setdefault(i.src, i)
        for n, (src, img) in enumerate(found.items(), start=1):
            path = resolver.resolve(src, img.pos)
            suffix = path.suffix.lower()
            media_type = MEDIA_TYPES.get(suffix)
            if media_type is None:
                where = img.pos
                raise RenderError(Diagnostic(
                    where.path if where else doc.source_path, where.line if where else 1,
                    where.col if where else 1, "error",
                    f"image '{src}': browsers cannot show {suffix or 'this'} files; use PNG, JPEG, GIF, SVG or WebP"))
            data = resolver.read_bytes(path)
            if mode == "files":
                key = f"_files/image-{n:02d}{suffix}"
                self.files[key] = data
                self.src[src] = f"{stem}{key}"
            else:
                self.src[src] = f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"

    def __call__(self, image: Image) -> str:
        return self.src[image.src]


def _font_css(page_text: str) -> str:
    """The CJK subset as a data: font for the page's Chinese (as the EPUB carries it)."""
    chars = fonts.cjk_chars(page_text)
    if not chars:
        return ""
    data = base64.b64encode(fonts.cjk_subset(chars)).decode("ascii")
    return fonts.css(f"data:{fonts.MEDIA_TYPE};base64,{data}", len(chars))


def _meta_view(doc: Document) -> dict[str, Markup | str]:
    m = doc.meta
    date = m.date_text or (human_date(m.date) if m.date else "")
    return {
        "title": lang_wrap(m.title),
        "title_text": m.title,
        "subtitle": lang_wrap(m.subtitle),
        "title_note": lang_wrap(m.title_note),
        "standfirst": lang_wrap(m.standfirst),
        "standfirst_text": m.standfirst,
        "series_note": lang_wrap(m.series_note),
        "authors": m.authors,
        "byline": lang_wrap(join_names(m.authors)),
        "publisher": lang_wrap(m.publisher),
        "date": m.date,
        "date_text": date,
        "keywords": ", ".join(m.keywords),
    }


def render_edition(doc: Document, options: RenderOptions, resolver: Resolver,
                   images: ImageMode = "inline") -> dict[str, bytes]:
    """The page (key ``""``) and, with ``images="files"``, its images (``"_files/…"``)."""
    env = templating.environment(resolver)
    env.bytecode_cache = _COMPILED
    lang = doc.meta.lang or "en"
    labels = labels_for(lang)
    stem = Path(doc.source_path).stem if doc.source_path else "article"
    imgs = _Images(doc, resolver, images, stem)
    frags = render_fragments(doc, HtmlContext(mode="epub", image_src=imgs))

    sections = [
        {"id": s.id, "title": s.title, "title_text": s.title_text, "html": s.html,
         "notes": []}
        for s in frags.sections
    ]
    # Each note closes the section that holds its call (as in the EPUB).
    home = {}
    for sec, (sid, head, blocks) in zip(sections, split_sections(doc)):
        for ident in rendered_ids(doc, (head, blocks)):
            home[ident] = sec
    for nf in frags.notes:
        sec = home.get(nf.anchor_id)
        if sec is None:
            raise _fail(doc, f"note {nf.number} ('{nf.annotation.id}'): its call is not in the text")
        sec["notes"].append({"id": nf.id, "number": nf.number, "kind": nf.kind,
                             "kind_label": nf.kind_label, "html": nf.html,
                             "backlink": "#" + nf.anchor_id})
    sections = [s for s in sections if s["title"] is not None or s["html"].strip() or s["notes"]]
    if not sections:
        raise _fail(doc, "the document has no text to put in the HTML edition")

    css = resolver.read_bytes(resolver.style(STYLESHEET)).decode("utf-8")
    script = env.loader.get_source(env, SCRIPT)[0]  # read through the resolver (templating)
    for name, text, end in (("html.css", css, "</style"), (SCRIPT, script, "</script")):
        if end in text.lower():
            raise _fail(doc, f"{name} must not contain '{end}'")
    script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = ("default-src 'none'; img-src data: 'self'; font-src data:; style-src 'unsafe-inline'; "
           f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'")

    # The style and the script go in last, as they are (the clean-up is for markup only).
    context = {
        "lang": lang, "meta": _meta_view(doc), "L": labels, "frags": frags,
        "sections": sections, "glossary": frags.glossary, "csp": csp,
        "css": Markup(_CSS_SLOT), "script": Markup(_SCRIPT_SLOT),
        "by": labels.fmt("by", names=labels.names(doc.meta.authors)) if doc.meta.authors else "",
    }
    page = str(_html5(env.get_template(TEMPLATE).render(context)))
    if page.count(_CSS_SLOT) != 1 or page.count(_SCRIPT_SLOT) != 1:
        raise _fail(doc, f"{TEMPLATE} must hold {{{{ css }}}} and {{{{ script }}}} once each")
    css += _font_css(page)
    page = page.replace(_CSS_SLOT, css).replace(_SCRIPT_SLOT, script)
    return {"": page.encode("utf-8"), **imgs.files}


def render(doc: Document, options: RenderOptions, resolver: Resolver) -> dict[str, bytes]:
    return render_edition(doc, options, resolver, images=options.html_images)
