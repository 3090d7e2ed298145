"""The HTML edition and ``publish preview`` in a real browser: Playwright for Python
driving Debian's chromium (Playwright's own browser download cannot work here).

The page loads without a console error (a CSP violation is one), every link and
id resolves, a term shows its entry on hover and on keyboard focus, a note call
jumps to its note and back (margin notes on a wide screen, a pop-up on a narrow
one), axe-core (npm, installed into .tools/axe/ by `make setup`) finds nothing in
the light and the dark scheme; the preview reloads the open page on a save,
keeps its scroll position, shows a broken save's diagnostics over the last good
page, and links the other formats once they are built. Screenshots at 375, 768
and 1280 px go to out/screenshots/ for review (not compared).

With CI set, a missing chromium, Playwright or axe-core fails these tests;
elsewhere they are skipped with the reason."""

from __future__ import annotations

import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE = ROOT / ".tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "out" / "screenshots"
WIDTHS = (375, 768, 1280)


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI is set: browser tests must run)")
    pytest.skip(what)


def _require_browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    if not os.access(CHROMIUM, os.X_OK):
        _missing(f"{CHROMIUM} is missing (scripts/system-deps.sh installs Debian's chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _require_browser()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the article's project, for the preview to watch and the tests to edit."""
    root = tmp_path_factory.mktemp("preview-project")
    shutil.copytree(ROOT / "source", root / "source")
    shutil.copytree(ROOT / "src" / "publish" / "styles", root / "styles")
    (root / "publish.toml").write_text("")
    return root


@pytest.fixture(scope="module")
def preview(project):
    _require_browser()
    from publish.preview import Preview

    messages: list[str] = []
    p = Preview(project / "source" / "article.md", project / "out", port=0, formats=("docx",),
                on_message=messages.append)
    p.start()
    assert p.snapshot()["version"] == 1, messages
    p.messages = messages
    yield p
    p.stop()


class Console:
    """Console errors, page errors and failed requests of one page."""

    def __init__(self, page) -> None:
        self.problems: list[str] = []
        page.on("console", lambda m: m.type in ("error", "warning") and self.problems.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url[:80]}"))


def _page(browser, url: str, width: int = 1280, scheme: str = "light", **kw):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme, **kw)
    page = ctx.new_page()
    console = Console(page)
    page.goto(url)
    page.wait_for_load_state("load")
    return ctx, page, console


def _edition(preview) -> str:
    return preview.url + "article.html"


# --------------------------------------------------------------------------- the page


def test_page_loads_clean_and_every_link_and_id_resolves(browser, preview) -> None:
    ctx, page, console = _page(browser, _edition(preview))
    try:
        result = page.evaluate("""() => {
            const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
            const dup = ids.filter((x, i) => ids.indexOf(x) !== i);
            const broken = [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))
                .filter(h => h.startsWith('#') && !document.getElementById(decodeURIComponent(h.slice(1))));
            const other = [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))
                .filter(h => !h.startsWith('#') && !/^(https?:|mailto:)/.test(h));
            const described = [...document.querySelectorAll('a.term')]
                .filter(a => !document.getElementById(a.getAttribute('aria-describedby')));
            return {ids: ids.length, dup, broken, other, described: described.length,
                    sidenotes: document.documentElement.classList.contains('sidenotes'),
                    resources: performance.getEntriesByType('resource').map(r => r.name)};
        }""")
        assert result["ids"] > 100
        assert result["dup"] == [] and result["broken"] == [] and result["other"] == []
        assert result["described"] == 0
        assert result["sidenotes"]  # 1280 px: the notes are in the margin
        assert result["resources"] == []  # nothing loaded but the page itself
        assert console.problems == []
    finally:
        ctx.close()


def test_term_shows_its_entry_on_hover_and_on_keyboard_focus(browser, preview) -> None:
    ctx, page, console = _page(browser, _edition(preview))
    try:
        tip = page.locator("#term-tip")
        term = page.locator("a.term[href='#gloss-cac']").first
        term.scroll_into_view_if_needed()
        term.hover()
        page.wait_for_function("() => document.getElementById('term-tip').matches(':popover-open')")
        assert tip.is_visible()
        page.screenshot(path=str(_shot("term-popover-1280.png")))
        text = tip.inner_text()
        assert "Cyberspace Administration of China" in text and "国家互联网信息办公室" in text
        assert tip.locator("[lang='zh-Hans']").count() and tip.locator("[lang='zh-Latn-pinyin']").count()
        assert tip.locator("[id]").count() == 0  # a copy of the entry, without its ids
        box, tbox = term.bounding_box(), tip.bounding_box()
        assert abs(tbox["y"] - (box["y"] + box["height"])) < 12 or tbox["y"] + tbox["height"] <= box["y"]
        page.mouse.move(5, 5)
        page.wait_for_function("() => !document.getElementById('term-tip').matches(':popover-open')")
        # keyboard: Tab reaches the term; focus shows the entry, Escape closes it
        page.evaluate("document.querySelector('a.skip-link').focus()")
        for _ in range(200):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.matches('a.term')"):
                break
        assert page.evaluate("document.activeElement.matches('a.term')")
        page.wait_for_function("() => document.getElementById('term-tip').matches(':popover-open')")
        focused_def = page.evaluate(
            "document.getElementById(document.activeElement.getAttribute('aria-describedby')).textContent")
        assert focused_def.split(".")[0][:20] in tip.inner_text()
        page.keyboard.press("Escape")
        page.wait_for_function("() => !document.getElementById('term-tip').matches(':popover-open')")
        assert console.problems == []
    finally:
        ctx.close()


