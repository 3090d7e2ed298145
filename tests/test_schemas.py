"""The side files' JSON Schemas (issue 14): valid schemas, the shipped sources valid
against them, broken files refused with file:line:col in the reader's words, the
README's tables exactly what the schemas say, editors pointed at them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from publish.build import read
from publish.readers import schema as side_schema

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("glossary", "annotations", "people")
HEAD = "---\ntitle: T\nglossary: g.yaml\nannotations: n.yaml\npeople: p.yaml\n---\n"
BODY = "The [CAC]{.term ref=cac} [said]{.note ref=n1}, said [Musk]{.speaker ref=musk}.\n"
GOOD = {
    "g.yaml": "- id: cac\n  term: CAC\n  definition: The regulator.\n",
    "n.yaml": "- id: n1\n  kind: context\n  body: A note.\n",
    "p.yaml": "- id: musk\n  name: Elon Musk\n",
}


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_and_the_shipped_source_follows_it(kind: str) -> None:
    s = side_schema.schema(kind)
    Draft202012Validator.check_schema(s)
    data = yaml.safe_load((ROOT / "source" / f"{kind}.yaml").read_text(encoding="utf-8"))
    errors = [e.message for e in Draft202012Validator(s).iter_errors(data)]
    assert errors == []


@pytest.mark.parametrize("kind", KINDS)
def test_side_files_name_their_schema_for_editors(kind: str) -> None:
    first = (ROOT / "source" / f"{kind}.yaml").read_text(encoding="utf-8").splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    target = (ROOT / "source" / first[len(prefix):]).resolve()
    assert target == (ROOT / "src" / "publish" / "schemas" / f"{kind}.schema.json").resolve()


def _read(tmp_path: Path, **files: str):
    (tmp_path / "a.md").write_text(HEAD + BODY, encoding="utf-8")
    for name, text in {**GOOD, **files}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    _doc, diag = read(tmp_path / "a.md")
    return [f"{Path(d.path).name}:{d.line}:{d.col}: {d.message}" for d in diag.sorted() if d.severity == "error"]


BROKEN = [
    ("g.yaml", "- id: cac\n  term: CAC\n  defintion: The regulator.\n",
     ["g.yaml:1:3: entry 'cac' needs 'definition'", "g.yaml:3:3: unknown key 'defintion': did you mean 'definition'?"]),
    ("g.yaml", "- id: cac\n  term: CAC\n  definition: The regulator.\n  aliases: {a: 1}\n",
     ["g.yaml:4:3: 'aliases' must be text or a list of text"]),
    ("g.yaml", "- id: cac\n  term: CAC\n  definition: The regulator.\n  native: {lang: Arabic!, text: خوارزمية}\n",
     ["g.yaml:4:12: 'lang' must be a BCP 47 language tag such as ar, el, ru, hi or zh-Hans (got 'Arabic!')"]),
    ("g.yaml", "- id: cac\n  term: CAC\n  definition: The regulator.\n  native:\n    - lang: el\n      txt: δ\n",
     ["g.yaml:5:7: 'native' needs 'text'", "g.yaml:6:7: unknown key 'txt': did you mean 'text'?"]),
    ("g.yaml", "- id: cac\n  term: CAC\n  definition: The regulator.\n  native: ελληνικά\n",
     ["g.yaml:4:3: 'native' must be a mapping (lang, text, romanized, romanized-lang) or a list of them"]),
    ("n.yaml", "- id: n1\n  kind: aside\n  body: A note.\n",
     ["n.yaml:2:3: unknown annotation kind 'aside' (one of: context, update, source, editorial)"]),
    ("n.yaml", "- id: n1\n  kind: context\n  body: A note.\n  sources:\n    - titel: X\n",
     ["n.yaml:5:7: 'sources' needs 'title'", "n.yaml:5:7: unknown key 'titel': did you mean 'title'?"]),
    ("p.yaml", "- id: musk\n  name: [Elon, Musk]\n",
     ["p.yaml:2:3: 'name' must be text"]),
    ("p.yaml", "- name: Elon Musk\n",
     ["p.yaml:1:3: entry needs an 'id' (letters, digits, '-' or '_')"]),
]


@pytest.mark.parametrize("name,text,expected", BROKEN, ids=[f"{n}-{i}" for i, (n, _t, _e) in enumerate(BROKEN)])
def test_broken_side_files_are_refused_with_positions(tmp_path: Path, name: str, text: str, expected: list) -> None:
    got = [m for m in _read(tmp_path, **{name: text}) if m.startswith(name)]
    assert got == expected


def test_any_language_native_names_are_accepted(tmp_path: Path) -> None:
    g = ("- id: cac\n  term: CAC\n  definition: The regulator.\n"
         "  native:\n    - {lang: ar, text: خوارزمية, romanized: khawārizmiyya}\n"
         "    - {lang: el, text: δημοκρατία, romanized-lang: el-Latn, romanized: dēmokratía}\n"
         "  zh: 国家互联网信息办公室\n  pinyin: Guójiā\n")
    assert _read(tmp_path, **{"g.yaml": g}) == []
    doc, _ = read(tmp_path / "a.md")
    assert [(n.lang, n.romanized_lang) for n in doc.glossary[0].native] == [
        ("zh-Hans", "zh-Latn-pinyin"), ("ar", "ar-Latn"), ("el", "el-Latn")]


def test_readme_tables_are_generated_from_the_schemas() -> None:
    spec = importlib.util.spec_from_file_location("schema_table", ROOT / "scripts" / "schema_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert mod.tables() in readme, "run: python scripts/schema_table.py --write"
    # every field of every schema is in a table row
    for kind in KINDS:
        for name in json.loads((ROOT / "src/publish/schemas" / f"{kind}.schema.json").read_text())["items"]["properties"]:
            assert f"| `{name}` |" in mod.tables()
