#!/usr/bin/env python3
"""Benchmark `publish build` against pandoc, Typst and the bare WeasyPrint floor (issue 17).

For each document (source/article.md and the 50x document from make_long.py),
runs RUNS interleaved rounds of the selected cases (--cases; default: all but `full`):

  pdf        `publish build SRC --format pdf --no-cache` (cold: a fresh process, empty output folder)
  edit       a copy of the project is built once (untimed, cache on, empty output folder), then one
             paragraph's text is edited and `publish build --format pdf` is timed: the rebuild with
             the cache warm from the previous, unedited build
  floor      the bare `weasyprint` command on the exact HTML the PDF writer laid out last
             (dumped by bench/pdf_probe.py), same stylesheets and --pdf-variant pdf/ua-1
  pandoc-weasyprint  `pandoc SRC -o X.pdf --pdf-engine=weasyprint` (pandoc's own PDF of the source)
  pandoc-typst       `pandoc SRC -s -t typst -o X.typ`, then `typst.compile(X.typ, output=X.pdf)`
             (PyPI `typst`, a fresh Python process); the time is the sum of the two
  pandoc3    three pandoc runs: docx, epub, pdf (--pdf-engine=weasyprint); the time is their sum
  watch      `publish watch SRC --format pdf` on a copy of the project, in its own process: wait for
             the first PDF, then --saves one-paragraph edits; each is timed from just before the
             write until the PDF file is replaced (wall), with the tree's CPU seconds over the save
  startup    `python -c "import publish.writers.pdf, weasyprint"`, --startup-runs times per round
             (not per document): the start-up a warm watch process no longer pays
  full       (opt-in; the issue-13 case) `publish build --no-cache` of every format, then a
             no-change rebuild that must rewrite nothing

Layouts and page makes: when `publish build --help` offers --verbose, publish runs get --verbose
and their output is searched for the PDF writer's line (LAYOUT_RE); otherwise n/a. For the floor,
bench/floor_pages.py counts WeasyPrint's page makes in-process (untimed, once per code stamp), and
bench/pdf_probe.py counts the writer's layouts and page makes in-process (untimed) as a cross-check.

Every timed command runs under `/usr/bin/time -v`: user+sys are the children's rusage (the whole
reaped tree), "Maximum resident set size" is the peak RSS of the single largest process in the
tree (Linux folds reaped descendants' ru_maxrss in as a maximum, not a sum). A sampler also polls
the whole process tree in /proc every SAMPLE seconds for the peak of the summed RSS and PSS.
The 1-minute load average is recorded before every (round, document).

All SOURCE_DATE_EPOCH-stamped; outputs and raw results go to bench/work/ (not committed).
Usage: python bench/run.py [--runs 5] [--docs article,long] [--cases pdf,edit,...] [--json FILE]
       python bench/table.py bench/work/results.json     (markdown for bench/RESULTS.md)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
# The venv's tools; when this bench/ is a copy in a snapshot worktree without a
# .venv, the interpreter running this script. The code measured is always ROOT/src
# (PYTHONPATH), so a snapshot measures its own code, not the editable install's.
VENV_BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin").is_dir() else Path(sys.executable).parent
PY = VENV_BIN / "python"
EPOCH = "1630454400"
DOCS = {
    "article": ROOT / "source" / "article.md",
    "long": WORK / "long" / "article.md",
}
# the PDF writer's INFO line on logger publish.pdf, printed by `publish build --verbose`
LAYOUT_RE = re.compile(r"(\d+) layouts?, (\d+) page makes? for (\d+) pages?")
CASES = ("pdf", "edit", "floor", "pandoc-weasyprint", "pandoc-typst", "pandoc3", "watch", "startup", "full")
DEFAULT_CASES = tuple(c for c in CASES if c != "full")
DOC_CASES = tuple(c for c in CASES if c != "startup")
# pandoc 3.9's typst template writes `keywords: (China,data security,...)` unquoted, which Typst
# rejects ("expected comma"); the article has such keywords, so pandoc -> typst clears them
PANDOC_TYPST_EXTRA = ["-M", "keywords="]
TYPST_COMPILE = ("import sys, typst; "
                 "typst.compile(sys.argv[1], output=sys.argv[2], timestamp=int(sys.argv[3]))")


# ----------------------------------------------------------------- process tree sampling

def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as fh:
                s = fh.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def _tree(pid: int) -> list[int]:
    kids = _children_map()
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(kids.get(p, ()))
    return out


def _mem_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB of one process, 0 if gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            rss = pss = 0
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
            return rss, pss
    except (OSError, ValueError):
        return 0, 0


class TreeSampler(threading.Thread):
    def __init__(self, pid: int, interval: float):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.stop = threading.Event()
        self.peak_rss_sum = self.peak_pss_sum = self.peak_procs = 0

    def run(self) -> None:
        while not self.stop.is_set():
            rss = pss = 0
            pids = _tree(self.pid)
            for p in pids:
                r, s = _mem_kb(p)
                rss += r
                pss += s
            self.peak_rss_sum = max(self.peak_rss_sum, rss)
            self.peak_pss_sum = max(self.peak_pss_sum, pss)
            self.peak_procs = max(self.peak_procs, len(pids))
            self.stop.wait(self.interval)


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a live process tree: utime+stime of each process plus cutime+cstime
    (its reaped children), from /proc/<pid>/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/stat", "rb") as fh:
                s = fh.read()
        except OSError:
            continue
        f = s[s.rindex(b")") + 2:].split()
        total += sum(int(x) for x in f[11:15])  # utime stime cutime cstime
    return total / tick


# ----------------------------------------------------------------- one command

def parse_layouts(text: str) -> dict | None:
    """The PDF writer's 'N layouts, M page makes for P pages' line (the last one), or None."""
    found = LAYOUT_RE.findall(text)
    if not found:
        return None
    layouts, makes, pages = (int(x) for x in found[-1])
    return {"layouts": layouts, "page_makes": makes, "pages": pages, "lines": len(found)}


