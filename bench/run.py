#!/usr/bin/env python3
"""Benchmark `publish build` against pandoc and the bare WeasyPrint floor.

For each document (source/article.md and the 50x document from make_long.py),
runs RUNS interleaved rounds of:

  publish   `publish build SRC --out DIR --no-cache -q` (cold: a fresh process)
  rebuild   the same without --no-cache right after it (nothing changed: must be a no-op)
  pandoc    three pandoc invocations from the same article.md: docx, epub,
            pdf (--pdf-engine=weasyprint); the time is their sum
  floor     the bare `weasyprint` command on the exact HTML the PDF writer laid out
            last (dumped by bench/pdf_probe.py), with the same stylesheets and
            --pdf-variant pdf/ua-1 as the writer

Every command runs under `/usr/bin/time -v`. Its "Maximum resident set size" is
the kernel's ru_maxrss of the waited child, which Linux folds in from reaped
descendants as a *maximum*: it is the peak RSS of the single largest process in
the tree, not the sum. So a sampler also polls the whole process tree in /proc
every SAMPLE seconds and records the peak of the summed RSS and the summed PSS
(proportional set size: shared copy-on-write pages of forked workers counted once).

All SOURCE_DATE_EPOCH-stamped; outputs and raw results go to bench/work/.
Usage: python bench/run.py [--runs 5] [--docs article,long] [--json bench/work/results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
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


# ----------------------------------------------------------------- one command

def timed(cmd: list[str], *, cwd: Path | None = None, env: dict | None = None,
          interval: float = 0.1) -> dict:
    """Run cmd under /usr/bin/time -v; wall time, exit code, maxrss, tree RSS/PSS peaks."""
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
        "stderr": err.decode(errors="replace")[-2000:] if proc.returncode else "",
    }


# ----------------------------------------------------------------- the cases

def env_base() -> dict:
    env = dict(os.environ)
    env["SOURCE_DATE_EPOCH"] = EPOCH
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT / "src")
    return env


def pandoc_path() -> str:
    return subprocess.check_output([str(PY), "-c", "import pypandoc; print(pypandoc.get_pandoc_path())"],
                                   text=True).strip()


def prepare(doc: str) -> dict:
    """Generate the long document and the floor HTML (untimed)."""
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
            subprocess.run([str(PY), str(HERE / "pdf_probe.py"), str(src), str(floor), "--html-only"],
                           env=env_base(), check=True)
        probe = json.loads(probe_file.read_text())
        probe["code_stamp"] = stamp
        probe["writer_failed"] = bool(done.returncode)
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


def run_publish(doc: str, p: dict, interval: float, timeout: float | None) -> tuple[dict, dict]:
    out = WORK / "runs" / doc / "publish"
    shutil.rmtree(out, ignore_errors=True)
    extra = ["--timeout", f"{timeout:g}"] if timeout else []
    cold = timed([str(VENV_BIN / "publish"), "build", str(p["src"]), "--out", str(out), "--no-cache", "-q", *extra],
                 env=env_base(), cwd=ROOT, interval=interval)
    outputs = sorted(out.glob(f"{p['src'].stem}.*"))
    if cold["rc"] != 0:  # nothing to rebuild from: a second full (failing) build would prove nothing
        return cold, {"cmd": [], "rc": None, "wall": float("nan"), "user": float("nan"), "sys": float("nan"),
                      "maxrss_kb": 0, "tree_rss_kb": 0, "tree_pss_kb": 0, "skipped": "cold build failed"}
    before = {q.name: q.stat().st_mtime_ns for q in outputs}
    warm = timed([str(VENV_BIN / "publish"), "build", str(p["src"]), "--out", str(out), "-q"],
                 env=env_base(), cwd=ROOT, interval=0.02)
    after = {q.name: q.stat().st_mtime_ns for q in sorted(out.glob(f"{p['src'].stem}.*"))}
    warm["rewrote_nothing"] = before == after and len(before) == 3
    cold["outputs"] = {q.name: q.stat().st_size for q in outputs}
    return cold, warm


def run_pandoc(doc: str, p: dict, pandoc: str, interval: float) -> dict:
    out = WORK / "runs" / doc / "pandoc"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    src = p["src"]
    parts = {}
    for fmt, extra in (("docx", []), ("epub", []), ("pdf", ["--pdf-engine=weasyprint"])):
        parts[fmt] = timed([pandoc, src.name, "-o", str(out / f"{src.stem}.{fmt}"), *extra],
                           cwd=src.parent, env=env_base(), interval=interval)
    return {
        "rc": max(r["rc"] for r in parts.values()),
        "wall": sum(r["wall"] for r in parts.values()),
        "user": sum(r["user"] for r in parts.values()),
        "sys": sum(r["sys"] for r in parts.values()),
        "maxrss_kb": max(r["maxrss_kb"] for r in parts.values()),
        "tree_rss_kb": max(r["tree_rss_kb"] for r in parts.values()),
        "tree_pss_kb": max(r["tree_pss_kb"] for r in parts.values()),
        "parts": {f: {k: r[k] for k in ("wall", "maxrss_kb", "tree_rss_kb", "rc")} for f, r in parts.items()},
    }


def run_floor(doc: str, p: dict, interval: float) -> dict:
    out = WORK / "runs" / doc / "floor"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    f = p["floor"]
    html = f / f"{p['src'].stem}.html"
    r = timed([str(VENV_BIN / "weasyprint"), str(f / f"{p['src'].stem}.html"), str(out / f"{p['src'].stem}.pdf"),
                  "-s", str(f / "print.css"), "-s", str(f / "paper.css"),
                  "-u", p["probe"]["base_url"], "--pdf-variant", "pdf/ua-1", "-q"],
                 env=env_base(), cwd=ROOT, interval=interval)
    r["html_sha256"] = __import__("hashlib").sha256(html.read_bytes()).hexdigest()[:16]
    return r


# ----------------------------------------------------------------- main

def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def machine() -> dict:
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem = next(l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    ver = lambda code: subprocess.check_output([str(PY), "-c", code], text=True).strip()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(int(mem) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": ver("import sys; print(sys.version.split()[0])"),
        "weasyprint": ver("import weasyprint; print(weasyprint.__version__)"),
        "pandoc": subprocess.check_output([pandoc_path(), "--version"], text=True).splitlines()[0],
        "publish_commit": subprocess.check_output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                                  text=True).strip(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--docs", default="article,long")
    ap.add_argument("--json", type=Path, default=WORK / "results.json")
    ap.add_argument("--publish-timeout", type=float,
                    help="pass --timeout to publish build (default: the project's own)")
    ap.add_argument("--retry-failed", action="store_true",
                    help="repeat a publish build that failed in every round (default: a failed "
                         "build, e.g. a time-out, is recorded once and not repeated)")
    ap.add_argument("--merge", type=Path, nargs="+",
                    help="no runs: recompute the summary of these result files into --json")
    a = ap.parse_args(argv)
    if a.merge:
        result = merge(a.merge)
        report(result)
        a.json.write_text(json.dumps(result, indent=1, default=str))
        return 0
    docs = a.docs.split(",")
    WORK.mkdir(exist_ok=True)
    pandoc = pandoc_path()
    info = machine()
    prepared = {d: prepare(d) for d in docs}
    raw: dict[str, dict[str, list]] = {d: {"publish": [], "rebuild": [], "pandoc": [], "floor": []} for d in docs}
    loads = []
    for i in range(a.runs):
        for d in docs:
            p = prepared[d]
            interval = 0.1 if d == "article" else 0.5
            if a.retry_failed or not any(r["rc"] for r in raw[d]["publish"]):
                cold, warm = run_publish(d, p, interval, a.publish_timeout)
                raw[d]["publish"].append(cold)
                raw[d]["rebuild"].append(warm)
            else:
                cold, warm = raw[d]["publish"][-1], raw[d]["rebuild"][-1]
                print(f"   (publish build of {d} failed before: not repeated)", flush=True)
            raw[d]["pandoc"].append(run_pandoc(d, p, pandoc, interval))
            raw[d]["floor"].append(run_floor(d, p, interval))
            loads.append(os.getloadavg()[0])
            r = raw[d]
            print(f"[run {i + 1}/{a.runs}] {d:7} publish {cold['wall']:7.2f}s rc={cold['rc']} "
                  f"(rebuild {warm['wall']:.3f}s) pandoc {r['pandoc'][-1]['wall']:7.2f}s "
                  f"floor {r['floor'][-1]['wall']:7.2f}s  load {loads[-1]:.2f}", flush=True)
            for case in ("publish", "rebuild", "pandoc", "floor"):
                if r[case][-1]["rc"]:
                    print(f"   {case} FAILED rc={r[case][-1]['rc']}: {r[case][-1].get('stderr', '')[-500:]}",
                          flush=True)

    result = {"machine": info, "runs": a.runs, "load_avg_1min": loads,
              "probe": {d: prepared[d]["probe"] for d in docs}, "raw": raw}
    report(result)
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(result, indent=1, default=str))
    return 0


def report(result: dict) -> None:
    """Medians, RSS peaks and target verdicts from raw results; adds them to ``result`` and prints."""
    raw = result["raw"]
    docs = [d for d in ("article", "long") if d in raw]
    summary: dict[str, dict] = {}
    for d in docs:
        s = summary[d] = {}
        for case, runs in raw[d].items():
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
            }
        s["layouts"] = result["probe"][d].get("layout_count")
    verdicts = []
    def verdict(name: str, value: float, limit: float, unit: str = "x", na_ok: bool = False) -> None:
        # NaN: the publish build failed. A time target then is a MISS; a target
        # that needs a finished build (the no-change rebuild) is not measured.
        status = ("n/a" if na_ok else "MISS") if value != value else ("PASS" if value <= limit else "MISS")
        verdicts.append({"target": name, "measured": value, "limit": limit, "unit": unit,
                         "pass": status == "PASS", "status": status})
    for d, limit in (("article", 0.8), ("long", 0.65)):
        if d in summary:
            s = summary[d]
            verdict(f"{d}: publish / pandoc (3 formats)", s["publish"]["wall_median"] / s["pandoc"]["wall_median"], limit)
            verdict(f"{d}: publish / pandoc, CPU seconds (cross-check)",
                    s["publish"]["cpu_median"] / s["pandoc"]["cpu_median"], limit)
    for d in docs:
        s = summary[d]
        verdict(f"{d}: publish / weasyprint floor", s["publish"]["wall_median"] / s["floor"]["wall_median"], 1.1)
        verdict(f"{d}: publish / weasyprint floor, CPU seconds (cross-check)",
                s["publish"]["cpu_median"] / s["floor"]["cpu_median"], 1.1)
        verdict(f"{d}: no-change rebuild", s["rebuild"]["wall_median"], 0.3, "s", na_ok=True)
    if "long" in summary:
        s = summary["long"]
        # a failed (killed) build still reached its peak: count every run here
        runs = raw["long"]["publish"]
        peak = max([r["maxrss_kb"] for r in runs] + [r["tree_pss_kb"] for r in runs]) / 1024 if runs else float("nan")
        verdict("long: publish peak RSS (max of time -v, tree PSS)", peak, 600, "MB")
        if "article" in summary:
            verdict("long/article publish time (50x input)",
                    s["publish"]["wall_median"] / summary["article"]["publish"]["wall_median"], 55)
    result["summary"], result["verdicts"] = summary, verdicts
    print()
    print("| doc | case | median s | min–max s | CPU s | time -v maxrss MB | tree RSS MB | tree PSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for d in docs:
        for case in ("publish", "rebuild", "pandoc", "floor"):
            c = summary[d][case]
            print(f"| {d} | {case} (n={c['n']}, failed {c['failed']}) | {c['wall_median']:.3f} | {c['wall_min']:.2f}–{c['wall_max']:.2f} | "
                  f"{c['cpu_median']:.2f} | {c['maxrss_mb_max']:.0f} | {c['tree_rss_mb_max']:.0f} | "
                  f"{c['tree_pss_mb_max']:.0f} |")
    print()
    for v in verdicts:
        print(f"- {v['target']}: {v['measured']:.3f}{v['unit']} (limit {v['limit']}{v['unit']}) "
              f"{v['status']}")


def merge(paths: list[Path]) -> dict:
    """Combine result files of separate runs (e.g. --docs article, then --docs long)."""
    out: dict = {"machine": None, "runs": {}, "load_avg_1min": {}, "probe": {}, "raw": {}}
    for p in paths:
        r = json.loads(p.read_text())
        out["machine"] = out["machine"] or r["machine"]
        for d in r["raw"]:
            out["raw"][d] = r["raw"][d]
            out["probe"][d] = r["probe"][d]
            out["runs"][d] = r["runs"]
            out["load_avg_1min"][d] = r["load_avg_1min"]
    return out


if __name__ == "__main__":
    sys.exit(main())
