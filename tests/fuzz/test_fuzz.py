"""Fuzzing: generated Markdown either builds — valid EPUB, every word in every
format — or is refused with well-formed ``path:line:col`` diagnostics. No other
exception may escape.

Bounded by default (``make test``): a fixed number of examples, derandomised,
so CI is reproducible. ``PUBLISH_FUZZ_EXAMPLES=2000`` (``make fuzz``,
``scripts/fuzz.sh``) runs long with a random or given seed
(``PUBLISH_FUZZ_SEED``) and, with ``PUBLISH_FUZZ_STATS=file.json``, writes the
counts there.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, seed, settings

from fuzz_harness import check_document, epubcheck_many
from fuzz_strategies import Generated, documents

EXAMPLES = int(os.environ.get("PUBLISH_FUZZ_EXAMPLES", "0") or 0)
LONG = EXAMPLES > 0
MAX_EXAMPLES = EXAMPLES or 30
SEED = int(os.environ.get("PUBLISH_FUZZ_SEED", "0") or 0) or None

STATS: Counter = Counter()
KINDS: Counter = Counter()
EPUBS: list[tuple[Path, str]] = []  # (book, its source) for the one EPUBCheck run
FAILURES: list[str] = []


@pytest.fixture(scope="module")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="publish-fuzz-"))
    yield d
    _write_stats()
    if not os.environ.get("PUBLISH_FUZZ_KEEP"):
        shutil.rmtree(d, ignore_errors=True)


def _write_stats() -> None:
    out = os.environ.get("PUBLISH_FUZZ_STATS")
    if not out:
        return
    data = {"examples": STATS["examples"], "seed": SEED, "max_examples": MAX_EXAMPLES,
            "outcomes": dict(STATS), "diagnostics": dict(KINDS.most_common()), "failures": FAILURES}
    Path(out).write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


def _doc(md: str, words: list[str], expect_error: list[str] = ()) -> Generated:
    return Generated(md, "", words, [], list(expect_error), [])


HEAD = "---\ntitle: \"Fuzz\"\n---\n\n"
# The nastiest inputs found while writing the fuzzer, replayed on every run.
NASTY = [
    _doc(HEAD + "مرحبا *עברית* `中文` e\u0301 q\u0323\u0331 한국어 😀 [span]{.x #dup lang=ar dir=rtl} [two]{#dup2}\n",
         ["مرحبا", "עברית", "中文", "한국어", "span", "two"]),
    _doc(HEAD + "> " * 18 + "deepquote\n\n" + "".join("  " * k + "- \n" for k in range(8)) + "  " * 8 + "- deeplist\n",
         ["deepquote", "deeplist"]),
    _doc(HEAD + "*" * 60 + "deepemph" + "*" * 60 + " " + "[" * 30 + "spans" + "]{.x}" * 30 + "\n", ["deepemph", "spans"]),
    _doc(HEAD + "wordA <b onclick=\"x\">bad</b>\n", ["wordA"], ["event-handler"]),
    _doc(HEAD + "<div>\n<p>inside <i>html</i></p>\n</div>\n\ntail\u00a0\u2009\u3000text\u200bhere\r\n", ["inside", "html", "tail", "text", "here"]),
    _doc("\ufeff" + HEAD.replace("\n", "\r\n") + "Note[^長] and [^1].\r\n\r\n[^長]: 注释 body\r\n\r\n[^1]: `code`\r\n",
         ["Note", "注释", "body", "code"]),
    _doc(HEAD + ":::::: {.credit}\n::::: {#d1 .x lang=ar}\nنص عربي\n:::::\n::::::\n\nTerm\n\n:   Definition ~~strike~~\n",
         ["نص", "عربي", "Term", "Definition", "strike"]),
]


def _judge(gen: Generated, workdir: Path) -> None:
    n = STATS["examples"] = STATS["examples"] + 1
    case = workdir / f"case-{n:05d}"
    outcome = check_document(gen.markdown, case, words=gen.words, deco=gen.deco, expect_error=gen.expect_error)
    STATS[outcome.status] += 1
    for k in outcome.kinds:
        KINDS[k] += 1
    problems = outcome.problems
    if problems:
        STATS["failures"] += 1
        FAILURES.append(json.dumps({"markdown": gen.markdown, "problems": problems}, ensure_ascii=False))
    assert not problems, "\n".join(problems) + f"\n(case kept in {case})"
    if outcome.outputs.get("epub"):
        EPUBS.append((outcome.outputs["epub"], gen.markdown))
        for fmt, path in outcome.outputs.items():
            if fmt != "epub":
                path.unlink()
    if outcome.status == "refused":
        shutil.rmtree(case, ignore_errors=True)


def _settings():
    common = dict(max_examples=MAX_EXAMPLES, deadline=None, database=None, print_blob=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.filter_too_much, HealthCheck.large_base_example])
    if LONG:
        return settings(**common)
    return settings(derandomize=True, **common)


def _with_examples(fn):
    for g in NASTY:
        fn = example(gen=g)(fn)
    return fn


@_settings()
@given(gen=documents())
@_with_examples
def _property(gen: Generated, workdir: Path) -> None:
    _judge(gen, workdir)


if LONG and SEED is not None:
    _property = seed(SEED)(_property)


def test_build_succeeds_or_is_refused_with_diagnostics(workdir: Path) -> None:
    _property(workdir=workdir)
    assert STATS["ok"] > 0, f"no generated document built at all: {dict(STATS)}"


def test_every_epub_passes_epubcheck(workdir: Path) -> None:
    """All EPUBs of the run above, checked in one JVM."""
    if not EPUBS:
        pytest.skip("no EPUB was produced (the fuzz test did not run)")
    results = epubcheck_many([p for p, _ in EPUBS], workdir / "epubcheck")
    sources = dict(EPUBS)
    bad = {p: msgs for p, msgs in results.items() if msgs}
    STATS["epubcheck: books"] = len(results)
    STATS["epubcheck: invalid"] = len(bad)
    for p, msgs in bad.items():
        FAILURES.append(json.dumps({"markdown": sources[p], "problems": msgs}, ensure_ascii=False))
    _write_stats()
    assert not bad, "\n\n".join(f"{sources[p]!r}\n  " + "\n  ".join(m) for p, m in list(bad.items())[:5])