def timed(cmd: list[str], *, cwd: Path | None = None, env: dict | None = None,
          interval: float = 0.1) -> dict:
    """Run cmd under /usr/bin/time -v; wall time, exit code, children's CPU, maxrss, tree RSS/PSS
    peaks, and the PDF writer's layout line if the output has one."""
    tfile = WORK / ".time.txt"
    full = ["/usr/bin/time", "-v", "-o", str(tfile), *cmd]
    t0 = time.perf_counter()
    proc = subprocess.Popen(full, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = TreeSampler(proc.pid, interval)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    tv = tfile.read_text()
    def field(name: str) -> float:
        m = re.search(rf"{re.escape(name)}: ([\d.]+)", tv)
        return float(m.group(1)) if m else float("nan")
    text = out.decode(errors="replace") + "\n" + err.decode(errors="replace")
    return {
        "cmd": cmd,
        "rc": proc.returncode,
        "wall": wall,
        "user": field("User time (seconds)"),
        "sys": field("System time (seconds)"),
        "maxrss_kb": int(field("Maximum resident set size (kbytes)")),
        "tree_rss_kb": sampler.peak_rss_sum,
        "tree_pss_kb": sampler.peak_pss_sum,
        "procs": sampler.peak_procs,
        "layout_stats": parse_layouts(text),
        "stderr": err.decode(errors="replace")[-2000:] if proc.returncode else "",
    }


def combine(parts: dict[str, dict]) -> dict:
    """Sequential commands as one case: times summed, memory peaks maxed."""
    rs = list(parts.values())
    return {
        "rc": max(r["rc"] for r in rs),
        "wall": sum(r["wall"] for r in rs),
        "user": sum(r["user"] for r in rs),
        "sys": sum(r["sys"] for r in rs),
        "maxrss_kb": max(r["maxrss_kb"] for r in rs),
        "tree_rss_kb": max(r["tree_rss_kb"] for r in rs),
        "tree_pss_kb": max(r["tree_pss_kb"] for r in rs),
        "parts": {f: {k: r[k] for k in ("wall", "user", "sys", "maxrss_kb", "tree_rss_kb", "rc")}
                  for f, r in parts.items()},
        "stderr": " | ".join(r["stderr"] for r in rs if r["stderr"]),
    }


def pdf_pages(path: Path) -> int | None:
    """Page count of a PDF (untimed, in this process), None if unreadable."""
    try:
        from pypdf import PdfReader
        return len(PdfReader(str(path)).pages)
    except Exception:  # noqa: BLE001 - a bench figure, not a check
        return None


# ----------------------------------------------------------------- preparing

def env_base() -> dict:
    env = dict(os.environ)
    env["SOURCE_DATE_EPOCH"] = EPOCH
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT / "src")
    return env


def pandoc_path() -> str:
    return subprocess.check_output([str(PY), "-c", "import pypandoc; print(pypandoc.get_pandoc_path())"],
                                   text=True).strip()


def publish_has_verbose() -> bool:
    """Whether `publish build` takes --verbose (the flag that prints the PDF writer's layout line)."""
    out = subprocess.run([str(VENV_BIN / "publish"), "build", "--help"], env=env_base(),
                         capture_output=True, text=True).stdout
    return "--verbose" in out


