"""Options: one typed record per run; unknown keys are errors."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, fields
from typing import Literal

Paper = Literal["a4", "letter"]
FORMATS: tuple[str, ...] = ("pdf", "epub", "docx")
PAPERS: tuple[str, ...] = ("a4", "letter")


@dataclass(frozen=True)
class RenderOptions:
    """What every writer gets besides the model and the resolver."""

    paper: Paper = "a4"
    # Seconds since the epoch used for every date stamped into an output
    # (PDF/DOCX/EPUB modification dates, zip entry times). From SOURCE_DATE_EPOCH
    # when set; otherwise the time of the run.
    epoch: int = 0

    @classmethod
    def from_env(cls, paper: Paper = "a4", environ: dict[str, str] | None = None) -> "RenderOptions":
        env = os.environ if environ is None else environ
        raw = env.get("SOURCE_DATE_EPOCH", "").strip()
        epoch = int(raw) if raw.isdigit() else int(time.time())
        return cls(paper=paper, epoch=epoch)

    @staticmethod
    def keys() -> tuple[str, ...]:
        return tuple(f.name for f in fields(RenderOptions))
