"""Options: one typed record per run; unknown keys are errors."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Literal

Paper = Literal["a4", "letter"]
HtmlImages = Literal["inline", "files"]
from .writers import WRITERS

FORMATS: tuple[str, ...] = tuple(WRITERS)
PAPERS: tuple[str, ...] = ("a4", "letter")
HTML_IMAGES: tuple[str, ...] = ("inline", "files")


MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z: beyond that no format can write the date


def epoch_from(environ) -> int | None:
    """SOURCE_DATE_EPOCH as an int, None if unset; ValueError if it is not a sane one."""
    raw = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"[0-9]{1,12}", raw) or int(raw) > MAX_EPOCH:
        raise ValueError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970 (got {raw[:20]!r})")
    return int(raw)


@dataclass(frozen=True)
class RenderOptions:
    """What every writer gets besides the model and the resolver."""

    paper: Paper = "a4"
    # Seconds since the epoch used for every date stamped into an output
    # (PDF/DOCX/EPUB modification dates, zip entry times). From SOURCE_DATE_EPOCH
    # when set; otherwise the time of the run.
    epoch: int = 0
    # The HTML edition's images: data: URIs in the page, or files in <stem>_files/.
    html_images: HtmlImages = "inline"

    @classmethod
    def from_env(cls, paper: Paper = "a4", environ: dict[str, str] | None = None,
                 html_images: HtmlImages = "inline") -> "RenderOptions":
        env = os.environ if environ is None else environ
        epoch = epoch_from(env)
        return cls(paper=paper, epoch=int(time.time()) if epoch is None else epoch, html_images=html_images)