def prepare(doc: str) -> dict:
    """Generate the long document, the floor HTML and the untimed page-make probes."""
    src = DOCS[doc]
    if doc == "long" and not src.is_file():
        subprocess.run([str(PY), str(HERE / "make_long.py")], check=True)
    floor = WORK / "floor" / doc
    stamp = code_stamp(src)
    probe_file = floor / f"{src.stem}.probe.json"
    try:
        probe = json.loads(probe_file.read_text())
    except (OSError, ValueError):
        probe = {}
    if probe.get("code_stamp") != stamp or not (floor / f"{src.stem}.html").is_file():
        print(f"[prepare] probing the PDF writer on {doc} (dumps the HTML of its final layout)", flush=True)
        shutil.rmtree(floor, ignore_errors=True)
        done = subprocess.run([str(PY), str(HERE / "pdf_probe.py"), str(src), str(floor)], env=env_base())
        if done.returncode:
            # the writer failed (e.g. notes it cannot place): floor on the HTML of its first layout
            print(f"[prepare] the PDF writer failed on {doc}; the floor uses its first layout's HTML",
                  flush=True)
            again = subprocess.run([str(PY), str(HERE / "pdf_probe.py"), str(src), str(floor), "--html-only"],
                                   env=env_base())
            if again.returncode:
                raise SystemExit(f"bench/pdf_probe.py cannot dump the writer's HTML for {doc} "
                                 "(has the PDF writer's interface changed?): no floor")
        probe = json.loads(probe_file.read_text())
        probe["code_stamp"] = stamp
        probe["writer_failed"] = bool(done.returncode)
        probe_file.write_text(json.dumps(probe, indent=1))
    if "floor_pages" not in probe:
        print(f"[prepare] counting WeasyPrint's page makes for the floor of {doc} (untimed)", flush=True)
        out = subprocess.run([str(PY), str(HERE / "floor_pages.py"), str(floor / f"{src.stem}.html"),
                              "--css", str(floor / "print.css"), "--css", str(floor / "paper.css"),
                              "--base-url", probe["base_url"]],
                             env=env_base(), capture_output=True, text=True)
        probe["floor_pages"] = json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr[-500:]}
        probe_file.write_text(json.dumps(probe, indent=1))
    return {"src": src, "floor": floor, "probe": probe}


def code_stamp(src: Path) -> str:
    """Hash of what the floor HTML depends on: the package code, templates, styles and the source files."""
    import hashlib
    h = hashlib.sha256()
    files = sorted((ROOT / "src" / "publish").rglob("*.py")) + sorted((ROOT / "src" / "publish" / "templates").rglob("*"))
    files += sorted((ROOT / "src" / "publish" / "styles").rglob("*")) + sorted(src.parent.glob("*"))
    for f in files:
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def copy_project(src: Path, dest: Path, timeout: float | None = None) -> Path:
    """A fresh copy of the source's folder (source + side files) under dest; returns the copied source.

    With a timeout, the copy gets a publish.toml setting it: `publish watch` has no --timeout and
    reads the project's (a 50x build on a loaded machine can exceed the default 300 s)."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src.parent, dest / "project", ignore=shutil.ignore_patterns(".publish-cache", "out"))
    if timeout:
        (dest / "project" / "publish.toml").write_text(f"timeout = {timeout:g}\n", encoding="utf-8")
    return dest / "project" / src.name


def edit_target(text: str) -> int:
    """Line index of the paragraph to edit: the middle one of the body's plain paragraphs (one line,
    starts with a letter or a quote, at least 200 characters, blank lines around, outside blocks)."""
    lines = text.split("\n")
    end_fm = lines.index("---", 1) if lines and lines[0] == "---" else -1
    depth, fenced, eligible = 0, False, []
    for i, line in enumerate(lines):
        if i <= end_fm:
            continue
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith(":::"):
            depth += 1 if line.strip() != ":::" else -1
        elif (not fenced and depth == 0 and len(line) >= 200 and (line[0].isalpha() or line[0] in "\"'")
              and (i == 0 or not lines[i - 1].strip()) and (i + 1 == len(lines) or not lines[i + 1].strip())):
            eligible.append(i)
    if not eligible:
        raise SystemExit("no plain paragraph to edit")
    return eligible[len(eligible) // 2]


def edited(text: str, k: int) -> str:
    """The source with one paragraph's text changed (a short sentence appended, distinct per k)."""
    lines = text.split("\n")
    i = edit_target(text)
    lines[i] = lines[i].rstrip() + f" Edit number {k}."
    return "\n".join(lines)


# ----------------------------------------------------------------- the cases

def publish_cmd(src: Path, out: Path, *extra: str) -> list[str]:
    return [str(VENV_BIN / "publish"), "build", str(src), "--out", str(out), *extra]


def run_pdf(doc: str, p: dict, ctx: dict) -> dict:
    out = WORK / "runs" / doc / "pdf"
    shutil.rmtree(out, ignore_errors=True)
    r = timed(publish_cmd(p["src"], out, "--format", "pdf", "--no-cache", *ctx["talk"], *ctx["timeout"]),
              env=env_base(), cwd=ROOT, interval=ctx["interval"])
    r["pdf_pages"] = pdf_pages(out / f"{p['src'].stem}.pdf")
    return r


