"""One test per diagnostic of `publish check`, each asserting its exact path:line:col."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from publish.cli import main

GLOSSARY = """\
- id: cac
  term: CAC
  expansion: Cyberspace Administration of China
  definition: The regulator.
- id: pipl
  term: PIPL
  definition: A law.
"""
NOTES = """\
- id: n1
  kind: context
  body: A note.
"""
PEOPLE = """\
- id: musk
  name: Elon Musk
"""
HEAD = "---\ntitle: T\nglossary: g.yaml\nannotations: n.yaml\npeople: p.yaml\n---\n"
BODY_OK = "The [Cyberspace Administration of China]{.term} and [PIPL]{.term} [here]{.note ref=n1},\nsaid [Musk]{.speaker ref=musk}.\n"


def run_check(tmp_path: Path, md: str | bytes, **side: str) -> tuple[int, str]:
    files = {"g.yaml": GLOSSARY, "n.yaml": NOTES, "p.yaml": PEOPLE}
    files.update({k.replace("_", "."): v for k, v in side.items()})
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    src = tmp_path / "a.md"
    src.write_bytes(md if isinstance(md, bytes) else md.encode("utf-8"))
    res = CliRunner().invoke(main, ["check", str(src)])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.stderr.replace(str(tmp_path) + "/", "")


def test_clean_source_has_no_diagnostics(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, HEAD + BODY_OK)
    assert code == 0
    assert ": warning:" not in err and ": error:" not in err


def test_unknown_term_by_ref(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, HEAD + BODY_OK + "\nA [thing]{.term ref=nope}.\n")
    assert code == 1
    assert "a.md:10:3: error: unknown glossary term 'nope'" in err


def test_unknown_term_by_text(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, HEAD + BODY_OK + "\nA [DSL]{.term}.\n")
    assert code == 1
    assert "a.md:10:3: error: unknown glossary term for 'DSL'" in err


def test_unknown_note(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, HEAD + BODY_OK + "\nSee [this]{.note ref=ghost}.\n")
    assert code == 1
    assert "a.md:10:5: error: unknown annotation 'ghost'" in err


def test_unknown_person(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, HEAD + BODY_OK + "\nSaid [Bob]{.speaker ref=bob}.\n")
    assert code == 1
    assert "a.md:10:6: error: unknown person 'bob'" in err


def test_duplicate_glossary_id(tmp_path: Path) -> None:
    dup = GLOSSARY + "- id: cac\n  term: Other\n  definition: x.\n"
    code, err = run_check(tmp_path, HEAD + BODY_OK, g_yaml=dup)
    assert code == 1
    assert "g.yaml:8:3: error: duplicate id 'cac' (first at line 1)" in err


def test_annotation_never_anchored(tmp_path: Path) -> None:
    notes = NOTES + "- id: lost\n  kind: update\n  body: Never anchored.\n"
    code, err = run_check(tmp_path, HEAD + BODY_OK, n_yaml=notes)
    assert code == 1
    assert "n.yaml:4:3: error: annotation 'lost' is never anchored in the text" in err


def test_annotation_anchored_twice(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, HEAD + BODY_OK + "\nAgain [there]{.note ref=n1}.\n")
    assert code == 1
    assert "a.md:10:7: error: annotation 'n1' is already anchored at line 7" in err


def test_glossary_entry_never_used_is_a_warning(tmp_path: Path) -> None:
    body = BODY_OK.replace(" and [PIPL]{.term}", "")
    code, err = run_check(tmp_path, HEAD + body)
    assert code == 0
    assert "g.yaml:5:3: warning: glossary entry 'pipl' is never used in the text" in err


def test_unmarked_term_is_a_warning_with_its_line(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, HEAD + BODY_OK + "\nLater the PIPL again.\n")
    assert code == 0
    assert "a.md:10:11: warning: unmarked use of glossary term 'PIPL' (entry 'pipl')" in err


def test_abbreviation_before_expansion(tmp_path: Path) -> None:
    body = "First [CAC]{.term}, then [Cyberspace Administration of China]{.term}, [PIPL]{.term}" \
           " [x]{.note ref=n1} [Musk]{.speaker ref=musk}.\n"
    code, err = run_check(tmp_path, HEAD + body)
    assert code == 0
    assert ("a.md:7:7: warning: abbreviation 'CAC' is used before its expansion "
            "'Cyberspace Administration of China'") in err


def test_missing_title(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, "---\nauthor: X\n---\nText.\n")
    assert code == 1
    assert "a.md:1:1: error: missing required metadata 'title'" in err


def test_front_matter_yaml_syntax_error(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, "---\ntitle: T\nauthor: [unclosed\n---\nText.\n")
    assert code == 1
    assert "a.md:3:18: error: YAML syntax error" in err


def test_side_file_yaml_error(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, HEAD + BODY_OK, p_yaml="- id: musk\n  name: [Elon\n")
    assert code == 1
    assert "p.yaml:3:1: error: YAML syntax error" in err


def test_python_tag_refused(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, "---\ntitle: !!python/object/apply:os.system [ls]\n---\nx\n")
    assert code == 1
    assert "a.md:2:8: error: tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed" in err


def test_duplicate_key_refused(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, "---\ntitle: A\ntitle: B\n---\nx\n")
    assert code == 1
    assert "a.md:3:1: error: duplicate key 'title'" in err


def test_anchors_and_aliases_refused(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, "---\ntitle: &t A\nshort-title: *t\n---\nx\n")
    assert code == 1
    assert "a.md:2:8: error: anchors and aliases are not allowed" in err


def test_not_utf8_reports_the_line(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, b"---\ntitle: T\n---\nGood line.\n\nBad \xff byte.\n")
    assert code == 1
    assert "a.md:6:5: error: not UTF-8: byte 0xff cannot be decoded" in err


def test_unclosed_front_matter(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, "---\ntitle: T\n\nText without the closing line.\n")
    assert code == 1
    assert "a.md:1:1: error: front matter is not closed" in err


def test_front_matter_not_a_mapping(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, "---\n- a\n- b\n---\nx\n")
    assert code == 1
    assert "a.md:2:1: error: front matter must be a YAML mapping" in err


def test_missing_image(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, "---\ntitle: T\n---\nSee\n![A chart](img/chart.png).\n")
    assert code == 1
    assert "a.md:5:12: error: 'img/chart.png': file not found" in err


def test_empty_file(tmp_path: Path) -> None:
    code, err = run_check(tmp_path, "")
    assert code == 1
    assert "a.md:1:1: error: the source is empty" in err


def test_json_output_has_counts(tmp_path: Path) -> None:
    for name, text in {"g.yaml": GLOSSARY, "n.yaml": NOTES, "p.yaml": PEOPLE}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "a.md").write_text(HEAD + BODY_OK + "\n# Part\n\nMore.\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["check", "--json", str(tmp_path / "a.md")])
    data = json.loads(res.stdout)
    assert res.exit_code == 0 and data["ok"] is True
    c = data["counts"]
    assert (c["paragraphs"], c["sections"], c["term_uses"], c["people"]) == (2, 2, 2, 1)
    assert c["annotations"]["context"] == 1 and c["annotations"]["editorial"] == 0


def test_cli_errors_have_no_traceback_and_exit_codes(tmp_path: Path) -> None:
    src = tmp_path / "bad.md"
    src.write_text("---\ntitle: [\n---\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "publish", "check", str(src)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"{src}:")
    bad = subprocess.run([sys.executable, "-m", "publish", "build", "--format", "tiff"], capture_output=True, text=True)
    assert bad.returncode == 2


@pytest.mark.parametrize("args", [["check"], ["build", "--format", "pdf"]])
def test_missing_source_file(tmp_path: Path, args: list[str]) -> None:
    res = CliRunner().invoke(main, [*args, str(tmp_path / "nope.md")])
    assert res.exit_code == 1
    assert "nope.md:1:1: error: source file not found" in res.stderr


def test_json_counts_tables_figures_and_math(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (4, 3)).save(tmp_path / "x.png")
    body = "| a | b |\n|---|---|\n| 1 | 2 |\n\n![A figure](x.png)\n\nSome $x$ and $$y$$.\n"
    (tmp_path / "a.md").write_text("---\ntitle: T\n---\n" + body, encoding="utf-8")
    res = CliRunner().invoke(main, ["check", "--json", str(tmp_path / "a.md")])
    c = json.loads(res.stdout)["counts"]
    assert (c["tables"], c["figures"], c["math"], c["images"]) == (1, 1, 2, 1)
