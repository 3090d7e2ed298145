"""The friendlier command line and the set-up split (issue 14): no real rendering here,
the build request is captured (the info channel tests render a tiny fake writer)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from publish import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def captured(monkeypatch):
    reqs = []
    monkeypatch.setattr(cli, "_run_build", lambda req, quiet, *a, **kw: reqs.append(req) or 0)
    return reqs


def _project(tmp_path: Path, toml: str | None = None) -> Path:
    src = tmp_path / "proj" / "text"
    src.mkdir(parents=True)
    (src / "a.md").write_text("---\ntitle: T\n---\nBody.\n", encoding="utf-8")
    (tmp_path / "proj" / ".git").mkdir()  # the project root
    if toml is not None:
        (tmp_path / "proj" / "publish.toml").write_text(toml, encoding="utf-8")
    return src / "a.md"


def test_formats_and_paper_in_any_case_and_as_comma_lists(tmp_path, captured, monkeypatch) -> None:
    src = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli.main, ["build", str(src), "--format", "PDF,epub", "--format", "Docx,pdf",
                                      "--paper", "A4"])
    assert r.exit_code == 0, r.output
    assert captured[0].formats == ("pdf", "epub", "docx") and captured[0].paper == "a4"
    r = CliRunner().invoke(cli.main, ["build", str(src), "--format", "pdf,odt"])
    assert r.exit_code == 2 and "'odt' is not one of" in r.output


def test_config_is_found_beside_the_source_then_up_to_the_project_root(tmp_path, captured, monkeypatch) -> None:
    src = _project(tmp_path, 'formats = ["DOCX"]\nout = "build"\npaper = "Letter"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    r = CliRunner().invoke(cli.main, ["build", str(src)])
    assert r.exit_code == 0, r.output
    req = captured[0]
    assert req.formats == ("docx",) and req.paper == "letter"
    assert Path(req.out_dir).resolve() == (tmp_path / "proj" / "build").resolve()  # relative to the file
    # beside the source wins over the project root
    (src.parent / "publish.toml").write_text('formats = ["pdf"]\n', encoding="utf-8")
    CliRunner().invoke(cli.main, ["build", str(src)])
    assert captured[1].formats == ("pdf",)


def test_config_search_stops_at_the_project_root(tmp_path, captured, monkeypatch) -> None:
    (tmp_path / "publish.toml").write_text('formats = ["pdf"]\n', encoding="utf-8")  # above the root
    src = _project(tmp_path)
    monkeypatch.chdir(src.parent)
    CliRunner().invoke(cli.main, ["build", "a.md"])
    assert captured[0].formats == ()


def test_version_and_shell_completion() -> None:
    r = CliRunner().invoke(cli.main, ["--version"])
    assert r.exit_code == 0 and r.output.startswith("publish, version ")
    for shell in ("bash", "zsh", "fish"):
        r = CliRunner().invoke(cli.main, ["completion", shell])
        assert r.exit_code == 0 and "_PUBLISH_COMPLETE" in r.output, shell


def test_format_completion_completes_comma_lists() -> None:
    from click.shell_completion import ShellComplete

    comp = ShellComplete(cli.main, {}, "publish", "_PUBLISH_COMPLETE")
    assert [c.value for c in comp.get_completions(["build", "--format"], "pdf,e")] == ["pdf,epub"]


def test_init_refuses_to_overwrite(tmp_path) -> None:
    r = CliRunner().invoke(cli.main, ["init", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "annotations.yaml", "article.md", "glossary.yaml", "people.yaml", "publish.toml"]
    before = (tmp_path / "article.md").read_bytes()
    (tmp_path / "article.md").write_text("mine", encoding="utf-8")
    r = CliRunner().invoke(cli.main, ["init", str(tmp_path)])
    assert r.exit_code == 1 and "already exists" in r.output
    assert (tmp_path / "article.md").read_text(encoding="utf-8") == "mine" and before != b"mine"


def test_make_build_installs_no_test_tools() -> None:
    render = subprocess.run(["bash", "scripts/system-deps.sh", "--list", "render"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    test = subprocess.run(["bash", "scripts/system-deps.sh", "--list", "test"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout.split()
    assert "fonts-noto-core" in render and "fonts-noto-cjk" in render
    for tool in ("libreoffice-writer-nogui", "default-jre-headless", "chromium", "calibre", "nodejs"):
        assert tool in test and tool not in render
    # what a fresh clone's make build would run (-B: as if nothing were made yet)
    plan = subprocess.run(["make", "-n", "-B", "build"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout
    assert "system-deps.sh render\n" in plan and "system-deps.sh render test" not in plan
    assert "install-ace" not in plan and "install-axe" not in plan and "[test]" not in plan
    plan = subprocess.run(["make", "-n", "-B", "test"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout
    assert "system-deps.sh render test" in plan and "install-ace" in plan and "'.[test]'" in plan


# --------------------------------------------------------------------------- the writers' info channel (issue 17)


@pytest.fixture
def info_writer(monkeypatch):
    """The docx row renders with tests/info_writer.py, which logs to publish.* at INFO."""
    from dataclasses import replace

    from publish.writers import WRITERS

    monkeypatch.setitem(WRITERS, "docx", replace(WRITERS["docx"], module="info_writer"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")


def _log_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("docx: ")]


@pytest.mark.parametrize("flag", ["--verbose", "-v"])
def test_verbose_prints_what_a_writer_logged_in_its_worker(tmp_path, info_writer, flag) -> None:
    src = _project(tmp_path)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli.main, ["build", str(src), "--out", str(out), "--format", "docx", flag])
    assert r.exit_code == 0, r.output
    lines = _log_lines(r.stderr)
    assert lines[0] == "docx: INFO: 1 layout, 3 mends"
    assert lines[1].startswith("docx: worker pid ") and int(lines[1].split()[-1]) != __import__("os").getpid()
    assert len(lines) == 2  # neither the DEBUG line nor another logger's
    assert (out / "a.docx").read_bytes() == b"T"
    # without --verbose: not printed (a new render: --no-cache)
    r = CliRunner().invoke(cli.main, ["build", str(src), "--out", str(out), "--format", "docx", "--no-cache"])
    assert r.exit_code == 0, r.output
    assert not _log_lines(r.stderr) and "INFO: 1 layout" not in r.output
    # --quiet --verbose: the writers' lines only
    r = CliRunner().invoke(cli.main, ["build", str(src), "--out", str(out), "--format", "docx", "--no-cache",
                                      "-q", "-v"])
    assert r.exit_code == 0, r.output
    assert _log_lines(r.stderr)[0] == "docx: INFO: 1 layout, 3 mends"


def _pid_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_watch_renders_every_save_on_one_warm_worker_and_verbose_shows_its_lines(tmp_path, info_writer,
                                                                                  monkeypatch) -> None:
    """publish watch keeps its workers for the session: two builds, one worker pid;
    the workers are gone when watch stops (Ctrl-C)."""
    import watchfiles

    src = _project(tmp_path)
    out = tmp_path / "out"

    def fake_watch(*paths, **kw):
        yield set()  # the watcher is up: the first build
        src.write_text(src.read_text().replace("title: T", "title: U"), encoding="utf-8")
        yield {(watchfiles.Change.modified, str(src))}  # a save
        raise KeyboardInterrupt  # Ctrl-C while idle

    monkeypatch.setattr(watchfiles, "watch", fake_watch)
    r = CliRunner().invoke(cli.main, ["watch", str(src), "--out", str(out), "--format", "docx", "--verbose"])
    assert r.exit_code == 0, r.output
    assert "change detected: rebuilding" in r.stderr and r.stderr.rstrip().endswith("stopped")
    lines = _log_lines(r.stderr)
    assert lines.count("docx: INFO: 1 layout, 3 mends") == 2  # one line per render
    pids = {int(ln.split()[-1]) for ln in lines if "worker pid" in ln}
    assert len(pids) == 1  # the same warm worker rendered both saves
    assert (out / "a.docx").read_bytes() == b"U"
    assert _pid_gone(pids.pop())  # and it ended with the session
    assert "Traceback" not in r.output


def test_ctrl_c_during_a_watch_build_stops_watch_and_ends_its_workers(tmp_path, monkeypatch) -> None:
    import os
    import signal
    import threading
    import time
    from dataclasses import replace

    import watchfiles

    from publish.pool import LocalPool
    from publish.writers import WRITERS

    monkeypatch.setitem(WRITERS, "docx", replace(WRITERS["docx"], module="sleepy_writer"))  # renders for 30 s
    src = _project(tmp_path)
    out = tmp_path / "out"
    pools: list[LocalPool] = []
    real_warm = LocalPool.warm
    monkeypatch.setattr(LocalPool, "warm", classmethod(lambda cls, *a: pools.append(real_warm(*a)) or pools[-1]))

    def fake_watch(*paths, **kw):
        threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGINT)).start()  # Ctrl-C mid-render
        yield set()
        raise AssertionError("watch went on after Ctrl-C")

    monkeypatch.setattr(watchfiles, "watch", fake_watch)
    started = time.monotonic()
    r = CliRunner().invoke(cli.main, ["watch", str(src), "--out", str(out), "--format", "docx"])
    assert r.exit_code == 0, r.output
    assert time.monotonic() - started < 10  # not the 30 s render
    assert "interrupted: previous outputs kept" in r.stderr and r.stderr.rstrip().endswith("stopped")
    assert not (out / "a.docx").exists()
    assert pools and pools[0].slots == []  # every worker ended
    assert "Traceback" not in r.output


def test_verbose_batch_prints_each_articles_writer_lines(tmp_path, info_writer) -> None:
    a = _project(tmp_path)
    b = a.with_name("b.md")
    b.write_text(a.read_text(), encoding="utf-8")
    r = CliRunner().invoke(cli.main, ["build", str(a), str(b), "--out", str(tmp_path / "out" / "{stem}"),
                                      "--format", "docx", "-v", "-j", "1"])
    assert r.exit_code == 0, r.output
    for s in (a, b):
        assert f"{s}: docx: INFO: 1 layout, 3 mends" in r.stderr.splitlines()
    r = CliRunner().invoke(cli.main, ["build", str(a), str(b), "--out", str(tmp_path / "out" / "{stem}"),
                                      "--format", "docx", "--no-cache", "-j", "1"])
    assert r.exit_code == 0, r.output
    assert "INFO: 1 layout" not in r.stderr