def run_edit(doc: str, p: dict, ctx: dict) -> dict:
    """One-paragraph edit, rebuilt with the cache warm from the previous (unedited) build."""
    dest = WORK / "runs" / doc / "edit"
    src = copy_project(p["src"], dest, ctx["timeout_s"])
    out = dest / "out"
    base = timed(publish_cmd(src, out, "--format", "pdf", "-q", *ctx["timeout"]),
                 env=env_base(), cwd=ROOT, interval=ctx["interval"])
    if base["rc"]:
        base["skipped"] = "the unedited build failed"
        return base
    pdf = out / f"{src.stem}.pdf"
    before = pdf.stat().st_mtime_ns
    src.write_text(edited(src.read_text(encoding="utf-8"), 1), encoding="utf-8")
    r = timed(publish_cmd(src, out, "--format", "pdf", *ctx["talk"], *ctx["timeout"]),
              env=env_base(), cwd=ROOT, interval=ctx["interval"])
    r["rewrote_pdf"] = pdf.is_file() and pdf.stat().st_mtime_ns != before
    if r["rc"] == 0 and not r["rewrote_pdf"]:
        r["rc"], r["stderr"] = -100, "the edited build did not rewrite the PDF"
    r["pdf_pages"] = pdf_pages(pdf)
    r["base_wall"] = base["wall"]
    r["edited_line"] = edit_target(p["src"].read_text(encoding="utf-8")) + 1
    return r


def fresh_out(doc: str, case: str) -> Path:
    """An empty output folder for one run of a case."""
    out = WORK / "runs" / doc / case
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


def run_floor(doc: str, p: dict, ctx: dict) -> dict:
    out = fresh_out(doc, "floor")
    f = p["floor"]
    html = f / f"{p['src'].stem}.html"
    r = timed([str(VENV_BIN / "weasyprint"), str(html), str(out / f"{p['src'].stem}.pdf"),
               "-s", str(f / "print.css"), "-s", str(f / "paper.css"),
               "-u", p["probe"]["base_url"], "--pdf-variant", "pdf/ua-1", "-q"],
              env=env_base(), cwd=ROOT, interval=ctx["interval"])
    r["html_sha256"] = __import__("hashlib").sha256(html.read_bytes()).hexdigest()[:16]
    r["pdf_pages"] = pdf_pages(out / f"{p['src'].stem}.pdf")
    fp = p["probe"].get("floor_pages") or {}
    if "page_makes" in fp:  # from the untimed in-process probe (bench/floor_pages.py)
        r["layout_stats"] = {"layouts": 1, "page_makes": fp["page_makes"], "pages": fp["pages"],
                             "source": "floor_pages.py"}
    return r


def run_pandoc_weasyprint(doc: str, p: dict, ctx: dict) -> dict:
    out = fresh_out(doc, "pandoc-weasyprint")
    src = p["src"]
    r = timed([ctx["pandoc"], src.name, "-o", str(out / f"{src.stem}.pdf"), "--pdf-engine=weasyprint"],
              cwd=src.parent, env=env_base(), interval=ctx["interval"])
    r["pdf_pages"] = pdf_pages(out / f"{src.stem}.pdf")
    return r


def run_pandoc_typst(doc: str, p: dict, ctx: dict) -> dict:
    out = fresh_out(doc, "pandoc-typst")
    src = p["src"]
    typ, pdf = out / f"{src.stem}.typ", out / f"{src.stem}.pdf"
    parts = {"pandoc": timed([ctx["pandoc"], src.name, "-s", "-t", "typst", *PANDOC_TYPST_EXTRA, "-o", str(typ)],
                             cwd=src.parent, env=env_base(), interval=ctx["interval"])}
    if parts["pandoc"]["rc"] == 0:
        parts["typst"] = timed([str(PY), "-c", TYPST_COMPILE, str(typ), str(pdf), EPOCH],
                               cwd=out, env=env_base(), interval=ctx["interval"])
    r = combine(parts)
    r["pdf_pages"] = pdf_pages(pdf)
    return r


def run_pandoc3(doc: str, p: dict, ctx: dict) -> dict:
    out = fresh_out(doc, "pandoc3")
    src = p["src"]
    parts = {}
    for fmt, extra in (("docx", []), ("epub", []), ("pdf", ["--pdf-engine=weasyprint"])):
        parts[fmt] = timed([ctx["pandoc"], src.name, "-o", str(out / f"{src.stem}.{fmt}"), *extra],
                           cwd=src.parent, env=env_base(), interval=ctx["interval"])
    return combine(parts)


def run_full(doc: str, p: dict, ctx: dict) -> tuple[dict, dict]:
    """The issue-13 case: every format cold, then a no-change rebuild that must rewrite nothing."""
    out = WORK / "runs" / doc / "full"
    shutil.rmtree(out, ignore_errors=True)
    cold = timed(publish_cmd(p["src"], out, "--no-cache", "-q", *ctx["timeout"]),
                 env=env_base(), cwd=ROOT, interval=ctx["interval"])
    outputs = sorted(out.glob(f"{p['src'].stem}.*"))
    if cold["rc"] != 0:  # nothing to rebuild from: a second full (failing) build would prove nothing
        return cold, {"cmd": [], "rc": None, "wall": float("nan"), "user": float("nan"), "sys": float("nan"),
                      "maxrss_kb": 0, "tree_rss_kb": 0, "tree_pss_kb": 0, "skipped": "cold build failed"}
    before = {q.name: q.stat().st_mtime_ns for q in outputs}
    warm = timed(publish_cmd(p["src"], out, "-q"), env=env_base(), cwd=ROOT, interval=0.02)
    after = {q.name: q.stat().st_mtime_ns for q in sorted(out.glob(f"{p['src'].stem}.*"))}
    warm["rewrote_nothing"] = before == after and len(before) >= 3
    cold["outputs"] = {q.name: q.stat().st_size for q in outputs}
    return cold, warm