@pytest.mark.parametrize("width", (1280, 375))
def test_note_call_jumps_to_its_note_and_back(browser, preview, width) -> None:
    ctx, page, console = _page(browser, _edition(preview), width=width)
    try:
        call = page.locator("a.noteref").nth(2)
        note_id = call.get_attribute("href")[1:]
        call_id = call.get_attribute("id")
        call.scroll_into_view_if_needed()
        call.click()
        page.wait_for_function(f"() => location.hash === '#{note_id}'")
        note = page.locator(f"#{note_id}")
        assert note.is_visible() and _in_viewport(page, f"#{note_id}")
        position = note.evaluate("n => getComputedStyle(n).position")
        if width == 1280:  # a margin note beside its call
            assert position == "absolute"
            assert note.bounding_box()["x"] > call.bounding_box()["x"]
            assert abs(note.bounding_box()["y"] - call.bounding_box()["y"]) < 400
        else:  # a pop-up at the bottom of the screen; the call stays in view
            assert position == "fixed"
            assert _in_viewport(page, f"#{call_id}")
            page.screenshot(path=str(_shot(f"note-popup-{width}.png")))
        note.locator("a[role='doc-backlink']").click()
        page.wait_for_function(f"() => location.hash === '#{call_id}'")
        assert _in_viewport(page, f"#{call_id}")
        if width != 1280:
            assert note.evaluate("n => getComputedStyle(n).position") == "static"
        assert console.problems == []
    finally:
        ctx.close()


def _in_viewport(page, selector: str) -> bool:
    return page.evaluate("""s => { const r = document.querySelector(s).getBoundingClientRect();
        return r.bottom > 0 && r.top < innerHeight && r.height > 0; }""", selector)


def _shot(name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / name


@pytest.mark.parametrize("scheme, width", (("light", 1280), ("dark", 375)))
def test_axe_core_finds_no_violation(browser, preview, scheme, width) -> None:
    if not AXE.is_file():
        _missing(f"axe-core is not installed in {AXE.parent} (make setup runs scripts/install-axe.sh)")
    # axe is injected as a script the page's own policy would refuse: only for this check
    ctx, page, console = _page(browser, _edition(preview), width=width, scheme=scheme, bypass_csp=True)
    try:
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        violations = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
        assert violations == []
        # and with a term's popover open
        page.locator("a.term").first.hover()
        page.wait_for_function("() => document.getElementById('term-tip').matches(':popover-open')")
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        assert [v["id"] for v in result["violations"]] == []
        assert console.problems == []
    finally:
        ctx.close()


@pytest.mark.parametrize("name", ("tables", "sample"))
def test_axe_core_finds_no_violation_in_tables_figures_math_and_every_node(browser, name, tmp_path) -> None:
    """The hand-built documents: every node type, tables, figures and math, on a narrow screen."""
    if not AXE.is_file():
        _missing(f"axe-core is not installed in {AXE.parent} (make setup runs scripts/install-axe.sh)")
    from samples import sample_document, tables_document, write_sample_images

    from publish.build import render_files
    from publish.options import RenderOptions
    from publish.resources import Resolver

    if name == "tables":
        write_sample_images(tmp_path)
        doc, resolver = tables_document(), Resolver(tmp_path, ROOT / "src" / "publish" / "styles")
    else:
        doc, resolver = sample_document(), Resolver(ROOT / "tests", ROOT / "src" / "publish" / "styles")
    page_file = tmp_path / f"{name}.html"
    page_file.write_bytes(render_files("html", doc, RenderOptions(epoch=1), resolver)[""])
    ctx, page, console = _page(browser, page_file.as_uri(), width=375)  # its own policy on
    assert console.problems == []
    ctx.close()
    ctx, page, _ = _page(browser, page_file.as_uri(), width=1280, bypass_csp=True)
    try:
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        assert [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]] == []
    finally:
        ctx.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_screenshots_for_review(browser, preview, width) -> None:
    ctx, page, console = _page(browser, _edition(preview), width=width)
    try:
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(_shot(f"top-{width}-{scheme}.png")))
            page.locator("a.noteref").first.scroll_into_view_if_needed()
            page.screenshot(path=str(_shot(f"notes-{width}-{scheme}.png")))
            page.locator("#glossary-title").scroll_into_view_if_needed()
            page.screenshot(path=str(_shot(f"glossary-{width}-{scheme}.png")))
        assert console.problems == []
    finally:
        ctx.close()


