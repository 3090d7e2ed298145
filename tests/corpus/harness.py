"""The corpus of real documents: build each with publish (and pandoc), read every
output back with independent readers and count how many of the source's words
came through.

Shared by ``tests/corpus/test_corpus.py`` (publish only) and ``bench/corpus.py``
(publish and pandoc side by side, the table in ``bench/CORPUS.md``).

Words: the source is read by pandoc (``-f markdown -t plain``), the outputs by
pdftotext (PDF) and pandoc (EPUB, DOCX, HTML). Text is NFKC-normalised and
case-folded; combining marks, joiners and soft hyphens are dropped; lam-alef
is one key in either order and a change between Arabic and Latin script splits a word
(how pdftotext reads right-to-left lines); a word
hyphenated at a line end in the PDF (U+2010 or a soft hyphen; a hard "-" is kept) is joined; every Han/kana/Hangul character
is a word of its own (CJK has no spaces). The score is the share of the source's
words (counted with multiplicity) found in the output.
"""

from __future__ import annotations


import os
import re
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from audit import AUDIT, library_probe  # tests/ is on sys.path (test_corpus.py, bench/corpus.py)

CORPUS = Path(__file__).resolve().parent
DOCS = CORPUS / "docs"
ROOT = CORPUS.parents[1]
FORMATS = ("pdf", "epub", "docx")
WORDS_NEEDED = 0.985


def documents() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def pandoc_path() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


# --------------------------------------------------------------------------- words

_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff])")
_DROP = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u0640"))  # soft hyphen, joiners, tatweel


# pdftotext writes Arabic's lam-alef ligature (one glyph for لا, لأ, لإ, لآ) in visual
# order (ال, أل, …) when it reorders a right-to-left line: both orders are one key
# (tests/fuzz/fuzz_harness.py does the same). An Arabic-script letter joined to a
# Latin one (و + Rails) is two words: pdftotext splits them at the change of direction.
_LAM_ALEF = re.compile("\u0644([\u0627\u0623\u0625\u0622])")
_SCRIPT_CHANGE = re.compile(r"(?<=[\u0600-\u06ff])(?=[A-Za-z])|(?<=[A-Za-z])(?=[\u0600-\u06ff])")


def words(text: str) -> Counter[str]:
    # a word hyphenated at a line end by the typesetter (U+2010 HYPHEN, soft hyphen) is joined
    text = re.sub(r"(\w)[\u2010\u00ad]\n\s*(\w)", r"\1\2", text)
    text = unicodedata.normalize("NFKC", text).translate(_DROP)
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    text = _LAM_ALEF.sub(lambda m: m.group(1) + "\u0644", _SCRIPT_CHANGE.sub(" ", text))
    text = _CJK.sub(r" \1 ", text).casefold()
    return Counter(re.findall(r"\w+", text))


def coverage(source: Counter[str], output: Counter[str]) -> float:
    total = sum(source.values())
    if not total:
        return 1.0
    return sum(min(n, output.get(w, 0)) for w, n in source.items()) / total


def missing_words(source: Counter[str], output: Counter[str], limit: int = 12) -> list[str]:
    lost = Counter({w: n - output.get(w, 0) for w, n in source.items() if n > output.get(w, 0)})
    return [w for w, _ in lost.most_common(limit)]


def source_words(doc: Path) -> Counter[str]:
    r = subprocess.run([pandoc_path(), "--sandbox", "-f", "markdown", "-t", "plain", "--wrap=none", str(doc)],
                       capture_output=True, text=True, timeout=120)
    return words(r.stdout)


def output_text(path: Path) -> str:
    """The text of an output file as an independent reader sees it."""
    ext = path.suffix.lstrip(".")
    if ext == "pdf":
        r = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, timeout=120)
        return r.stdout.decode("utf-8", "replace")
    reader = {"epub": "epub", "docx": "docx", "html": "html"}[ext]
    r = subprocess.run([pandoc_path(), "--sandbox", "-f", reader, "-t", "plain", "--wrap=none", str(path)],
                       capture_output=True, timeout=120)
    return r.stdout.decode("utf-8", "replace")


# --------------------------------------------------------------------------- building




@dataclass
class Build:
    doc: Path
    tool: str  # "publish" | "pandoc"
    exit_code: int
    seconds: float
    outputs: dict[str, Path] = field(default_factory=dict)  # format -> file (only those written)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # audit log (publish only)
    audit_site: Path | None = None