def _sig(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def run_watch(doc: str, p: dict, ctx: dict) -> tuple[list[dict], dict]:
    """`publish watch --format pdf` on a copy of the project: first PDF, then ctx['saves'] edits.

    Returns one record per save (wall: write -> PDF replaced; CPU: the watch tree's CPU over the
    save and the settle time after it; memory: the whole session's peaks) and the session's record.
    """
    dest = WORK / "runs" / doc / "watch"
    src = copy_project(p["src"], dest, ctx["timeout_s"])
    out = dest / "out"
    pdf = out / f"{src.stem}.pdf"
    original = src.read_text(encoding="utf-8")
    cmd = [str(VENV_BIN / "publish"), "watch", str(src), "--out", str(out), "--format", "pdf"]
    lines: list[tuple[float, str]] = []
    t_start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env_base(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)

    def reader() -> None:
        for raw in proc.stdout:
            lines.append((time.perf_counter(), raw.decode(errors="replace").rstrip()))

    rt = threading.Thread(target=reader, daemon=True)
    rt.start()
    sampler = TreeSampler(proc.pid, ctx["interval"])
    sampler.start()
    session: dict = {"cmd": cmd, "rc": None, "first_pdf_s": None, "saves": []}
    saves: list[dict] = []

    def wait_for(cond, limit: float) -> bool:
        end = time.perf_counter() + limit
        while time.perf_counter() < end:
            if cond():
                return True
            if proc.poll() is not None:
                return False
            time.sleep(0.005)
        return False

    try:
        if not wait_for(lambda: _sig(pdf) is not None, ctx["watch_timeout"]):
            session["error"] = "no first PDF" + (f" (watch exited {proc.returncode})" if proc.poll() is not None else "")
            return saves, session
        session["first_pdf_s"] = time.perf_counter() - t_start
        # the first build is done when the watch says it is watching (or after the settle time)
        wait_for(lambda: any("watching" in l for _, l in lines), ctx["settle"] * 4)
        time.sleep(ctx["settle"])
        for k in range(1, ctx["saves"] + 1):
            before = _sig(pdf)
            cpu0 = tree_cpu_s(proc.pid)
            n_lines = len(lines)
            t0 = time.perf_counter()
            src.write_text(edited(original, k), encoding="utf-8")
            ok = wait_for(lambda: (s := _sig(pdf)) is not None and s != before, ctx["watch_timeout"])
            wall = time.perf_counter() - t0
            time.sleep(ctx["settle"])  # let the build finish (cache, lock) before the next save
            cpu = tree_cpu_s(proc.pid) - cpu0
            said = "\n".join(l for _, l in lines[n_lines:])
            # the watch's own report of the build ("<pdf>\t<bytes>\t<seconds>s\twritten"), if it prints one
            own = re.findall(r"\t([\d.]+)s\twritten", said)
            saves.append({"rc": 0 if ok else 1, "wall": wall if ok else float("nan"), "user": cpu, "sys": 0.0,
                          "save": k, "layout_stats": parse_layouts(said),
                          "builds": said.count("change detected"), "watch_reported_s": float(own[-1]) if own else None,
                          "stderr": "" if ok else f"PDF not replaced within {ctx['watch_timeout']}s: {said[-500:]}"})
            if not ok:
                break
    finally:
        try:
            os.killpg(proc.pid, signal.SIGINT)  # the watch's own process group (start_new_session)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        sampler.stop.set()
        sampler.join()
        rt.join(timeout=5)
        session["rc"] = proc.returncode
        session["output_tail"] = "\n".join(l for _, l in lines)[-1500:]
        session["tree_rss_kb"], session["tree_pss_kb"] = sampler.peak_rss_sum, sampler.peak_pss_sum
        for s in saves:  # memory: the session's peaks (the tree's processes live across saves)
            s.update(maxrss_kb=0, tree_rss_kb=sampler.peak_rss_sum, tree_pss_kb=sampler.peak_pss_sum)
        session["saves"] = [s["wall"] for s in saves]
    return saves, session


def run_startup(n: int) -> list[dict]:
    """`python -c "import publish.writers.pdf, weasyprint"`, n fresh interpreters."""
    return [timed([str(PY), "-c", "import publish.writers.pdf, weasyprint"], env=env_base(), cwd=ROOT,
                  interval=0.05) for _ in range(n)]


RUNNERS = {"pdf": run_pdf, "edit": run_edit, "floor": run_floor, "pandoc-weasyprint": run_pandoc_weasyprint,
           "pandoc-typst": run_pandoc_typst, "pandoc3": run_pandoc3}


# ----------------------------------------------------------------- main

def med(xs: list[float]) -> float:
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def machine(pandoc: str) -> dict:
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem = next(l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    ver = lambda code: subprocess.run([str(PY), "-c", code], text=True, capture_output=True).stdout.strip() or "n/a"
    git = lambda *a: subprocess.check_output(["git", "-C", str(ROOT), *a], text=True).strip()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": int(subprocess.check_output(["nproc"], text=True).strip()),
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(int(mem) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "load_avg_at_start": os.getloadavg(),
        "python": ver("import sys; print(sys.version.split()[0])"),
        "weasyprint": ver("import weasyprint; print(weasyprint.__version__)"),
        "typst": ver("from importlib.metadata import version; print(version('typst'))"),
        "pandoc": subprocess.check_output([pandoc, "--version"], text=True).splitlines()[0],
        "publish_commit": git("rev-parse", "--short", "HEAD"),
        "publish_branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        # uncommitted changes to the code measured: the commit alone does not describe it
        "src_dirty": bool(git("status", "--porcelain", "--", "src")),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--docs", default="article,long", help="comma list of: article, long")
    ap.add_argument("--cases", default=",".join(DEFAULT_CASES),
                    help=f"comma list of: {', '.join(CASES)} (default: all but full)")
    ap.add_argument("--saves", type=int, default=3, help="edits per watch session (default 3)")
    ap.add_argument("--long-saves", type=int, default=2, help="edits per watch session on the 50x document")
    ap.add_argument("--startup-runs", type=int, default=5, help="start-up probes per round (default 5)")
    ap.add_argument("--json", type=Path, default=WORK / "results.json")
    ap.add_argument("--publish-timeout", type=float,
                    help="pass --timeout to publish build (default: the project's own)")
    ap.add_argument("--watch-timeout", type=float,
                    help="seconds to wait for a watch's PDF (default 120 article, 900 50x)")
    ap.add_argument("--retry-failed", action="store_true",
                    help="repeat a publish case that failed in every round (default: a failed "
                         "build, e.g. a time-out, is recorded once and not repeated)")
    ap.add_argument("--merge", type=Path, nargs="+",
                    help="no runs: recompute the summary of these result files into --json")
    a = ap.parse_args(argv)
    if a.merge:
        result = merge(a.merge)
        report(result)
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(result, indent=1, default=str))
        return 0
    docs = [d for d in a.docs.split(",") if d]
    cases = [c for c in a.cases.split(",") if c]
    for name, given, known in (("doc", docs, DOCS), ("case", cases, CASES)):
        if unknown := [x for x in given if x not in known]:
            ap.error(f"unknown {name}(s): {', '.join(unknown)}")
    WORK.mkdir(exist_ok=True)
    pandoc = pandoc_path()
    info = machine(pandoc)
    verbose = publish_has_verbose()
    info["publish_verbose"] = verbose
    if not verbose:
        print("[note] `publish build` has no --verbose yet: layouts / page makes per build are n/a "
              "(the writer probe's in-process counts are shown instead)", flush=True)
    prepared = {d: prepare(d) for d in docs} if set(cases) - {"startup"} else {}
    raw: dict[str, dict[str, list]] = {d: {c: [] for c in cases if c in DOC_CASES} for d in docs}
    for d in docs:
        if "full" in cases:
            raw[d]["rebuild"] = []
        if "watch" in cases:
            raw[d]["watch_session"] = []
    startup: list[dict] = []
    loads: list[dict] = []

    def result_so_far() -> dict:
        return {"machine": info, "runs": a.runs, "cases": cases, "load_avg_1min": loads,
                "probe": {d: prepared[d]["probe"] for d in docs if d in prepared}, "raw": raw,
                "startup": startup}

    def save_partial() -> None:  # after every case: an interrupted run keeps what it measured
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(result_so_far(), indent=1, default=str))
    publish_cases = {"pdf", "edit", "full", "watch"}
    for i in range(a.runs):
        if "startup" in cases:
            loads.append({"round": i + 1, "doc": None, "case": "startup", "load1": os.getloadavg()[0]})
            startup.extend(run_startup(a.startup_runs))
            save_partial()
            print(f"[run {i + 1}/{a.runs}] start-up (import publish.writers.pdf, weasyprint): median "
                  f"{med([r['wall'] for r in startup[-a.startup_runs:]]):.3f}s", flush=True)
        for d in docs:
            p = prepared[d]
            loads.append({"round": i + 1, "doc": d, "load1": os.getloadavg()[0]})
            ctx = {"interval": 0.1 if d == "article" else 0.5, "pandoc": pandoc,
                   "talk": ["--verbose"] if verbose else ["-q"],
                   "timeout": ["--timeout", f"{a.publish_timeout:g}"] if a.publish_timeout else [],
                   "timeout_s": a.publish_timeout,
                   "saves": a.saves if d == "article" else a.long_saves,
                   "settle": 1.0 if d == "article" else 3.0,
                   "watch_timeout": a.watch_timeout or (120.0 if d == "article" else 900.0)}
            said = []
            for c in cases:
                if c == "startup":
                    continue
                r = raw[d]
                if c in publish_cases and not a.retry_failed and any(x["rc"] for x in r[c]):
                    said.append(f"{c} (failed before: not repeated)")
                    continue
                if c == "full":
                    cold, warm = run_full(d, p, ctx)
                    r["full"].append(cold)
                    r["rebuild"].append(warm)
                    said.append(f"full {cold['wall']:.2f}s (rebuild {warm['wall']:.3f}s)")
                    new = [("full", cold), ("rebuild", warm)]
                elif c == "watch":
                    saves, session = run_watch(d, p, ctx)
                    r["watch"].extend(saves)
                    r["watch_session"].append(session)
                    if not saves:  # no first PDF: one failed record, so the case shows as failed
                        r["watch"].append({"rc": 1, "wall": float("nan"), "user": float("nan"), "sys": 0.0,
                                           "maxrss_kb": 0, "tree_rss_kb": session.get("tree_rss_kb", 0),
                                           "tree_pss_kb": session.get("tree_pss_kb", 0),
                                           "stderr": session.get("error", "") + " " + session.get("output_tail", "")[-500:]})
                    first = session["first_pdf_s"]
                    said.append(f"watch first {first:.2f}s saves " + "/".join(f"{s['wall']:.2f}" for s in saves)
                                if first is not None else "watch FAILED")
                    new = [("watch", x) for x in (saves or r["watch"][-1:])]
                else:
                    res = RUNNERS[c](d, p, ctx)
                    r[c].append(res)
                    said.append(f"{c} {res['wall']:.2f}s")
                    new = [(c, res)]
                save_partial()
                for name, res in new:
                    if res["rc"]:
                        print(f"   {d} {name} FAILED rc={res['rc']}: {res.get('stderr', '')[-500:]}", flush=True)
            print(f"[run {i + 1}/{a.runs}] {d:7} load {loads[-1]['load1']:.2f}  " + "  ".join(said), flush=True)

    result = result_so_far()
    report(result)
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(result, indent=1, default=str))
    print(f"\nraw results: {a.json}\nmarkdown:    {PY} {HERE / 'table.py'} {a.json}")
    return 0