# --------------------------------------------------------------------------- the preview


def _frame_text(page) -> str:
    return page.frame_locator("#page").locator("main").inner_text()


def _wait_version(page, version: int, timeout: float = 10.0) -> None:
    page.wait_for_function(f"() => window.__preview.reloads.some(r => r.version >= {version})", timeout=timeout * 1000)


def test_preview_reloads_on_save_and_keeps_the_scroll_position(browser, preview, project) -> None:
    source = project / "source" / "article.md"
    ctx, page, console = _page(browser, preview.url, width=1024)
    try:
        _wait_version(page, preview.snapshot()["version"])
        frame = page.frame_locator("#page")
        page.evaluate("document.getElementById('page').contentWindow.scrollTo(0, 1800)")
        before = preview.snapshot()["version"]
        text = source.read_text(encoding="utf-8")
        source.write_text(text.replace("custodians of its fastest-growing market",
                                       "custodians of its fastest-growing market (edited in the preview test)", 1),
                          encoding="utf-8")
        _wait_version(page, before + 1)
        assert "(edited in the preview test)" in _frame_text(page)
        y = page.evaluate("document.getElementById('page').contentWindow.scrollY")
        assert abs(y - 1800) <= 2
        assert frame.locator("#term-tip").count() == 1
        page.screenshot(path=str(_shot("preview-1024.png")))
        assert console.problems == []
    finally:
        ctx.close()


def test_broken_save_shows_the_overlay_over_the_last_good_page(browser, preview, project) -> None:
    source = project / "source" / "article.md"
    good = source.read_text(encoding="utf-8")
    ctx, page, console = _page(browser, preview.url, width=1024)
    try:
        _wait_version(page, preview.snapshot()["version"])
        lines = good.splitlines(keepends=True)
        n = next(i for i, ln in enumerate(lines) if ln.startswith("Now, however"))
        lines[n] = "Now [a broken term]{.term ref=no-such-term} here. " + lines[n]
        source.write_text("".join(lines), encoding="utf-8")
        page.wait_for_selector("#overlay:not([hidden])", timeout=10_000)
        overlay = page.locator("#overlay").inner_text()
        assert f"article.md:{n + 1}:" in overlay and "no-such-term" in overlay
        assert "Now, however" in _frame_text(page) and "broken term" not in _frame_text(page)
        assert page.locator("#page-status").get_attribute("data-state") == "error"
        page.screenshot(path=str(_shot("preview-overlay-1024.png")))
        before = preview.snapshot()["version"]
        source.write_text(good, encoding="utf-8")
        _wait_version(page, before + 1)
        page.wait_for_selector("#overlay", state="hidden")
        assert console.problems == []
    finally:
        source.write_text(good, encoding="utf-8")
        ctx.close()


def test_bar_links_the_other_formats_once_built(browser, preview) -> None:
    ctx, page, console = _page(browser, preview.url, width=1024)
    try:
        page.wait_for_function("""() => ['written', 'unchanged', 'cached']
            .includes(document.getElementById('fmt-docx').dataset.status)""", timeout=60_000)
        href = page.locator("#fmt-docx a").get_attribute("href")
        assert href.startswith("/article.docx")
        assert page.locator("#fmt-docx").get_attribute("data-status") in ("written", "unchanged", "cached")
        with urllib.request.urlopen(preview.url + href.lstrip("/")) as r:
            assert r.read(2) == b"PK"
        assert console.problems == []
    finally:
        ctx.close()


def test_server_listens_on_loopback_and_serves_only_what_it_wrote(preview, project) -> None:
    assert preview.host == "127.0.0.1"
    for path in ("source/article.md", "../source/article.md", "%2e%2e/publish.toml", "out/article.html",
                 ".publish-cache/article.json", "article.pdf"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(preview.url + path)
        assert err.value.code == 404, path
    req = urllib.request.Request(preview.url, headers={"Host": "attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    assert err.value.code == 403
    with urllib.request.urlopen(preview.url + "article.html") as r:
        assert r.read() == (project / "out" / "article.html").read_bytes()


def test_preview_stops_cleanly(project) -> None:
    _require_browser()
    from publish.preview import Preview

    p = Preview(project / "source" / "article.md", project / "out-stop", port=0, formats=())
    p.start()
    url = p.url
    t = time.monotonic()
    p.stop()
    assert time.monotonic() - t < 6
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "article.html", timeout=2)
