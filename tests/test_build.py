"""The editor workflow: atomic, incremental, locked, parallel, reproducible builds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import small_project
from publish.build import BuildLock, BuildRequest, build
from publish.diagnostics import PublishError

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "reader"
PUBLISH = [sys.executable, "-m", "publish"]


def _snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.iterdir()) if p.is_file() and not p.name.startswith(".")}


def _run(args: list[str], cwd: Path | None = None, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    e = dict(os.environ, SOURCE_DATE_EPOCH="1632873600")
    e.update(env or {})
    return subprocess.run([*PUBLISH, *args], capture_output=True, text=True, cwd=cwd, env=e, **kw)


def test_build_writes_every_requested_format_and_rebuild_with_nothing_changed_rewrites_nothing(tmp_path: Path) -> None:
    src = small_project(tmp_path)
    out = tmp_path / "out"
    r = _run(["build", str(src), "--out", str(out), "--format", "epub", "--format", "docx"])
    assert r.returncode == 0, r.stderr
    assert (out / "refs.epub").is_file() and (out / "refs.docx").is_file()
    before = _snapshot(out)
    r = _run(["build", str(src), "--out", str(out), "--format", "epub", "--format", "docx"])
    assert r.returncode == 0, r.stderr
    assert "cached" in r.stderr
    assert _snapshot(out) == before  # same bytes, same mtimes: nothing rewritten


def test_a_change_rebuilds_exactly_the_formats_it_affects(tmp_path: Path) -> None:
    src = small_project(tmp_path)
    out = tmp_path / "out"
    req = BuildRequest(src, out, formats=("epub", "docx"), lock_wait=0)
    env = {"SOURCE_DATE_EPOCH": "1632873600"}
    build(req, environ=env)
    css = src.parent.parent / "styles" / "epub.css"
    css.write_text(css.read_text() + "\n/* changed */\n")
    report = build(req, environ=env)
    assert {r.format: r.status for r in report.results} == {"epub": "written", "docx": "cached"}
    # a new style file (a template override) is a change too
    override = src.parent.parent / "styles" / "templates" / "epub" / "colophon.xhtml"
    override.parent.mkdir(parents=True)
    override.write_text((ROOT / "src" / "publish" / "templates" / "epub" / "colophon.xhtml").read_text())
    report = build(req, environ=env)
    assert {r.format: r.status for r in report.results} == {"epub": "unchanged", "docx": "cached"}
    # a change to the text affects every format
    src.write_text(src.read_text().replace("a footnote.", "a second footnote."))
    report = build(req, environ=env)
    assert {r.format: r.status for r in report.results} == {"epub": "written", "docx": "written"}
    # a change to a side file too
    people = src.parent / "refs.people.yaml"
    people.write_text(people.read_text().replace("Trivium China", "Trivium China Ltd"))
    report = build(req, environ=env)
    assert all(r.status == "written" for r in report.results)
    # --no-cache forces a full build, which gives identical bytes
    report = build(BuildRequest(src, out, formats=("epub", "docx"), use_cache=False), environ=env)
    assert all(r.status == "unchanged" for r in report.results)


def test_input_error_leaves_previous_outputs_byte_identical(tmp_path: Path) -> None:
    src = small_project(tmp_path)
    out = tmp_path / "out"
    assert _run(["build", str(src), "--out", str(out), "--format", "epub", "--format", "docx"]).returncode == 0
    before = _snapshot(out)
    src.write_text(src.read_text().replace("ref=review", "ref=missing"))
    r = _run(["build", str(src), "--out", str(out), "--no-cache"])
    assert r.returncode == 1
    assert "refs.md:" in r.stderr and "unknown annotation 'missing'" in r.stderr
    assert "Traceback" not in r.stderr
    assert _snapshot(out) == before


def test_render_failure_keeps_every_previous_output_and_exits_3(tmp_path: Path) -> None:
    src = small_project(tmp_path)
    out = tmp_path / "out"
    assert _run(["build", str(src), "--out", str(out), "--format", "epub", "--format", "docx"]).returncode == 0
    before = _snapshot(out)
    (src.parent.parent / "styles" / "reference.docx").write_bytes(b"not a zip file")
    src.write_text(src.read_text() + "\nOne more paragraph.\n")
    r = _run(["build", str(src), "--out", str(out), "--format", "epub", "--format", "docx"])
    assert r.returncode == 3, r.stderr
    assert "Traceback" not in r.stderr
    assert "refs.docx" in r.stderr or "DOCX" in r.stderr
    assert _snapshot(out) == before  # nothing replaced: a build commits a complete set or nothing
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))


def test_time_limit_exits_3_and_keeps_output(tmp_path: Path) -> None:
    src = small_project(tmp_path)
    out = tmp_path / "out"
    assert _run(["build", str(src), "--out", str(out), "--format", "pdf"]).returncode == 0
    before = _snapshot(out)
    r = _run(["build", str(src), "--out", str(out), "--format", "pdf", "--no-cache", "--timeout", "0.2"])
    assert r.returncode == 3
    assert "timed out after 0.2 s" in r.stderr
    assert _snapshot(out) == before


def test_killed_build_leaves_outputs_and_no_temporary_files(tmp_path: Path) -> None:
    src = small_project(tmp_path)
    out = tmp_path / "out"
    assert _run(["build", str(src), "--out", str(out)]).returncode == 0
    before = _snapshot(out)
    src.write_text(src.read_text() + "\nA change.\n")
    env = dict(os.environ, SOURCE_DATE_EPOCH="1632873600")
    proc = subprocess.Popen([*PUBLISH, "build", str(src), "--out", str(out), "-q"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    lock = out / ".publish.lock"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and lock.read_text().strip() != str(proc.pid):
        time.sleep(0.02)
    time.sleep(0.3)  # rendering now
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _snapshot(out) == before
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    # the dead build's lock is taken over at once
    r = _run(["build", str(src), "--out", str(out), "--wait", "0"])
    assert r.returncode == 0, r.stderr


def test_concurrent_builds_are_serialised_by_the_lock(tmp_path: Path) -> None:
    src = small_project(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with BuildLock(out):
        r = _run(["build", str(src), "--out", str(out), "--format", "docx", "--wait", "0"])
        assert r.returncode == 4
        assert f"another build (pid {os.getpid()}) is writing to this folder" in r.stderr
    # several at once: all succeed, one after another, with one result
    procs = [subprocess.Popen([*PUBLISH, "build", str(src), "--out", str(out), "--format", "docx", "--format", "epub",
                               "--no-cache", "-q"], env=dict(os.environ, SOURCE_DATE_EPOCH="1632873600"),
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [0, 0, 0], [p.stderr.read() for p in procs]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["refs.docx", "refs.epub"]


def test_lock_waits_for_a_running_build(tmp_path: Path) -> None:
    src = small_project(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    lock = BuildLock(out).__enter__()
    proc = subprocess.Popen([*PUBLISH, "build", str(src), "--out", str(out), "--format", "docx", "--wait", "30"],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    assert proc.poll() is None  # still waiting
    lock.__exit__(None, None, None)
    assert proc.wait(timeout=60) == 0
    assert "waiting for another build" in proc.stderr.read()


def test_config_defaults_and_unknown_keys(tmp_path: Path) -> None:
    src = small_project(tmp_path)
    proj = src.parent.parent
    (proj / "publish.toml").write_text('source = "source/refs.md"\nformats = ["docx"]\nout = "build"\n')
    r = _run(["build", "-q"], cwd=proj)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (proj / "build").iterdir() if not p.name.startswith(".")) == ["refs.docx"]
    (proj / "publish.toml").write_text('formats = ["docx"]\n\npaperr = "a4"\n')
    r = _run(["build"], cwd=proj)
    assert r.returncode == 2
    assert f"{proj / 'publish.toml'}:3:1: error: unknown publish setting 'paperr'" in r.stderr


def test_reproducible_across_runs_time_zones_hash_seeds_and_folders(tmp_path: Path) -> None:
    src = ROOT / "source" / "article.md"
    a, b = tmp_path / "a", tmp_path / "b"
    r1 = _run(["build", str(src), "--out", str(a), "-q"], env={"TZ": "UTC", "PYTHONHASHSEED": "1"})
    r2 = _run(["build", str(src), "--out", str(b), "-q", "--no-cache"],
              env={"TZ": "Asia/Shanghai", "PYTHONHASHSEED": "2"})
    assert r1.returncode == 0 and r2.returncode == 0, r1.stderr + r2.stderr
    for ext in ("pdf", "epub", "docx"):
        assert (a / f"article.{ext}").read_bytes() == (b / f"article.{ext}").read_bytes(), ext


def test_without_source_date_epoch_outputs_are_dated_by_their_inputs(tmp_path: Path) -> None:
    src = small_project(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    outs = []
    for n in range(2):
        out = tmp_path / f"o{n}"
        r = subprocess.run([*PUBLISH, "build", str(src), "--out", str(out), "--format", "docx", "-q"],
                           capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        outs.append((out / "refs.docx").read_bytes())
        time.sleep(1.1)
    assert outs[0] == outs[1]


def test_lock_error_is_exit_4_in_api(tmp_path: Path) -> None:
    src = small_project(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with BuildLock(out):
        with pytest.raises(PublishError) as exc:
            build(BuildRequest(src, out, formats=("docx",), lock_wait=0))
    assert exc.value.exit_code == 4


def test_watch_rebuilds_on_save_survives_bad_edits_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    import queue
    import threading

    src = small_project(tmp_path)
    out = tmp_path / "out"
    env = dict(os.environ, SOURCE_DATE_EPOCH="1632873600", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([*PUBLISH, "watch", str(src), "--out", str(out), "--format", "docx"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout], daemon=True).start()

    def wait_for(*needles: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(line)
            if all(n in line for n in needles):
                return line
        raise AssertionError(f"{needles!r} not seen in:\n{''.join(seen)}")

    try:
        wait_for("refs.docx", "written")  # the first build
        wait_for("watching")
        first = (out / "refs.docx").read_bytes()
        src.write_text(src.read_text().replace("a footnote.", "an edited footnote."))
        wait_for("change detected")
        wait_for("refs.docx", "written")
        good = (out / "refs.docx").read_bytes()
        assert good != first
        src.write_text(src.read_text().replace("ref=review", "ref=nope"))  # a bad edit
        wait_for("refs.md:", "error: unknown annotation 'nope'")
        assert proc.poll() is None  # survived the bad edit
        assert (out / "refs.docx").read_bytes() == good  # and kept the last good output
        src.write_text(src.read_text().replace("ref=nope", "ref=review"))  # mended: as before
        wait_for("refs.docx", "cached")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        wait_for("stopped", timeout=5)
        assert "Traceback" not in "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_writer_may_return_several_files(tmp_path, monkeypatch):
    """A format is one row in writers.WRITERS; its render may return several files,
    committed together (the workers import the writer module by its name)."""
    from dataclasses import replace as _replace

    import publish.build as build_mod
    from publish import writers as writers_pkg

    row = _replace(writers_pkg.WRITERS["docx"], name="several", extension="txt", module="several_files_writer")
    monkeypatch.setitem(writers_pkg.WRITERS, "several", row)
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: Several\n---\nText.\n", encoding="utf-8")
    out = tmp_path / "out"
    doc = build_mod.load(src)
    files = build_mod.render_files("several", doc, build_mod.RenderOptions(), build_mod.Resolver.for_source(src))
    assert files == {"": b"Several", "_files/a.txt": b"A"}
    report = build(BuildRequest(src, out, formats=("several",), jobs=1), environ={"SOURCE_DATE_EPOCH": "0"})
    assert report.exit_code == 0, report
    assert (out / "a.txt").read_bytes() == b"Several"
    assert (out / "a_files" / "a.txt").read_bytes() == b"A"


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (exited, not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def test_a_result_is_committed_before_its_worker_has_shut_down(tmp_path, monkeypatch):
    """A worker's interpreter shutdown is off the critical path: the build commits
    a result while the worker that made it is still exiting, and reaps it after."""
    from dataclasses import replace as _replace

    import publish.build as build_mod
    from publish import writers as writers_pkg

    row = _replace(writers_pkg.WRITERS["docx"], name="slowexit", extension="txt", module="slow_exit_writer")
    monkeypatch.setitem(writers_pkg.WRITERS, "slowexit", row)
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: Slow exit\n---\nText.\n", encoding="utf-8")
    out = tmp_path / "out"
    seen: dict[str, object] = {}
    real_commit = build_mod.commit_article

    def commit(a, rendered, reads, emit):
        seen["pid"] = pid = int(rendered["slowexit"][0][""])
        seen["running at commit"] = _running(pid)
        return real_commit(a, rendered, reads, emit)

    monkeypatch.setattr(build_mod, "commit_article", commit)
    report = build(BuildRequest(src, out, formats=("slowexit",), jobs=1), environ={"SOURCE_DATE_EPOCH": "0"})
    assert report.exit_code == 0, report
    assert (out / "a.txt").read_bytes() == str(seen["pid"]).encode()
    assert seen["running at commit"] is True  # still in its 3 s atexit handler: not waited for
    assert not _running(seen["pid"])  # and reaped (killed after the grace) before build() returned


def test_a_build_on_warm_workers_is_the_same_build(tmp_path, monkeypatch):
    """publish watch's renderer (pool.LocalPool.warm): the same outputs, cache
    records, results and exit codes as a build on fresh workers; a time-out kills
    and replaces the worker, keeps the previous outputs (exit 3), and the pool goes on."""
    import json
    from dataclasses import replace as _replace

    from publish import writers as writers_pkg
    from publish.pool import LocalPool

    env = {"SOURCE_DATE_EPOCH": "1632873600"}
    src = small_project(tmp_path)
    formats = ("docx", "html")
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert build(BuildRequest(src, ref, formats=formats), environ=env).exit_code == 0
    with LocalPool.warm(formats, 0, 300) as pool:
        assert pool.capacity == 2  # one worker per format
        pids = pool.pids()
        events: list[tuple[str, str]] = []
        report = build(BuildRequest(src, out, formats=formats), environ=env, pool=pool,
                       on_event=lambda f, s, i: events.append((f, s)))
        assert report.exit_code == 0, report
        assert [r.status for r in report.results] == ["written", "written"]
        assert ("docx", "rendering") in events and ("docx", "rendered") in events
        assert _snapshot(out).keys() == _snapshot(ref).keys()
        assert all(_snapshot(out)[k][0] == _snapshot(ref)[k][0] for k in _snapshot(ref))

        def inputs(folder):
            entries = json.loads((folder / ".publish-cache" / "refs.json").read_text())["formats"]
            return {f: (e["key"], e["inputs"], e["output"]) for f, e in entries.items()}

        assert inputs(out) == inputs(ref)
        report = build(BuildRequest(src, out, formats=formats), environ=env, pool=pool)
        assert [r.status for r in report.results] == ["cached", "cached"]
        before = _snapshot(out)
        # a render that takes too long
        monkeypatch.setitem(writers_pkg.WRITERS, "docx", _replace(writers_pkg.WRITERS["docx"], module="sleepy_writer"))
        pool.timeout = 0.5
        report = build(BuildRequest(src, out, formats=formats, use_cache=False), environ=env, pool=pool)
        assert report.exit_code == 3
        assert "DOCX rendering timed out after 0.5 s" in str(report.results[0].diagnostics)
        assert _snapshot(out) == before
        assert len(set(pool.pids()) - set(pids)) == 1  # its worker was killed and replaced
        monkeypatch.undo()
        pool.timeout = 300
        report = build(BuildRequest(src, out, formats=formats, use_cache=False), environ=env, pool=pool)
        assert report.exit_code == 0, report
        assert [r.status for r in report.results] == ["unchanged", "unchanged"]


def test_workers_start_while_the_source_is_read_and_none_outlives_a_failed_read(tmp_path, monkeypatch):
    """The first workers are started before the source is read (each imports its writer
    meanwhile: WeasyPrint takes about a second) and render the build's task; when the
    read fails, the waiting workers are ended with the build."""
    import multiprocessing as mp

    from publish import build as build_mod

    src = small_project(tmp_path)
    out = tmp_path / "out"
    seen: list[int] = []
    read = build_mod.read_article

    def read_article(a, resolver=None):
        seen.extend(p.pid for p in mp.active_children())
        return read(a, resolver)

    monkeypatch.setattr(build_mod, "read_article", read_article)
    report = build(BuildRequest(source=src, out_dir=out, formats=("pdf", "epub"), jobs=2))
    assert [r.status for r in report.results] == ["written", "written"]
    assert len(seen) == 2  # both workers were up while the source was read
    assert not any(p.is_alive() for p in mp.active_children())

    src.write_text(src.read_text(encoding="utf-8").replace("ref=review", "ref=missing"), encoding="utf-8")
    seen.clear()
    with pytest.raises(PublishError):
        build(BuildRequest(source=src, out_dir=out, formats=("pdf", "epub"), jobs=2, use_cache=False))
    assert len(seen) == 2 and not mp.active_children()