def _stat(runs: list[dict], key: str) -> int | None:
    vals = [r["layout_stats"][key] for r in runs if r.get("layout_stats")]
    return int(statistics.median(vals)) if vals else None


def summarize(result: dict) -> dict:
    raw = result["raw"]
    summary: dict[str, dict] = {}
    for d in [d for d in ("article", "long") if d in raw]:
        s = summary[d] = {}
        for case, runs in raw[d].items():
            if case == "watch_session":
                continue
            ok = [r for r in runs if r["rc"] == 0]
            ran = [r for r in runs if r["rc"] is not None]
            s[case] = {
                "n": len(ok), "failed": sum(1 for r in runs if r["rc"]),
                "wall_median": med([r["wall"] for r in ok]),
                "wall_min": min((r["wall"] for r in ok), default=float("nan")),
                "wall_max": max((r["wall"] for r in ok), default=float("nan")),
                "cpu_median": med([r["user"] + r["sys"] for r in ok]),
                # memory peaks count failed (e.g. timed-out) runs too: the peak was reached
                "maxrss_mb_max": max((r["maxrss_kb"] for r in ran), default=0) / 1024,
                "tree_rss_mb_max": max((r["tree_rss_kb"] for r in ran), default=0) / 1024,
                "tree_pss_mb_max": max((r["tree_pss_kb"] for r in ran), default=0) / 1024,
                "layouts": _stat(ok, "layouts"), "page_makes": _stat(ok, "page_makes"),
                "pages": _stat(ok, "pages"),
                "pdf_pages": (int(statistics.median(pp)) if (pp := [r["pdf_pages"] for r in ok if r.get("pdf_pages")])
                              else None),
            }
        if "watch_session" in raw[d]:
            firsts = [x["first_pdf_s"] for x in raw[d]["watch_session"] if x.get("first_pdf_s") is not None]
            s["watch"]["first_pdf_median"] = med(firsts)
        probe = result.get("probe", {}).get(d, {})
        s["writer_probe"] = {"layouts": probe.get("layout_count"), "page_makes": probe.get("page_makes"),
                             "pages": probe.get("pages")}
    st = result.get("startup") or []
    summary["startup"] = {"n": len(st), "wall_median": med([r["wall"] for r in st if r["rc"] == 0]),
                          "cpu_median": med([r["user"] + r["sys"] for r in st if r["rc"] == 0]),
                          "maxrss_mb_max": max((r["maxrss_kb"] for r in st), default=0) / 1024}
    return summary


