"""The engine boundary (writers/_weasyprint.py): its hooks into WeasyPrint are judged
against WeasyPrint itself -- a page mended during pagination must come out exactly as
WeasyPrint lays out the same HTML with the mend written into it -- and against pdftotext."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from publish.writers import _weasyprint as engine

CSS = """
@page { size: 300px 300px; margin: 20px; }
body { font: 12px/16px "DejaVu Serif", serif; margin: 0; }
p { margin: 0 0 8px; text-align: justify; }
em { letter-spacing: 1px; }
p.tight { letter-spacing: -0.05em; word-spacing: -0.1em; }
p.push { break-before: page; }
a.ref::after { content: "p. " target-counter(attr(href url), page); }
"""
WORDS = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore"


def _html(classes: dict[int, str] | None = None, paragraphs: int = 12, extra: str = "") -> str:
    classes = classes or {}
    body = "".join(
        f'<p id="p{i}"{f" class={classes[i]!r}" if i in classes else ""}>{i}. {WORDS} <em>et dolore</em> '
        f"magna aliqua. {WORDS}.</p>"
        for i in range(paragraphs))
    return f"<html><body>{body}{extra}</body></html>"


def _render_plain(html: str) -> bytes:
    from weasyprint import CSS as Sheet, HTML

    return HTML(string=html).render(stylesheets=[Sheet(string=CSS)]).write_pdf()


def _render(html: str, inspector=None, initial=None):
    restyle = engine.Restyle.from_css(CSS, None, ("tight", "push"))
    return engine.render(html, base_url="file:///nonexistent/", stylesheets=[(CSS, None)],
                         url_fetcher=lambda url: (_ for _ in ()).throw(ValueError(url)),
                         restyle=restyle, inspector=inspector, initial=initial)


def _key(html: str, ident: str) -> int:
    """An element's key, as a previous render of the same HTML gives it."""
    _, pagination, _ = _render(html)
    return pagination.key(pagination.by_id(ident))


def pdftotext(data: bytes) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout
    return out.decode().split("\f")


def test_hooks_hold_for_the_installed_weasyprint():
    engine.check_hooks()


def test_hooks_fail_loudly_on_another_weasyprint(monkeypatch):
    import weasyprint

    monkeypatch.setattr(weasyprint, "__version__", "71.0")
    with pytest.raises(engine.EngineMismatch, match="71.0"):
        engine.check_hooks()
    with pytest.raises(engine.EngineMismatch):
        _render(_html())


def test_restyle_before_layout_is_the_class_written_in_the_html():
    """Declarations given through the cascade (inherited by the <em> inside, overridden
    where the <em> sets its own) lay out exactly as the class in the HTML does."""
    html = _html()
    document, _, stats = _render(html, initial={_key(html, "p1"): ("tight",), _key(html, "p3"): ("push",)})
    assert document.write_pdf() == _render_plain(_html({1: "tight", 3: "push"}))
    assert document.write_pdf() != _render_plain(html)
    assert stats.layouts == 1 and stats.page_makes == stats.pages == len(document.pages)


class _PushOnce:
    """Asks, once, for a paragraph on a given page to start the next page."""

    def __init__(self, on_page: int, ident: str, back: int = 0) -> None:
        self.on_page, self.ident, self.back, self.done = on_page, ident, back, False
        self.seen: list[int] = []

    def page_made(self, page, pagination):
        self.seen.append(page.index)
        if self.done or page.index != self.on_page:
            return None
        self.done = True
        pagination.restyle(pagination.by_id(self.ident), ("push",))
        return page.index - self.back


