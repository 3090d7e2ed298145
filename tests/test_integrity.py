"""Build integrity (issue 12): outputs never stale, output-folder faults answered
with one line and exit 5, all-or-nothing commits under a full disk or a kill,
warnings that survive the cache.

Most tests run in this process with a fake renderer (canned bytes per format),
so that a fault can be injected at every write, sync and rename of a commit;
a few run the real CLI end to end. The real small filesystem is a size-limited
tmpfs mounted by the test (as root); where mounting is not allowed those tests
are skipped with the reason.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import publish.build as build_mod
from conftest import small_project
from publish.writers import WRITERS
from publish.build import BuildRequest, build
from publish.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "reader"
PUBLISH = [sys.executable, "-m", "publish"]
ENV = {"SOURCE_DATE_EPOCH": "1632873600"}
FORMATS = tuple(WRITERS)  # every format of the writers' table
JOURNAL = ".publish-txn.json"  # the commit journal (see publish.txn)


def _files(out: Path) -> dict[str, tuple[bytes, int]]:
    """Every file in the output folder and its cache folder (lock excluded): bytes and mtime."""
    found = {}
    for p in sorted(out.rglob("*")):
        if p.is_file() and p.name != ".publish.lock":
            found[str(p.relative_to(out))] = (p.read_bytes(), p.stat().st_mtime_ns)
    return found


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and not p.name.startswith(".")}


def _leftovers(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*")
                  if p.name.endswith((".tmp", ".bak")) or p.name == JOURNAL)


def _docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("word/document.xml").decode("utf-8")


@pytest.fixture(autouse=True)
def _workers_on_demand(monkeypatch):
    """These tests stand in for the workers (a fake renderer) or break the plumbing
    processes use (``os.write``): builds here start no worker before the source is read
    (``render_parallel`` starts its own, as it does for formats beyond the first ``jobs``)."""
    monkeypatch.setattr(build_mod, "prestart_workers", lambda formats, jobs: {})


def _fake_renderer(payloads: dict[str, bytes]):
    """Stands in for render_parallel: every format 'renders' to the given bytes at once."""
    def fake(formats, doc, options, resolver, *, jobs, timeout, on_event=None, reads=None, finished=None,
             prestarted=None):
        for fmt in formats:
            if on_event:
                on_event(fmt, "rendering", {})
            yield fmt, {"": payloads[fmt]}, [], 0.0  # a writer's files: "" is the main one
    return fake


def _payloads(tag: str, size: int = 2000) -> dict[str, bytes]:
    return {fmt: (f"{tag} {fmt} ".encode() * size)[:size] for fmt in FORMATS}


def _cli(args: list[str]) -> tuple[int, str, BaseException | None]:
    r = CliRunner().invoke(main, args, env=ENV)
    exc = r.exception if not isinstance(r.exception, SystemExit) else None
    return r.exit_code, r.stderr, exc


# --------------------------------------------------------------------------- stale outputs


@pytest.mark.parametrize("changed", ["source", "side file", "style"])
def test_a_file_changed_during_the_build_makes_the_next_build_render(tmp_path: Path, changed: str) -> None:
    """The input is changed after it was read, while the format renders: the
    output shows the old text, so the next build must not call it cached."""
    src = small_project(tmp_path)
    out = tmp_path / "out"
    target = {"source": src, "side file": src.parent / "refs.people.yaml",
              "style": src.parent.parent / "styles" / "epub.css"}[changed]
    fmt = "epub" if changed == "style" else "docx"
    req = BuildRequest(src, out, formats=(fmt,), lock_wait=0)

    def edit_while_rendering(f: str, state: str, info: dict) -> None:
        if state == "rendering":
            text = target.read_text()
            target.write_text(text.replace("a footnote.", "a footnote, edited.")
                              .replace("Trivium China", "Trivium China Ltd") + "\n/* edited */\n"
                              if changed == "style" else
                              text.replace("a footnote.", "a footnote, edited.")
                              .replace("Trivium China", "Trivium China Ltd"))

    first = build(req, on_event=edit_while_rendering, environ=ENV)
    assert [r.status for r in first.results] == ["written"]
    second = build(req, environ=ENV)
    assert [r.status for r in second.results] == ["written"], "an output made from the old text was called cached"
    if fmt == "docx":
        assert "edited" in _docx_text(out / "refs.docx") or "Trivium China Ltd" in _docx_text(out / "refs.docx")
    third = build(req, environ=ENV)
    assert [r.status for r in third.results] == ["cached"]


def test_an_image_changed_during_the_build_makes_the_next_build_render(tmp_path: Path) -> None:
    from PIL import Image

    src = small_project(tmp_path)
    img = src.parent / "pic.png"
    Image.new("RGB", (20, 10), (200, 0, 0)).save(img)
    src.write_text(src.read_text() + "\n![A picture](pic.png)\n")
    out = tmp_path / "out"
    req = BuildRequest(src, out, formats=("docx",), lock_wait=0)

    def repaint(f: str, state: str, info: dict) -> None:
        if state == "rendering":
            Image.new("RGB", (20, 10), (0, 0, 200)).save(img)

    build(req, on_event=repaint, environ=ENV)
    assert [r.status for r in build(req, environ=ENV).results] == ["written"]


def test_watch_with_rapid_saves_ends_with_the_last_text(tmp_path: Path) -> None:
    """Saves keep coming while builds run: the output must end up with the last save."""
    import queue
    import threading

    src = small_project(tmp_path)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONUNBUFFERED="1", **ENV)
    proc = subprocess.Popen([*PUBLISH, "watch", str(src), "--out", str(out), "--format", "docx"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout], daemon=True).start()

    def drain(until: str = "", timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=0.1))
            except queue.Empty:
                continue
            if until and until in seen[-1]:
                return
        if until:
            raise AssertionError(f"{until!r} not seen in:\n{''.join(seen)}")

    original = src.read_text()
    try:
        drain("watching")
        for n in range(30):  # a save every 0.1 s for 3 s: most land while a build renders
            src.write_text(original.replace("a footnote.", f"a footnote, save {n:02d}."))
            time.sleep(0.1)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            drain(timeout=0.5)
            if (out / "refs.docx").is_file() and "save 29." in _docx_text(out / "refs.docx"):
                break
        else:
            raise AssertionError("the output never showed the last save:\n" + "".join(seen))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert "Traceback" not in "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
    # and the cache agrees: nothing left to do
    assert [r.status for r in build(BuildRequest(src, out, formats=("docx",)), environ=ENV).results] == ["cached"]


# --------------------------------------------------------------------------- warnings and the cache


def test_a_cached_build_repeats_the_warnings_of_its_source(tmp_path: Path) -> None:
    src = small_project(tmp_path)
    glossary = src.parent / "refs.glossary.yaml"
    glossary.write_text(glossary.read_text() + "- id: unused\n  term: UNUSED\n  definition: Never used.\n")
    out = tmp_path / "out"
    req = BuildRequest(src, out, formats=("docx",), lock_wait=0)
    first = build(req, environ=ENV)
    assert any("never used" in d.message for d in first.diagnostics)
    second = build(req, environ=ENV)
    assert [r.status for r in second.results] == ["cached"]
    assert second.diagnostics == first.diagnostics
    code, err, exc = _cli(["build", str(src), "--out", str(out), "--format", "docx", "-q"])
    assert code == 0 and exc is None
    assert "glossary entry 'unused' is never used" in err


# --------------------------------------------------------------------------- output-folder faults


def _assert_one_line_error(code: int, err: str, exc, path: Path, *needles: str) -> None:
    assert exc is None, f"traceback: {exc!r}"
    assert code == 5, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{path}: error: "), lines[0]
    for n in needles:
        assert n in lines[0], lines[0]
    assert "Traceback" not in err


def test_output_folder_is_a_file(tmp_path: Path) -> None:
    src = small_project(tmp_path)
    out = tmp_path / "out"
    out.write_text("not a folder")
    code, err, exc = _cli(["build", str(src), "--out", str(out), "--format", "docx"])
    _assert_one_line_error(code, err, exc, out, "is a file")
    assert out.read_text() == "not a folder"


def test_output_folder_under_a_file(tmp_path: Path) -> None:
    src = small_project(tmp_path)
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "sub" / "out"
    code, err, exc = _cli(["build", str(src), "--out", str(out), "--format", "docx"])
    _assert_one_line_error(code, err, exc, out, "cannot create the output folder", str(tmp_path / "afile"), "is a file")


@pytest.mark.parametrize("err_no, needle", [(errno.EACCES, "permission denied"),
                                             (errno.EROFS, "read-only file system")])
def test_output_folder_cannot_be_created(tmp_path: Path, monkeypatch, err_no: int, needle: str) -> None:
    src = small_project(tmp_path)
    out = tmp_path / "locked" / "out"
    real_mkdir = os.mkdir

    def refuse(path, *a, **kw):
        if Path(path) in (out, out.parent):
            raise OSError(err_no, os.strerror(err_no), str(path))
        return real_mkdir(path, *a, **kw)

    monkeypatch.setattr(os, "mkdir", refuse)
    code, err, exc = _cli(["build", str(src), "--out", str(out), "--format", "docx"])
    _assert_one_line_error(code, err, exc, out, "cannot create the output folder", needle)


@pytest.mark.parametrize("err_no, needle", [(errno.EACCES, "permission denied"),
                                             (errno.EROFS, "read-only file system")])
def test_output_folder_not_writable_keeps_previous_outputs(tmp_path: Path, monkeypatch, err_no: int, needle: str) -> None:
    """Read-only or without write permission (as root, permissions do not bind:
    the refusal is injected where the kernel would give it)."""
    src = small_project(tmp_path)
    out = tmp_path / "out"
    monkeypatch.setattr(build_mod, "render_parallel", _fake_renderer(_payloads("old")))
    assert _cli(["build", str(src), "--out", str(out), "-q"])[0] == 0
    before = _files(out)
    src.write_text(src.read_text() + "\nA change.\n")
    monkeypatch.setattr(build_mod, "render_parallel", _fake_renderer(_payloads("new")))
    real_open, real_access = os.open, os.access

    def refuse_open(path, flags, *a, **kw):
        if Path(path).parent in (out, out / ".publish-cache") and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(err_no, os.strerror(err_no), str(path))
        return real_open(path, flags, *a, **kw)

    def refuse_access(path, mode, *a, **kw):
        if Path(path) == out and mode & os.W_OK:
            return False
        return real_access(path, mode, *a, **kw)

    monkeypatch.setattr(os, "open", refuse_open)
    monkeypatch.setattr(os, "access", refuse_access)
    code, err, exc = _cli(["build", str(src), "--out", str(out), "-q"])
    monkeypatch.undo()
    _assert_one_line_error(code, err, exc, out)
    assert needle in err or "not writable" in err, err
    assert _files(out) == before
    assert _leftovers(out) == []


def test_output_name_taken_by_a_folder(tmp_path: Path, monkeypatch) -> None:
    src = small_project(tmp_path)
    out = tmp_path / "out"
    monkeypatch.setattr(build_mod, "render_parallel", _fake_renderer(_payloads("old")))
    assert _cli(["build", str(src), "--out", str(out), "-q"])[0] == 0
    (out / "refs.docx").unlink()
    (out / "refs.docx").mkdir()
    (out / "refs.docx" / "keep.txt").write_text("mine")
    before = _files(out)
    code, err, exc = _cli(["build", str(src), "--out", str(out), "-q"])
    _assert_one_line_error(code, err, exc, out / "refs.docx", "folder")
    assert _files(out) == before
    assert _leftovers(out) == []


@pytest.mark.parametrize("err_no, needle", [(errno.ENOSPC, "no space left on device"),
                                             (errno.EDQUOT, "disk quota exceeded")])
def test_full_disk_or_quota_is_one_line_and_keeps_previous_outputs(tmp_path: Path, monkeypatch, err_no: int,
                                                                     needle: str) -> None:
    src = small_project(tmp_path)
    out = tmp_path / "out"
    monkeypatch.setattr(build_mod, "render_parallel", _fake_renderer(_payloads("old")))
    assert _cli(["build", str(src), "--out", str(out), "-q"])[0] == 0
    before = _files(out)
    src.write_text(src.read_text() + "\nA change.\n")
    monkeypatch.setattr(build_mod, "render_parallel", _fake_renderer(_payloads("new", 5000)))
    real_write = os.write
    calls = {"n": 0}

    def full(fd, data):
        calls["n"] += 1
        if calls["n"] >= 2:  # the first output fits, the second does not
            raise OSError(err_no, os.strerror(err_no))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    code, err, exc = _cli(["build", str(src), "--out", str(out), "-q"])
    monkeypatch.undo()
    _assert_one_line_error(code, err, exc, out, needle, "previous outputs kept")
    assert _files(out) == before
    assert _leftovers(out) == []


# --------------------------------------------------------------------------- all or nothing


OPS = ("open", "write", "fsync", "link", "replace", "rename", "unlink", "mkdir")


class _Injector:
    """Counts the file-system calls of a build; raises (or kills) at call number ``at``."""

    def __init__(self, monkeypatch, at: int = 0, err_no: int = errno.ENOSPC, sticky: bool = False, kill: bool = False):
        self.n = 0
        self.at = at
        self.err_no = err_no
        self.sticky = sticky
        self.kill = kill
        self.steps: list[str] = []
        for name in OPS:
            monkeypatch.setattr(os, name, self._wrap(name, getattr(os, name)))

    def _wrap(self, name, real):
        def call(*a, **kw):
            self.n += 1
            self.steps.append(name)
            hit = self.at and (self.n == self.at or (self.sticky and self.n > self.at and name in ("write", "fsync", "link")))
            if hit and name != "unlink":
                if self.kill:
                    os._exit(9)
                raise OSError(self.err_no, os.strerror(self.err_no))
            return real(*a, **kw)
        return call


def _counted_build(src: Path, out: Path, monkeypatch, payloads, **inject) -> tuple[int, str, BaseException | None, int]:
    with monkeypatch.context() as m:
        m.setattr(build_mod, "render_parallel", _fake_renderer(payloads))
        inj = _Injector(m, **inject)
        code, err, exc = _cli(["build", str(src), "--out", str(out), "-q"])
    return code, err, exc, inj.n


def _prepare_previous_set(tmp_path: Path, monkeypatch) -> tuple[Path, Path, dict]:
    src = small_project(tmp_path)
    out = tmp_path / "out"
    with monkeypatch.context() as m:
        m.setattr(build_mod, "render_parallel", _fake_renderer(_payloads("old")))
        assert _cli(["build", str(src), "--out", str(out), "-q"])[0] == 0
    src.write_text(src.read_text() + "\nA change.\n")
    return src, out, _files(out)


@pytest.mark.parametrize("sticky", [False, True], ids=["one-fault", "disk-stays-full"])
def test_enospc_at_every_step_of_a_commit_leaves_old_or_new_set_never_a_mix(tmp_path: Path, monkeypatch,
                                                                             sticky: bool) -> None:
    src, out, before = _prepare_previous_set(tmp_path, monkeypatch)
    new = _payloads("new", 3000)
    # how many file-system calls a successful build makes
    scratch = tmp_path / "scratch"
    shutil.copytree(out, scratch)
    _, _, _, total = _counted_build(src, scratch, monkeypatch, new)
    assert total > 10
    outcomes = set()
    for k in range(1, total + 1):
        _restore(out, before)
        code, err, exc, _ = _counted_build(src, out, monkeypatch, new, at=k, sticky=sticky)
        assert exc is None, f"step {k}: {exc!r}"
        assert _leftovers(out) == [], f"step {k}"
        got = _outputs(out)
        if code == 0:
            assert got == {f"refs.{f}": new[f] for f in FORMATS}, f"step {k}: exit 0 but not the new set"
            outcomes.add("new")
        else:
            assert code == 5, f"step {k}: {err}"
            assert _files(out) == before, f"step {k}: previous set changed"
            assert len([ln for ln in err.splitlines() if ln.strip()]) == 1, err
            outcomes.add("old")
        # the next build after any failure is a normal one
        code, err, exc, _ = _counted_build(src, out, monkeypatch, new)
        assert code == 0 and _outputs(out) == {f"refs.{f}": new[f] for f in FORMATS}, f"step {k}: {err}"
    assert outcomes == {"old", "new"}


def _restore(out: Path, files: dict[str, tuple[bytes, int]]) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    for rel, (data, mtime) in files.items():
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        os.utime(p, ns=(mtime, mtime))


def test_a_build_killed_at_any_step_of_its_commit_leaves_a_whole_set(tmp_path: Path, monkeypatch) -> None:
    """SIGKILL-like death (no clean-up runs) at each file-system call of the
    commit, in a forked child; the next build finds either the previous set or
    the new one, never a mix, and no leftovers."""
    src, out, before = _prepare_previous_set(tmp_path, monkeypatch)
    new = _payloads("new", 3000)
    scratch = tmp_path / "scratch"
    shutil.copytree(out, scratch)
    _, _, _, total = _counted_build(src, scratch, monkeypatch, new)
    outcomes = set()
    for k in range(1, total + 1):
        _restore(out, before)
        pid = os.fork()
        if pid == 0:  # the child dies at step k
            try:
                _counted_build(src, out, monkeypatch, new, at=k, kill=True)
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        # the next build, with nothing new to render, recovers the folder first
        with monkeypatch.context() as m:
            m.setattr(build_mod, "render_parallel", _fake_renderer(new))
            m.setattr(build_mod.Manifest, "is_fresh", lambda *a, **kw: True)  # look, do not build
            code, err, exc = _cli(["build", str(src), "--out", str(out), "-q"])
        assert exc is None and code == 0, f"step {k}: {err}"
        assert _leftovers(out) == [], f"step {k}"
        got = _outputs(out)
        if got == {n: d for n, (d, _) in before.items() if "/" not in n and not n.startswith(".")}:
            assert _files(out) == before, f"step {k}: previous set not byte-identical"
            outcomes.add("old")
        else:
            assert got == {f"refs.{f}": new[f] for f in FORMATS}, f"step {k}: a mixed set"
            outcomes.add("new")
    assert "old" in outcomes and "new" in outcomes


# --------------------------------------------------------------------------- a real small filesystem


@pytest.fixture
def small_fs(tmp_path: Path):
    """A 1 MiB tmpfs mounted for the test (needs root and mount rights)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here: {r.stderr.strip() or r.returncode}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(mnt: Path, leave: int) -> Path:
    """Fill the filesystem, then free ``leave`` bytes."""
    filler = mnt / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        block = b"\0" * 65536
        while True:
            try:
                os.write(fd, block)
            except OSError as e:
                assert e.errno == errno.ENOSPC
                break
        block = b"\0" * 1024
        while True:
            try:
                os.write(fd, block)
            except OSError:
                break
        size = os.fstat(fd).st_size
        os.ftruncate(fd, max(0, size - leave))
    finally:
        os.close(fd)
    return filler


