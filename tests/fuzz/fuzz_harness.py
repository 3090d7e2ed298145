"""Run one generated source through the pipeline and judge the outcome.

``check_document`` reads, renders every format in this process (so an escaping
exception is seen as itself, not as a worker's diagnostic) and asserts:

* refused input: a PublishError with at least one error, every diagnostic a
  well-formed ``path:line:col: severity: message`` pointing inside the source;
* accepted input (``load`` runs every check ``publish check`` runs): nothing
  that had to be refused was in it, every format renders (check ok means
  build ok), the EPUB's XML parses with unique ids (EPUBCheck runs once, later,
  on every EPUB of the session), and every generated word comes back out of
  each format through a real reader (pdftotext/pypdf, pandoc).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from epubcheck_batch import epubcheck_reports
from epubcheck_batch import problems as epubcheck_problems
from publish.build import load, render
from publish.diagnostics import PublishError, RenderError
from publish.options import FORMATS, RenderOptions
from publish.resources import Resolver

EPOCH = 1_600_000_000
DIAG_RE = re.compile(r"^(?P<path>.+?):(?P<line>[1-9]\d*):(?P<col>[1-9]\d*): (?P<sev>error|warning): (?P<msg>\S.*)$", re.S)
# Invisible characters a renderer may add or drop: soft hyphen, zero-width
# (non-)joiners/spaces, bidi marks, embeddings and isolates, word joiner, BOM.
INVISIBLE = re.compile("[\u00ad\u034f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
HYPHEN_BREAK = re.compile(r"[-\u2010\u2011]\s*\n\s*")


def tiny_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 6), (20, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


_PNG = None


def write_case(directory: Path, markdown: str) -> Path:
    """The source as bytes exactly (CRLF, BOM kept) plus the files it may refer to."""
    global _PNG
    if _PNG is None:
        _PNG = tiny_png()
    directory.mkdir(parents=True, exist_ok=True)
    src = directory / "article.md"
    src.write_bytes(markdown.encode("utf-8"))
    (directory / "pic.png").write_bytes(_PNG)
    (directory / "notimage.png").write_bytes(b"this is not an image\n")
    return src


# --------------------------------------------------------------------------- text


def norm(s: str) -> str:
    """Compare-ready text: NFKC, no invisibles, hyphenation undone, no whitespace, casefolded."""
    s = unicodedata.normalize("NFKC", s)
    s = INVISIBLE.sub("", s)
    s = HYPHEN_BREAK.sub("", s)
    s = re.sub(r"\s+", "", s)
    return unicodedata.normalize("NFKC", s.casefold())


def pdf_text(path: Path) -> str:
    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, timeout=120)
        if out.returncode == 0:
            return out.stdout.decode("utf-8", "replace")
    from pypdf import PdfReader

    return "\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages)


def pandoc_text(path: Path) -> str:
    import pypandoc

    return pypandoc.convert_file(str(path), "plain", extra_args=["--standalone", "--wrap=none"])


def extract(fmt: str, path: Path) -> str:
    return pdf_text(path) if fmt == "pdf" else pandoc_text(path)


def missing_words(words: list[str], text: str, *, broken_lines: bool = False) -> list[str]:
    """Words not found in ``text``.

    With ``broken_lines`` (PDF), a word also counts as present when the layout
    broke it across two lines (CJK and Hangul break between any two letters;
    hyphenation): one part ends a line and the rest begins a line. Mixed
    left-to-right and right-to-left lines make pdftotext emit the two parts in
    visual, not logical, order, so either part may sit at either end.
    """
    if broken_lines:
        # pdftotext reorders right-to-left lines visually and may then detach a
        # combining mark from its letter: for the PDF, compare letters only.
        # It also writes Arabic's lam-alef ligature glyph (لا, one glyph) in
        # visual order (ال): for the PDF the two orders count as one.
        text = _no_marks(text).replace("\u0644\u0627", "\u0627\u0644")
        words = [_no_marks(w).replace("\u0644\u0627", "\u0627\u0644") for w in words]
    hay = norm(text)
    lines = [norm(ln) for ln in text.splitlines()] if broken_lines else []
    lines = [ln for ln in lines if ln]

    def at_edge(part: str) -> bool:
        return any(ln.startswith(part) or ln.endswith(part) or ln.endswith(part + "-") for ln in lines)

    def split_across_lines(w: str) -> bool:
        return any(at_edge(w[:k]) and at_edge(w[k:]) for k in range(1, len(w)))

    out = []
    for w in dict.fromkeys(words):
        n = norm(w)
        if n in hay or (broken_lines and split_across_lines(n)):
            continue
        out.append(w)
    return out


def _no_marks(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")


# --------------------------------------------------------------------------- EPUB structure


def epub_problems(data: bytes) -> list[str]:
    """Cheap per-example checks (EPUBCheck proper runs once per session)."""
    from lxml import etree

    problems: list[str] = []
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        return [f"not a zip: {exc}"]
    names = z.namelist()
    if not names or names[0] != "mimetype" or z.read("mimetype") != b"application/epub+zip":
        problems.append("mimetype entry missing or not first")
    for name in names:
        if not name.endswith((".xhtml", ".opf", ".ncx", ".xml", ".html")):
            continue
        try:
            root = etree.fromstring(z.read(name))
        except etree.XMLSyntaxError as exc:
            problems.append(f"{name}: not well-formed XML: {exc}")
            continue
        ids = Counter(root.xpath("//@id"))
        dups = sorted(i for i, n in ids.items() if n > 1)
        if dups:
            problems.append(f"{name}: duplicate ids {dups}")
    return problems


# --------------------------------------------------------------------------- diagnostics


def diagnostic_problems(exc: PublishError, src: Path, text: str) -> list[str]:
    """What is wrong with the diagnostics of a refused build (empty list: fine)."""
    problems = []
    if not exc.diagnostics:
        return ["PublishError without diagnostics"]
    if not any(d.severity == "error" for d in exc.diagnostics):
        problems.append("PublishError with no error among its diagnostics")
    body = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = body.split("\n")
    for d in exc.diagnostics:
        s = str(d)
        m = DIAG_RE.match(s)
        if not m:
            problems.append(f"malformed diagnostic: {s!r}")
            continue
        if d.path != str(src):
            problems.append(f"diagnostic names another file: {s!r}")
            continue
        if not 1 <= d.line <= len(lines):
            problems.append(f"line {d.line} outside the source ({len(lines)} lines): {s!r}")
        elif not 1 <= d.col <= len(lines[d.line - 1]) + 1:
            problems.append(f"column {d.col} outside line {d.line} ({len(lines[d.line - 1])} chars): {s!r}")
    return problems


def message_kind(msg: str) -> str:
    """A diagnostic's message with its particulars removed, for counting."""
    k = re.sub(r"'[^']*'", "'…'", msg)
    k = re.sub(r"<[^>]*>", "<…>", k)
    k = re.sub(r"\d+", "N", k)
    k = re.sub(r"\(got [^)]*\)", "(got …)", k)
    return k[:90]