def verdicts_of(result: dict, summary: dict) -> list[dict]:
    out = []

    def verdict(name: str, value: float, limit: float, unit: str = "x", strict: bool = False,
                na_ok: bool = False, note: str = "") -> None:
        # NaN: a case failed or was not run. A time target is then a MISS if its publish case failed,
        # n/a if it was not measured at all (na_ok).
        if limit != limit:  # the limit itself was not measured (e.g. no start-up case)
            status = "n/a"
        elif value != value:
            status = "n/a" if na_ok else "MISS"
        else:
            status = "PASS" if (value < limit if strict else value <= limit) else "MISS"
        out.append({"target": name, "measured": value, "limit": limit, "unit": unit,
                    "op": "<" if strict else "≤", "pass": status == "PASS", "status": status, "note": note})

    def get(d: str, case: str, key: str) -> float:
        return summary.get(d, {}).get(case, {}).get(key, float("nan"))

    def ran(d: str, *cases: str) -> bool:
        return all(c in summary.get(d, {}) for c in cases)

    for d, limit, strict, label in (("article", 1.1, False, ""), ("long", 1.15, False, ""),
                                    ("article", 1.0, True, " (stretch)")):
        if ran(d, "pdf", "floor"):
            na = summary[d]["pdf"]["failed"] == 0 and summary[d]["pdf"]["n"] == 0
            verdict(f"{d}: publish PDF cold / WeasyPrint floor{label}",
                    get(d, "pdf", "wall_median") / get(d, "floor", "wall_median"), limit, strict=strict, na_ok=na)
            if not label:
                verdict(f"{d}: publish PDF cold / floor, CPU seconds (cross-check)",
                        get(d, "pdf", "cpu_median") / get(d, "floor", "cpu_median"), limit, strict=strict, na_ok=na)
    start = summary.get("startup", {}).get("wall_median", float("nan"))
    for d in ("article", "long"):
        if ran(d, "watch", "pdf"):
            cold, w = get(d, "pdf", "wall_median"), get(d, "watch", "wall_median")
            verdict(f"{d}: watch save-to-PDF ≤ cold PDF build − start-up", w, cold - start, "s",
                    note=f"cold {cold:.3f}s − watch {w:.3f}s = {cold - w:.3f}s saved; start-up "
                         + ("not measured (--cases startup)" if start != start else f"{start:.3f}s"))
            start_cpu = summary.get("startup", {}).get("cpu_median", float("nan"))
            cold_cpu, w_cpu = get(d, "pdf", "cpu_median"), get(d, "watch", "cpu_median")
            verdict(f"{d}: watch save-to-PDF ≤ cold − start-up, CPU seconds (cross-check)", w_cpu,
                    cold_cpu - start_cpu, " CPU-s",
                    note=f"cold {cold_cpu:.2f} − watch {w_cpu:.2f} = {cold_cpu - w_cpu:.2f} CPU-s saved; start-up "
                         + ("not measured" if start_cpu != start_cpu else f"{start_cpu:.2f} CPU-s"))
    if ran("long", "pdf"):
        runs = [r for r in result["raw"]["long"]["pdf"] if r["rc"] is not None]
        peak = max([r["maxrss_kb"] for r in runs] + [r["tree_pss_kb"] for r in runs]) / 1024 if runs else float("nan")
        verdict("long: publish PDF cold peak RSS (max of time -v, tree PSS)", peak, 600, "MB")
    if ran("article", "full", "pandoc3"):
        verdict("article: publish full (4 formats) / pandoc ×3 (issue 13)",
                get("article", "full", "wall_median") / get("article", "pandoc3", "wall_median"), 0.8)
    for d in ("article", "long"):
        if ran(d, "rebuild"):
            verdict(f"{d}: no-change rebuild (issue 13)", get(d, "rebuild", "wall_median"), 0.3, "s", na_ok=True)
    return out


def report(result: dict) -> None:
    """Medians, peaks and verdicts from raw results; adds them to ``result`` and prints the markdown."""
    summary = summarize(result)
    result["summary"], result["verdicts"] = summary, verdicts_of(result, summary)
    sys.path.insert(0, str(HERE))
    from table import markdown
    print()
    print(markdown(result))


def merge(paths: list[Path]) -> dict:
    """Combine result files of separate runs (e.g. --docs article, then --docs long)."""
    out: dict = {"machine": None, "runs": {}, "cases": [], "load_avg_1min": [], "probe": {}, "raw": {},
                 "startup": []}
    for p in paths:
        r = json.loads(p.read_text())
        out["machine"] = out["machine"] or r["machine"]
        out["startup"].extend(r.get("startup", []))
        out["cases"] = sorted(set(out["cases"]) | set(r.get("cases", [])))
        loads = r["load_avg_1min"]
        out["load_avg_1min"].extend(loads.values() if isinstance(loads, dict) else loads)
        for d in r["raw"]:
            out["raw"][d] = r["raw"][d]
            out["probe"][d] = r["probe"].get(d, {})
            out["runs"][d] = r["runs"]
    return out


if __name__ == "__main__":
    sys.exit(main())