def test_real_full_disk_sweep_leaves_old_or_new_set(tmp_path: Path, small_fs: Path, monkeypatch) -> None:
    src = small_project(tmp_path)
    out = small_fs / "out"
    with monkeypatch.context() as m:
        m.setattr(build_mod, "render_parallel", _fake_renderer(_payloads("old", 60_000)))
        assert _cli(["build", str(src), "--out", str(out), "-q"])[0] == 0
    src.write_text(src.read_text() + "\nA change.\n")
    before = _files(out)
    new = _payloads("new", 120_000)
    outcomes = []
    for leave in (0, 4096, 100_000, 200_000, 300_000, 400_000, 800_000):
        filler = _fill(small_fs, leave)
        with monkeypatch.context() as m:
            m.setattr(build_mod, "render_parallel", _fake_renderer(new))
            code, err, exc = _cli(["build", str(src), "--out", str(out), "-q"])
        filler.unlink()
        assert exc is None, repr(exc)
        assert _leftovers(out) == [], leave
        if code == 0:
            assert _outputs(out) == {f"refs.{f}": new[f] for f in FORMATS}
            outcomes.append("new")
            break
        assert code == 5, err
        assert "no space left on device" in err, err
        assert _files(out) == before, f"leave={leave}: previous set changed"
        outcomes.append("old")
    assert outcomes[0] == "old" and outcomes[-1] == "new", outcomes