# --------------------------------------------------------------------------- one case


@dataclass
class Outcome:
    status: str  # "ok" | "refused" | "render-refused"
    kinds: list[str] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # failures (empty when the case passes)


def check_document(markdown: str, directory: Path, *, words: list[str] = (), deco: list[str] = (),
                   expect_error: list[str] = (), extract_text: bool = True) -> Outcome:
    """Build one source; return what happened and every property it breaks.

    Exceptions other than PublishError propagate: that is the bug this looks for."""
    src = write_case(directory, markdown)
    try:
        doc = load(src)
    except PublishError as exc:
        kinds = sorted({message_kind(d.message) for d in exc.diagnostics if d.severity == "error"})
        return Outcome("refused", kinds, problems=diagnostic_problems(exc, src, markdown))
    problems: list[str] = []
    if expect_error:
        problems.append(f"accepted although it contains what must be refused: {sorted(set(expect_error))}")
    resolver = Resolver.for_source(src)
    opts = RenderOptions(paper="a4", epoch=EPOCH)
    outputs: dict[str, Path] = {}
    refusals: list[str] = []
    # every format is tried even when another refuses: a refusal by one must
    # not hide a broken output of another
    for fmt in FORMATS:
        try:
            data = render(fmt, doc, opts, resolver)
        except RenderError as exc:
            refusals += sorted({f"{fmt}: " + message_kind(d.message) for d in exc.diagnostics})
            problems += diagnostic_problems(exc, src, markdown)
            continue
        path = directory / f"article.{fmt}"
        path.write_bytes(data)
        outputs[fmt] = path
        if fmt == "epub":
            problems += [f"EPUB: {p}" for p in epub_problems(data)]
    if refusals:
        # load() ran every check `publish check` runs: check ok must mean build ok
        problems.append(f"check accepted it but a writer refused it: {refusals}")
        return Outcome("render-refused", refusals, outputs=outputs, problems=problems)
    if extract_text:
        for fmt, path in outputs.items():
            text = extract(fmt, path)
            lost = missing_words(list(words), text, broken_lines=fmt == "pdf")
            if lost:
                problems.append(f"{fmt.upper()}: words missing from the output: {lost}")
            if fmt != "pdf":
                lost_deco = [d for d in dict.fromkeys(deco) if norm(d) not in norm(text)]
                if lost_deco:
                    problems.append(f"{fmt.upper()}: symbols missing from the output: {lost_deco}")
    return Outcome("ok", outputs=outputs, problems=problems)


# --------------------------------------------------------------------------- EPUBCheck, once

def epubcheck_many(paths: list[Path], work: Path) -> dict[Path, list[str]]:
    """EPUBCheck every book in one JVM; per book its fatal/error/warning messages."""
    return {p: epubcheck_problems(r) for p, r in epubcheck_reports(paths, work).items()}


