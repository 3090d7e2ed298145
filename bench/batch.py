#!/usr/bin/env python3
"""Batch benchmark (issue 16): articles per minute for a series of generated articles.

Cases, each on a fresh output folder, SOURCE_DATE_EPOCH-stamped, every format:

  loop      a shell loop of single builds: `publish build article-NN.md --out …` per article
  pandoc    pandoc in a loop: docx, epub and pdf (--pdf-engine=weasyprint) per article
  local-J   `publish build SERIES/ --out '…/{stem}' -j J` (long-lived local workers)
  dask-J    the same with --executor dask on a LocalCluster of J worker processes
            (1 thread each, 127.0.0.1), started before the clock runs

Memory: the peak RSS of each worker process (local: the children of the publish
process, sampled from /proc; Dask: each worker's RSS after the batch). The load
average is recorded before and after: the machine is shared.

Usage: python bench/batch.py [--count 12] [--jobs 1,2,4] [--json bench/work/batch.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin").is_dir() else Path(sys.executable).parent
EPOCH = "1630454400"
ENV = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH, PYTHONPATH=str(ROOT / "src"))
sys.path.insert(0, str(HERE))
import make_batch  # noqa: E402


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for ln in fh:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", "rb") as fh:
                    s = fh.read()
                if int(s[s.rindex(b")") + 2:].split()[1]) == pid:
                    out.append(int(d))
            except (OSError, ValueError):
                pass
    return out


def cpu_children() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_sampled(cmd: list[str], cwd: Path | None = None) -> tuple[float, dict[int, int], int]:
    """Wall seconds, peak RSS (KB) per child process, exit code."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks: dict[int, int] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for c in _children(proc.pid):
                peaks[c] = max(peaks.get(c, 0), _rss_kb(c))
            time.sleep(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, err = proc.communicate()
    stop.set()
    th.join()
    if proc.returncode:
        sys.stderr.write(err.decode()[-2000:])
    return time.monotonic() - t0, peaks, proc.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--jobs", default="1,2,4")
    ap.add_argument("--cases", default="startup,loop,pandoc,local,dask")
    ap.add_argument("--json", type=Path, default=WORK / "batch.json")
    a = ap.parse_args(argv)
    jobs = [int(j) for j in a.jobs.split(",")]
    cases = a.cases.split(",")
    series = WORK / "series"
    if series.exists():
        shutil.rmtree(series)
    sources = make_batch.make(series, a.count)
    out = WORK / "batch-out"
    publish = [str(BIN / "python"), "-m", "publish"]
    results: dict[str, dict] = {"count": a.count, "cpus": os.cpu_count(), "load_before": os.getloadavg()}

    cpu0 = [cpu_children()]

    def record(name: str, secs: float, code: int, **more) -> None:
        cpu = cpu_children()
        results[name] = {"seconds": round(secs, 2), "articles_per_min": round(60 * a.count / secs, 2),
                         "exit": code, "cpu_s": round(cpu - cpu0[0], 1), "load": round(os.getloadavg()[0], 2),
                         **more}
        cpu0[0] = cpu
        print(name, json.dumps(results[name]), flush=True)

    if "startup" in cases:  # what a single build pays per article before any work: start-up and imports
        snippets = {"cli": "import publish.cli, publish.build",
                    **{f"worker-{f}": f"import publish.build, {w}" for f, w in
                       (("pdf", "weasyprint, publish.writers.pdf"), ("epub", "publish.writers.epub"),
                        ("docx", "publish.writers.docx"), ("html", "publish.writers.web"))}}
        for name, code_ in snippets.items():
            walls = []
            for _ in range(3):
                t0 = time.monotonic()
                subprocess.run([str(BIN / "python"), "-c", code_], env=ENV, check=True)
                walls.append(time.monotonic() - t0)
            results[f"startup-{name}"] = round(sorted(walls)[1], 3)
            print(f"startup-{name}", results[f"startup-{name}"], flush=True)
    if "loop" in cases:
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.monotonic()
        code = 0
        for s in sources:
            code |= subprocess.run([*publish, "build", str(s), "--out", str(out / s.stem), "-q"], env=ENV,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        record("loop", time.monotonic() - t0, code)
    if "pandoc" in cases:
        pandoc = shutil.which("pandoc") or str(BIN / "pandoc")
        try:
            import pypandoc

            pandoc = pypandoc.get_pandoc_path()
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        t0 = time.monotonic()
        code = 0
        for s in sources:
            for ext, extra in (("docx", []), ("epub", []), ("pdf", ["--pdf-engine=weasyprint"])):
                code |= subprocess.run([pandoc, str(s), "-s", "-o", str(out / f"{s.stem}.{ext}"), *extra],
                                       env=dict(ENV, PATH=f"{BIN}:{os.environ['PATH']}"), cwd=series,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        record("pandoc", time.monotonic() - t0, code)
    for j in jobs if "local" in cases else []:
        shutil.rmtree(out, ignore_errors=True)
        cpu0[0] = cpu_children()
        secs, peaks, code = run_sampled([*publish, "build", str(series), "--out", str(out / "{stem}"), "-q",
                                         "-j", str(j)])
        workers = sorted(peaks.values(), reverse=True)[:j]
        record(f"local-{j}", secs, code, worker_rss_mb=[round(k / 1024) for k in workers])
    if "dask" in cases:
        from distributed import Client, LocalCluster

        for j in jobs:
            shutil.rmtree(out, ignore_errors=True)
            with LocalCluster(n_workers=j, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=None) as lc, Client(lc) as client:
                secs, _, code = run_sampled([*publish, "build", str(series), "--out", str(out / "{stem}"), "-q",
                                             "--executor", "dask", "--scheduler", lc.scheduler_address])
                rss = client.run(lambda: __import__("psutil").Process().memory_info().rss)
                record(f"dask-{j}", secs, code, worker_rss_mb=sorted(round(v / 2**20) for v in rss.values()))
    results["load_after"] = os.getloadavg()
    a.json.parent.mkdir(parents=True, exist_ok=True)
    prev = json.loads(a.json.read_text()) if a.json.is_file() else {}
    a.json.write_text(json.dumps({**prev, **results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