@pytest.mark.parametrize("back", [0, 1])
def test_a_page_mended_during_pagination_is_the_page_weasyprint_makes_from_the_mended_html(back):
    html = _html()
    plain = pdftotext(_render_plain(html))
    on_page = 1
    # a paragraph that starts on page 2 (index 1), not at its top
    starts = [i for i in range(12) if f"{i}. Lorem" in " ".join(plain[on_page].split())]
    ident = f"p{starts[0]}"
    assert not " ".join(plain[on_page].split()).startswith(f"{starts[0]}. Lorem")
    inspector = _PushOnce(on_page, ident, back)
    document, pagination, stats = _render(html, inspector)
    expected = _render_plain(_html({int(ident[1:]): "push"}))
    assert document.write_pdf() == expected
    assert inspector.seen.count(on_page) == 2 and inspector.seen.count(on_page - back) == 2
    assert stats.page_makes == stats.pages + 1 + back
    assert pagination.classes(pagination.by_id(ident)) == ("push",)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_page_references_are_laid_out_once_and_right():
    """Back references (after their target) and a forward one (before it): each shows its
    target's page, and no page is made twice for them."""
    html = _html(extra=''.join(f'<p><a class="ref" href="#p{i}">see {i}</a></p>' for i in (0, 5, 11)))
    forward = '<p><a class="ref" href="#p11">ahead</a></p>'
    html = html.replace("<body>", "<body>" + forward)
    document, _, stats = _render(html)
    pages = [" ".join(p.split()) for p in pdftotext(document.write_pdf())]
    where = {i: next(n + 1 for n, text in enumerate(pages) if f"{i}. Lorem" in text) for i in (0, 5, 11)}
    assert where[11] > 1
    text = " ".join(pages)
    for i in (0, 5, 11):
        assert f"see {i}p. {where[i]}" in text or f"see {i} p. {where[i]}" in text, (i, where)
    assert f"aheadp. {where[11]}" in text or f"ahead p. {where[11]}" in text
    assert stats.refs_resolved_early >= 4
    # the forward reference has its page (and what follows from it) made again...
    assert stats.pages < stats.page_makes <= stats.pages + 2
    # ...the back references cost no page make at all
    _, _, back_only = _render(html.replace(forward, ""))
    assert back_only.page_makes == back_only.pages


def test_declarations_come_from_the_stylesheet_only():
    with pytest.raises(engine.EngineMismatch, match="p.missing"):
        engine.Restyle.from_css(CSS, None, ("tight", "missing"))


class _TightenInPlace:
    """Restyles one paragraph the moment it has been laid out (no page is made again)."""

    block_tag = "p"

    def __init__(self, ident: str) -> None:
        self.ident, self.asked = ident, 0

    def block_laid_out(self, element, lines, pagination, displaced, can_push):
        self.asked += 1
        assert lines and all(line.width > 0 for line in lines) and displaced == []
        if element.get("id") != self.ident or pagination.classes(element):
            return None
        pagination.restyle(element, ("tight",))
        return engine.AGAIN

    def page_made(self, page, pagination):
        return None


def test_a_block_restyled_in_place_is_the_block_weasyprint_lays_out_from_the_mended_html():
    html = _html(extra='<p id="fn-host">A last paragraph.</p>')
    inspector = _TightenInPlace("p4")
    document, _, stats = _render(html, inspector)
    assert document.write_pdf() == _render_plain(_html({4: "tight"}, extra='<p id="fn-host">A last paragraph.</p>'))
    assert stats.relayouts == 1 and stats.page_makes == stats.pages and inspector.asked >= 13


def test_the_write_hooks_change_no_byte_of_a_tagged_pdf_but_languages():
    """Compact drawing and cached page references leave PDF/UA output as it was; the
    structure elements gain /Lang where the HTML has lang, and nothing else changes."""
    import pydyf
    from weasyprint.document import Page

    html = _html(extra='<p><a class="ref" href="#p3">x</a></p>').replace("<html>", '<html lang="en">')
    document, _, _ = _render(html)
    plain = document.write_pdf(pdf_variant="pdf/ua-1", uncompressed_pdf=True)
    with engine.writing():
        hooked = document.write_pdf(pdf_variant="pdf/ua-1", uncompressed_pdf=True)
    assert hooked == plain
    assert Page.paint.__name__ == "paint" and pydyf.PDF.page_references.fget.__name__ == "page_references"

    document, _, _ = _render(html.replace("<p id=\"p2\">", "<p id=\"p2\" lang=\"de\">"))
    with engine.writing():
        tagged = document.write_pdf(pdf_variant="pdf/ua-1", uncompressed_pdf=True)
    assert tagged.count(b"/Lang (de)") >= 1 and tagged.count(b"/Lang (en)") == 1 and b"/Lang (de)" not in plain


class _PushInPlace(_TightenInPlace):
    """Sends one paragraph to the next page the moment it has been laid out."""

    def block_laid_out(self, element, lines, pagination, displaced, can_push):
        self.asked += 1
        if element.get("id") != self.ident or not can_push:
            return None
        self.ident = None
        return engine.NEXT_PAGE


def test_a_block_sent_to_the_next_page_in_place_is_a_forced_break_before_it():
    html = _html()
    inspector = _PushInPlace("p4")
    document, _, stats = _render(html, inspector)
    assert document.write_pdf() == _render_plain(_html({4: "push"}))
    assert stats.pushed == 1 and stats.page_makes == stats.pages
