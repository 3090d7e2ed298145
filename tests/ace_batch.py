"""Ace by DAISY (the EPUB accessibility checker) on many books, once per pytest session.

Ace is installed into ``.tools/`` by ``scripts/install-ace.sh`` (``make setup``) and run
as ``ace-puppeteer`` with Debian's chromium. Books are checked two at a time; each run
gets its own home so Ace's logs and config stay in the work folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACE = ROOT / ".tools" / "node_modules" / ".bin" / "ace-puppeteer"


def chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def missing() -> str | None:
    """Why Ace cannot run here, or None."""
    if not ACE.exists():
        return f"Ace by DAISY is not installed ({ACE}); run scripts/install-ace.sh"
    if not shutil.which("node"):
        return "node is not installed (scripts/system-deps.sh)"
    if not chromium():
        return "chromium is not installed (scripts/system-deps.sh)"
    return None


def ace_reports(paths: list[Path], work: Path, jobs: int = 2, timeout: float = 300) -> dict[Path, dict | None]:
    """Ace's JSON report per book (None where it wrote none)."""
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
               XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"),
               PUPPETEER_EXECUTABLE_PATH=chromium() or "", PUPPETEER_SKIP_DOWNLOAD="1")
    outdirs = {p: work / f"ace-{n:03d}" for n, p in enumerate(paths)}
    pending = list(paths)
    running: list[tuple[Path, subprocess.Popen]] = []
    logs: dict[Path, str] = {}
    while pending or running:
        while pending and len(running) < jobs:
            p = pending.pop(0)
            proc = subprocess.Popen([str(ACE), "--silent", "--force", "--outdir", str(outdirs[p]), str(p)],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            running.append((p, proc))
        p, proc = running.pop(0)
        logs[p] = proc.communicate(timeout=timeout)[0]
    out: dict[Path, dict | None] = {}
    for p, d in outdirs.items():
        report = d / "report.json"
        out[p] = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
        if out[p] is None:
            out[p] = {"error": logs.get(p, "")}
    return out


def violations(report: dict) -> list[str]:
    """Every failed assertion of one report, with its impact and file."""
    if "error" in report:
        return [f"Ace wrote no report: {report['error'][-2000:]}"]
    found = []
    for a in report.get("assertions", []):
        for t in a.get("assertions", []):
            if t["earl:result"]["earl:outcome"] != "pass":
                found.append(f"{t['earl:test'].get('earl:impact', '?')} {t['earl:test']['dct:title']} @ "
                             f"{a['earl:testSubject']['url']}: {t['earl:result'].get('dct:description', '')}")
    return found