def test_real_full_disk_end_to_end(tmp_path: Path, small_fs: Path) -> None:
    """The real CLI and real writers on a real full disk: exit 5, one line,
    previous EPUB and DOCX byte-identical (the EPUB is no longer replaced alone)."""
    src = small_project(tmp_path)
    out = small_fs / "out"
    env = dict(os.environ, **ENV)
    args = [*PUBLISH, "build", str(src), "--out", str(out), "--format", "epub", "--format", "docx", "-q"]
    assert subprocess.run(args, env=env, capture_output=True).returncode == 0
    before = _files(out)
    src.write_text(src.read_text() + "\nA change.\n")
    epub_size = (out / "refs.epub").stat().st_size
    filler = _fill(small_fs, epub_size + 8192)  # room for the new EPUB, not for the DOCX too
    r = subprocess.run(args, env=env, capture_output=True, text=True)
    filler.unlink()
    assert r.returncode == 5, r.stderr
    assert "Traceback" not in r.stderr
    assert [ln for ln in r.stderr.splitlines() if ln.strip()] == [
        ln for ln in r.stderr.splitlines() if ln.startswith(f"{out}") and ": error: " in ln]
    assert "no space left on device" in r.stderr
    assert _files(out) == before
    assert _leftovers(out) == []


def test_real_read_only_folder(tmp_path: Path, small_fs: Path) -> None:
    src = small_project(tmp_path)
    out = small_fs / "out"
    env = dict(os.environ, **ENV)
    args = [*PUBLISH, "build", str(src), "--out", str(out), "--format", "docx", "-q"]
    assert subprocess.run(args, env=env, capture_output=True).returncode == 0
    before = _files(out)
    src.write_text(src.read_text() + "\nA change.\n")
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    r = subprocess.run(args, env=env, capture_output=True, text=True)
    assert r.returncode == 5, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.strip() == f"{out}: error: cannot write to the output folder: read-only file system"
    assert _files(out) == before
