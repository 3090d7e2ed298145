"""The corpus of real documents (tests/corpus/docs), built by publish and by pandoc.

For each document: publish builds PDF, EPUB and DOCX (one ``publish build``);
pandoc builds EPUB, DOCX and standalone HTML (``--sandbox``: like publish it may
fetch nothing). Both EPUBs go through EPUBCheck; every output is read back by an
independent reader (pdftotext; pandoc for EPUB, DOCX, HTML) and scored by the
share of the source's words it carries (see tests/corpus/harness.py).

    .venv/bin/python bench/corpus.py [--keep DIR] [--only STEM]...

Writes the table to bench/CORPUS.md (the "## Results" section is replaced; the
text around it is kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "corpus"), str(ROOT / "tests")]

import harness  # noqa: E402
from epubcheck_batch import epubcheck_reports, problems  # noqa: E402

REPORT = ROOT / "bench" / "CORPUS.md"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def _short(msg: str, n: int = 90) -> str:
    msg = re.sub(r"^.*?:\d+:\d+: (error|warning): ", "", msg)
    msg = msg.replace("|", "\\|")
    return msg if len(msg) <= n else msg[: n - 1] + "…"


def _blockers(errors: list[str]) -> str:
    """The kinds of error, most frequent first (counts), for the table."""
    from collections import Counter

    kinds: Counter[str] = Counter()
    for e in errors:
        m = re.sub(r"^.*?:\d+:\d+: (error|warning): ", "", e)
        m = re.sub(r"'[^']*'", "'…'", m)
        kinds[_short(m, 70)] += 1
    return "; ".join(f"{k} ×{n}" if n > 1 else k for k, n in kinds.most_common(3)) or "—"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", type=Path, help="keep the outputs in this folder")
    ap.add_argument("--only", action="append", default=[], help="document stem (repeatable)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="publish-corpus-"))
    docs = [d for d in harness.documents() if not args.only or d.stem in args.only]
    rows = []
    epubs = []
    for doc in docs:
        print(f"{doc.stem}: publish…", file=sys.stderr, flush=True)
        pub = harness.build_publish(doc, work / "publish" / doc.stem, audit=False)
        print(f"{doc.stem}: pandoc…", file=sys.stderr, flush=True)
        pan = harness.build_pandoc(doc, work / "pandoc" / doc.stem)
        src = harness.source_words(doc)
        cov = {}
        for b in (pub, pan):
            for fmt, p in b.outputs.items():
                cov[(b.tool, fmt)] = harness.coverage(src, harness.words(harness.output_text(p)))
        epubs += [p for b in (pub, pan) for f, p in b.outputs.items() if f == "epub"]
        rows.append((doc, pub, pan, sum(src.values()), cov))
    print("EPUBCheck…", file=sys.stderr, flush=True)
    reports = epubcheck_reports(epubs, work / "epubcheck") if epubs else {}

    def check(b) -> str:
        p = b.outputs.get("epub")
        if p is None:
            return "—"
        found = problems(reports.get(p))
        return "clean" if not found else f"{len(found)} problems"

    lines = [
        "| document | words | publish exit | errors | warnings | what stops publish | PDF % | EPUB % | DOCX % "
        "| EPUBCheck | publish s | pandoc exit | pandoc EPUB % | DOCX % | HTML % | pandoc EPUBCheck |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    n_ok = n_pan = 0
    for doc, pub, pan, nwords, cov in rows:
        n_ok += pub.exit_code == 0
        n_pan += pan.exit_code == 0
        lines.append(" | ".join([
            f"| {doc.stem}", str(nwords), str(pub.exit_code), str(len(pub.errors)), str(len(pub.warnings)),
            _blockers(pub.errors),
            *(_pct(cov.get(("publish", f))) for f in ("pdf", "epub", "docx")),
            check(pub), f"{pub.seconds:.1f}", str(pan.exit_code),
            *(_pct(cov.get(("pandoc", f))) for f in ("epub", "docx", "html")),
            check(pan) + " |",
        ]))
    pandoc_problems = []
    for doc, pub, pan, _n, _c in rows:
        p = pan.outputs.get("epub")
        if p is not None:
            for msg in problems(reports.get(p))[:3]:
                pandoc_problems.append(f"- {doc.stem}: {_short(msg, 160)}")
    version = subprocess.run([harness.pandoc_path(), "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    body = "\n".join([
        "## Results",
        "",
        f"Run {dt.date.today().isoformat()}, {version}, commit "
        + subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
        + f". publish builds {n_ok} of {len(rows)}; pandoc builds {n_pan} of {len(rows)}.",
        "",
        *lines,
        "",
        "Words: share of the source's words (pandoc's plain-text reading of the source) found in the output;",
        "— where there is no output. \"what stops publish\": the kinds of error (quoted names elided), most frequent first.",
        "",
        "First EPUBCheck messages on pandoc's EPUBs:" if pandoc_problems else "",
        "",
        *pandoc_problems,
        "",
    ])
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else "# The corpus: publish and pandoc on real documents\n\n"
    if "## Results" in text:
        head, _, rest = text.partition("## Results")
        tail = rest[rest.find("\n## ") + 1:] if "\n## " in rest else ""
        text = head + body + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    REPORT.write_text(text, encoding="utf-8")
    print(f"written {REPORT} (outputs in {work})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
