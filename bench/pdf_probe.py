#!/usr/bin/env python3
"""Instrument the project's PDF writer on one source, without changing it.

Wraps ``publish.writers._weasyprint.render`` (one WeasyPrint layout, with the
writer's mends made during it) and ``Document.write_pdf`` to count and time the
layouts the writer does, records the note placement, page makes and mends of
each, and writes the HTML of the final layout (the exact HTML the writer gave
WeasyPrint for the PDF it returned: mends are never written into it) plus the
stylesheets to OUT:

  OUT/<stem>.html       the final HTML (base URL: the source folder)
  OUT/print.css         the project stylesheet (copy)
  OUT/paper.css         the paper-size stylesheet the writer adds
  OUT/<stem>.probe.json counts and timings
  OUT/<stem>.probe.pdf  the writer's PDF

Usage: python bench/pdf_probe.py SOURCE OUT [--profile FILE.prof]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("source", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--profile", type=Path, help="write a cProfile of the PDF render here")
    ap.add_argument("--html-only", action="store_true",
                    help="no layout: write the HTML of the writer's first layout (footnotes, no fixes)")
    a = ap.parse_args(argv)
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1630454400")

    t0 = time.perf_counter()
    from publish.build import load
    from publish.options import RenderOptions
    from publish.resources import Resolver
    from publish.writers import pdf as pdfw
    t_import = time.perf_counter() - t0

    resolver = Resolver.for_source(a.source)
    t0 = time.perf_counter()
    doc = load(a.source, resolver)
    t_read = time.perf_counter() - t0
    options = RenderOptions.from_env(paper="a4")
    if a.html_only:
        html, _ = pdfw.build_html(doc, options, resolver, pdfw.PLACEMENTS[0])
        a.out.mkdir(parents=True, exist_ok=True)
        (a.out / f"{a.source.stem}.html").write_text(html, encoding="utf-8")
        shutil.copyfile(resolver.style(pdfw.STYLESHEET), a.out / "print.css")
        (a.out / "paper.css").write_text(pdfw.PAPER_CSS[options.paper], encoding="utf-8")
        info = {"source": str(a.source), "base_url": resolver.source_dir.as_uri() + "/",
                "html_only": True, "layout_count": None, "final_placement": None}
        (a.out / f"{a.source.stem}.probe.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
        print(json.dumps(info, indent=1))
        return 0

    layouts: list[dict] = []
    from publish.writers import _weasyprint as engine
    orig_render = engine.render

    def engine_render(html, **kw):
        t = time.perf_counter()
        document, pagination, stats = orig_render(html, **kw)
        layouts.append({
            "placement": "sidenotes" if "notes-sidenotes" in html else "footnotes",
            "mends_before_layout": len(kw.get("initial") or {}),
            "pages": len(document.pages),
            "page_makes": stats.page_makes,
            "in_place": {"relayouts": stats.relayouts, "pushed": stats.pushed, "pages_made_again": stats.remakes},
            "seconds": round(time.perf_counter() - t, 3),
            "html_chars": len(html),
        })
        engine_render.last_html = html
        print(f"  layout {len(layouts)}: {layouts[-1]['placement']:10} pages={len(document.pages):4} "
              f"{layouts[-1]['seconds']:7.2f}s page makes={stats.page_makes}", file=sys.stderr, flush=True)
        return document, pagination, stats

    engine_render.last_html = None
    engine.render = engine_render

    from weasyprint.document import Document as WDocument
    orig_write = WDocument.write_pdf
    write_times: list[float] = []

    def write_pdf(self, *args, **kw):
        t = time.perf_counter()
        try:
            return orig_write(self, *args, **kw)
        finally:
            write_times.append(time.perf_counter() - t)

    WDocument.write_pdf = write_pdf

    # WeasyPrint's page makes over the whole render (every layout), counted like the
    # floor's (bench/floor_pages.py): progress records of pages made, not reused
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from floor_pages import attach, detach
    counter, progress_logger, old_level = attach()

    prof = None
    if a.profile:
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
    t0 = time.perf_counter()
    data = pdfw.render(doc, options, resolver)
    t_render = time.perf_counter() - t0
    detach(counter, progress_logger, old_level)
    if prof:
        prof.disable()
        prof.dump_stats(str(a.profile))

    a.out.mkdir(parents=True, exist_ok=True)
    stem = a.source.stem
    (a.out / f"{stem}.html").write_text(engine_render.last_html, encoding="utf-8")
    shutil.copyfile(resolver.style(pdfw.STYLESHEET), a.out / "print.css")
    (a.out / "paper.css").write_text(pdfw.PAPER_CSS[options.paper], encoding="utf-8")
    (a.out / f"{stem}.probe.pdf").write_bytes(data)
    info = {
        "source": str(a.source),
        "base_url": resolver.source_dir.as_uri() + "/",
        "import_seconds": round(t_import, 3),
        "read_seconds": round(t_read, 3),
        "render_seconds": round(t_render, 3),
        "layouts": layouts,
        "layout_count": len(layouts),
        "layout_seconds_total": round(sum(l["seconds"] for l in layouts), 3),
        "write_pdf_seconds": round(sum(write_times), 3),
        "final_placement": layouts[-1]["placement"] if layouts else None,
        "page_makes": counter.page_makes,
        "pages": layouts[-1]["pages"] if layouts else None,
        "pdf_bytes": len(data),
    }
    (a.out / f"{stem}.probe.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in info.items() if k != "layouts"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
