#!/usr/bin/env python3
"""Markdown tables (for bench/RESULTS.md) from a bench/run.py results file.

Usage: python bench/table.py [bench/work/results.json]
Recomputes the summary and verdicts from the raw runs (so an older file gets the current verdicts).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

LABELS = {
    "pdf": "publish PDF, cold (`--format pdf --no-cache`)",
    "edit": "publish PDF after a one-paragraph edit (cache warm)",
    "watch": "`publish watch`: save → PDF replaced",
    "floor": "WeasyPrint floor (bare `weasyprint`, same HTML+CSS)",
    "pandoc-weasyprint": "pandoc → WeasyPrint (`--pdf-engine=weasyprint`)",
    "pandoc-typst": "pandoc → Typst (`-t typst`, `typst.compile`)",
    "pandoc3": "pandoc ×3 (docx + epub + pdf)",
    "full": "publish, every format, cold (issue 13)",
    "rebuild": "no-change rebuild (issue 13)",
}
ORDER = ("pdf", "edit", "watch", "floor", "pandoc-weasyprint", "pandoc-typst", "pandoc3", "full", "rebuild")
DOC_LABEL = {"article": "article", "long": "50×"}


def _f(x, fmt: str) -> str:
    return "n/a" if x is None or x != x else format(x, fmt)


def _i(x) -> str:
    return "n/a" if x is None else str(x)


def markdown(result: dict) -> str:
    if "summary" not in result:
        sys.path.insert(0, str(HERE))
        from run import summarize, verdicts_of
        result["summary"] = summarize(result)
        result["verdicts"] = verdicts_of(result, result["summary"])
    m, s = result.get("machine") or {}, result["summary"]
    loads = [x["load1"] if isinstance(x, dict) else x for x in result.get("load_avg_1min", [])]
    dirty = " + uncommitted changes in src/" if m.get("src_dirty") else ""
    out = [
        f"Measured {m.get('date', '?')}, publish at `{m.get('publish_commit', '?')}`{dirty} "
        f"(branch `{m.get('publish_branch', '?')}`); {result.get('runs')} interleaved round(s); "
        f"`nproc` = {m.get('nproc', '?')}; 1-minute load before each round "
        + (f"{min(loads):.2f}–{max(loads):.2f}" if loads else "n/a")
        + f"; WeasyPrint {m.get('weasyprint', '?')}, {m.get('pandoc', '?')}, typst (PyPI) {m.get('typst', '?')}, "
        f"Python {m.get('python', '?')}. Layouts / page makes / pages per build from `publish build --verbose`"
        + ("" if m.get("publish_verbose") else " (**n/a: no `--verbose` at this commit**)")
        + "; the floor's page makes from `bench/floor_pages.py` (in-process, untimed).",
        "",
        "| doc | case | n (failed) | median s | min–max s | CPU s | `time -v` max RSS MB | tree Σ RSS MB "
        "| tree Σ PSS MB | layouts | page makes | pages |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for d in ("article", "long"):
        if d not in s:
            continue
        for case in ORDER:
            c = s[d].get(case)
            if not c:
                continue
            pages = c["pages"] if c["pages"] is not None else c.get("pdf_pages")
            pages_note = "" if c["pages"] is not None or pages is None else " (PDF)"
            out.append(
                f"| {DOC_LABEL[d]} | {LABELS[case]} | {c['n']} ({c['failed']}) | {_f(c['wall_median'], '.3f')} | "
                f"{_f(c['wall_min'], '.2f')}–{_f(c['wall_max'], '.2f')} | {_f(c['cpu_median'], '.2f')} | "
                f"{'–' if case == 'watch' else _f(c['maxrss_mb_max'], '.0f')} | {_f(c['tree_rss_mb_max'], '.0f')} | "
                f"{_f(c['tree_pss_mb_max'], '.0f')} | {_i(c['layouts'])} | {_i(c['page_makes'])} | "
                f"{_i(pages)}{pages_note} |")
        w = s[d].get("writer_probe") or {}
        if w.get("layouts") is not None:
            out.append(f"| {DOC_LABEL[d]} | ↳ PDF writer probe (`pdf_probe.py`, in-process, untimed) | 1 | | | | | | | "
                       f"{_i(w['layouts'])} | {_i(w.get('page_makes'))} | {_i(w.get('pages'))} |")
    st = s.get("startup") or {}
    if st.get("n"):
        out += ["", f"Start-up a warm process saves: `python -c \"import publish.writers.pdf, weasyprint\"` "
                    f"median **{st['wall_median']:.3f} s** wall, {st['cpu_median']:.2f} CPU-s (n={st['n']}, "
                    f"max RSS {st['maxrss_mb_max']:.0f} MB)."]
    for d in ("article", "long"):
        w = s.get(d, {}).get("watch")
        if w and w.get("first_pdf_median") == w.get("first_pdf_median"):
            out.append(f"`publish watch` on the {DOC_LABEL[d]}: first PDF after start {w['first_pdf_median']:.2f} s "
                       "(median); watch rows: CPU is the watch tree's CPU over one save (+ settle), memory the "
                       "whole session's peak.")
    out += ["", "| target | measured | limit | verdict |", "|---|---:|---:|---|"]
    for v in result.get("verdicts", []):
        unit = v["unit"]
        meas = f"{_f(v['measured'], '.3f')}{unit}"
        note = f" ({v['note']})" if v.get("note") else ""
        out.append(f"| {v['target']}{note} | {meas} | {v.get('op', '≤')} {_f(v['limit'], '.3f')}{unit} | "
                   f"**{v['status']}** |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else HERE / "work" / "results.json"
    result = json.loads(path.read_text())
    result.pop("summary", None)
    result.pop("verdicts", None)
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
