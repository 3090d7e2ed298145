#!/usr/bin/env python3
"""Count WeasyPrint's page makes for the floor HTML, in-process and untimed.

WeasyPrint logs every page it (re-)makes on logger ``weasyprint.progress`` as
``Step 5 - Creating layout - Page N``, and a page it reuses as
``... Page N (up-to-date)``. A handler on that logger counts the first kind
while ``HTML.render`` lays the floor HTML out with the same stylesheets as the
timed floor command. No PDF is written (page makes happen in layout only).

This is a separate probe so that the logging does not distort the timed floor.

Usage: python bench/floor_pages.py HTML --css A.css [--css B.css] --base-url URL
Prints one JSON object: {"page_makes": N, "pages": M, "repaginations": R, "seconds": S}
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

PAGE_MAKE = "Step 5 - Creating layout - Page"
UP_TO_DATE = "(up-to-date)"


class PageMakeCounter(logging.Handler):
    """Counts page makes (and reuses) from ``weasyprint.progress`` records."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.page_makes = self.up_to_date = self.repaginations = 0

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.startswith(PAGE_MAKE):
            if UP_TO_DATE in msg:
                self.up_to_date += 1
            else:
                self.page_makes += 1
        elif msg.startswith("Step 5 - Creating layout - Repagination"):
            self.repaginations += 1


def attach() -> tuple[PageMakeCounter, logging.Logger, int]:
    """Attach a counter to ``weasyprint.progress``; returns it, the logger and its old level."""
    logger = logging.getLogger("weasyprint.progress")
    counter = PageMakeCounter()
    old = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(counter)
    return counter, logger, old


def detach(counter: PageMakeCounter, logger: logging.Logger, old_level: int) -> None:
    logger.removeHandler(counter)
    logger.setLevel(old_level)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("html")
    ap.add_argument("--css", action="append", default=[])
    ap.add_argument("--base-url", required=True)
    a = ap.parse_args(argv)
    from weasyprint import CSS, HTML

    counter, logger, old = attach()
    t0 = time.perf_counter()
    doc = HTML(filename=a.html, base_url=a.base_url).render(
        stylesheets=[CSS(filename=c) for c in a.css], pdf_variant="pdf/ua-1")
    seconds = time.perf_counter() - t0
    detach(counter, logger, old)
    print(json.dumps({"page_makes": counter.page_makes, "pages": len(doc.pages),
                      "up_to_date": counter.up_to_date, "repaginations": counter.repaginations,
                      "seconds": round(seconds, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
