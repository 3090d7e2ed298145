"""The friendlier command line and the set-up split (issue 14): no rendering here,
the build request is captured."""

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
    monkeypatch.setattr(cli, "_run_build", lambda req, quiet: reqs.append(req) or 0)
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