_DIAG = re.compile(r"^(?P<where>.+?:\d+:\d+): (?P<sev>error|warning): (?P<msg>.*)$")


def build_publish(doc: Path, out: Path, audit: bool = True, strict: bool = False) -> Build:
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    site = None
    log = out / "audit.log"
    if audit:
        site = out / "audit-site"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(AUDIT)
        env["PUBLISH_AUDIT_LOG"] = str(log)
        env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    cmd = [sys.executable, "-m", "publish", "build", str(doc), "--out", str(out), "--no-cache", "-q"]
    if strict:
        cmd.append("--strict")
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=out, timeout=600)
    secs = time.monotonic() - t0
    b = Build(doc, "publish", r.returncode, secs, audit_site=site)
    for line in r.stderr.splitlines():
        m = _DIAG.match(line)
        if m:
            (b.errors if m["sev"] == "error" else b.warnings).append(line)
        elif line.strip() and "\t" not in line:  # not a "path size secs status" summary line
            b.errors.append(line)
    for fmt in FORMATS:
        p = out / f"{doc.stem}.{fmt}"
        if p.exists() and r.returncode == 0:
            b.outputs[fmt] = p
    if audit and log.exists():
        b.events = [ln for ln in log.read_text(encoding="utf-8").splitlines()
                    if not ln.startswith("open\t" + str(site))]
    return b


def build_pandoc(doc: Path, out: Path) -> Build:
    """pandoc as a new user would run it (no title given), sandboxed: no network, no other files."""
    out.mkdir(parents=True, exist_ok=True)
    b = Build(doc, "pandoc", 0, 0.0)
    t0 = time.monotonic()
    for fmt in ("epub", "docx", "html"):
        target = out / f"{doc.stem}.{fmt}"
        r = subprocess.run([pandoc_path(), "--sandbox", "-f", "markdown", "-s", str(doc), "-o", str(target)],
                           capture_output=True, text=True, timeout=300, cwd=out)
        b.exit_code = max(b.exit_code, r.returncode)
        for line in r.stderr.splitlines():
            if line.strip():
                (b.errors if r.returncode else b.warnings).append(f"{fmt}: {line.strip()}")
        if r.returncode == 0 and target.exists():
            b.outputs[fmt] = target
    b.seconds = time.monotonic() - t0
    return b


# --------------------------------------------------------------------------- audit

def _allowed(path: str, out: Path) -> bool:
    import site
    import sysconfig
    import tempfile

    prefixes = {str(DOCS), str(out), str(ROOT / "src"), str(ROOT / "src" / "publish" / "styles"), sys.prefix, sys.base_prefix,
                sys.exec_prefix, os.path.realpath(sys.base_prefix), sysconfig.get_paths()["stdlib"],
                *site.getsitepackages(), "/usr/share/", "/usr/lib/", "/usr/local/lib/", "/etc/fonts/", "/dev/",
                "/proc/", "/sys/", "/etc/mime.types", "/etc/localtime", "/usr/share/zoneinfo", "/etc/ld.so.cache",
                "/etc/ssl/", os.path.expanduser("~/.cache/fontconfig")}
    # the settings file, looked for beside the source and up to the project root (publish.config)
    parent, name = os.path.split(path)
    if name in ("publish.toml", "pyproject.toml") and Path(parent) in (DOCS, *DOCS.parents) \
            and Path(parent).is_relative_to(ROOT):
        return True
    tmp = re.escape(tempfile.gettempdir())
    if re.fullmatch(rf"{tmp}(/tmp[a-z0-9_]{{8}}|/[a-z0-9_]{{8}})?", path):
        return True
    real = os.path.realpath(path)
    return any(path.startswith(p) or real.startswith(p) for p in prefixes)


def audit_problems(b: Build, out: Path) -> list[str]:
    """Sockets, processes and reads outside the corpus folder, styles/ and the libraries."""
    spawned = [e for e in b.events if not e.startswith("open\t") and not library_probe(e)]
    opened = [e.split("\t", 1)[1] for e in b.events if e.startswith("open\t")]
    outside = sorted({p for p in opened if not _allowed(p, out)})
    return spawned + [f"read outside the tree: {p}" for p in outside]
