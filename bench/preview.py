"""Save-to-reload time of ``publish preview`` on the article, in Debian's chromium.

A copy of the project is previewed by ``publish preview`` (its own process, as
an editor runs it); the shell page is open in chromium (Playwright). Each round edits one
word of the source and writes it, then waits until the page has reloaded. Times
are wall-clock, from just before the write to:

* ``sse``: the shell receiving the server-sent reload event;
* ``dcl``: the new page's DOMContentLoaded (``performance.timeOrigin`` +
  ``domContentLoadedEventEnd`` of the page's navigation entry);
* ``shown``: the new page scrolled to the reader's place and swapped in.

The Python and browser clocks are the same system clock (epoch milliseconds).
Two series: the HTML edition alone, and with the other formats (PDF, EPUB,
DOCX) rebuilt in the background after every save, as ``publish preview`` does
by default.

    python bench/preview.py [--rounds 15] [--background-rounds 8]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _start_preview(project: Path, formats: tuple[str, ...]) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "publish", "preview", "source/article.md", "--out", "out",
           "--port", "0", "--no-open"]
    cmd += [a for f in formats for a in ("--format", f)] if formats else ["--no-background"]
    proc = subprocess.Popen(cmd, cwd=project, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    for line in proc.stderr:
        m = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        if m:
            return proc, m.group(1)
    raise RuntimeError("publish preview did not start")


def series(browser, project: Path, rounds: int, formats: tuple[str, ...]) -> list[dict]:
    source = project / "source" / "article.md"
    original = source.read_text(encoding="utf-8")
    proc, url = _start_preview(project, formats)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()

    def state() -> dict:
        with urllib.request.urlopen(url + "state") as r:
            return json.load(r)

    try:
        page.goto(url)
        page.wait_for_function("() => window.__preview.reloads.length > 0", timeout=30_000)
        page.evaluate("document.getElementById('page').contentWindow.scrollTo(0, 3000)")
        out = []
        for n in range(rounds):
            version = state()["version"]
            text = original.replace("custodians of its fastest-growing market",
                                    f"custodians of its fastest-growing market ({n})", 1)
            t0 = time.time() * 1000
            source.write_text(text, encoding="utf-8")
            page.wait_for_function(f"() => window.__preview.reloads.some(r => r.version > {version})",
                                   timeout=30_000)
            r = page.evaluate(f"window.__preview.reloads.find(r => r.version > {version})")
            out.append({"sse": r["sse"] - t0, "dcl": r["dcl"] - t0, "shown": r["shown"] - t0,
                        "render": state()["seconds"] * 1000})
            time.sleep(0.4)
        return out
    finally:
        ctx.close()
        proc.send_signal(2)  # Ctrl-C
        proc.communicate(timeout=30)
        source.write_text(original, encoding="utf-8")


def summary(rows: list[dict]) -> dict:
    out: dict = {"rounds": len(rows)}
    for k in ("render", "sse", "dcl", "shown"):
        xs = sorted(r[k] for r in rows)
        out[k] = {"median": round(statistics.median(xs)), "p90": round(xs[int(0.9 * (len(xs) - 1))]),
                  "max": round(xs[-1]), "under_500": sum(x < 500 for x in xs)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--background-rounds", type=int, default=8)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="publish-bench-preview-"))
    try:
        shutil.copytree(ROOT / "source", work / "source")
        shutil.copytree(ROOT / "src" / "publish" / "styles", work / "styles")
        (work / "publish.toml").write_text("")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            result = {
                "load_average_before": os.getloadavg(),
                "alone": summary(series(browser, work, args.rounds, ())),
                "with_background": summary(series(browser, work, args.background_rounds,
                                                  ("pdf", "epub", "docx"))),
                "load_average_after": os.getloadavg(),
                "chromium": browser.version,
            }
            browser.close()
        print(json.dumps(result, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
