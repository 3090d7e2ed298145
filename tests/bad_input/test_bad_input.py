"""The bad-input suite: each case asserts the exit code, the exact path:line:col,
no traceback, and an untouched out/ (or, for the cases that must build, a build)."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

HEAD = "---\ntitle: T\n---\n"
SIDE_HEAD = "---\ntitle: T\nglossary: g.yaml\nannotations: n.yaml\npeople: p.yaml\n---\n"
GLOSSARY = "- id: cac\n  term: CAC\n  definition: The regulator.\n"
NOTES = "- id: n1\n  kind: context\n  body: A note.\n"
PEOPLE = "- id: musk\n  name: Elon Musk\n"
SIDE_BODY = "The [CAC]{.term} [said]{.note ref=n1}, said [Musk]{.speaker ref=musk}.\n"


def png(width: int = 4, height: int = 3) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size (a decompression bomb's signature)."""
    data = bytearray(png(1, 1))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17])) & 0xFFFFFFFF
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


@dataclass
class Case:
    name: str
    source: bytes | str
    where: str = ""  # expected "file:line:col" (file relative to the project folder)
    message: str = ""
    code: int = 1
    files: dict[str, bytes | str] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None


def side(body: str = SIDE_BODY, **files: str) -> dict[str, str]:
    d = {"g.yaml": GLOSSARY, "n.yaml": NOTES, "p.yaml": PEOPLE}
    d.update({k.replace("_", "."): v for k, v in files.items()})
    return d


def _symlink_out(proj: Path) -> None:
    outside = proj.parent / "outside.png"
    outside.write_bytes(png())
    (proj / "source" / "pic.png").symlink_to(outside)


CASES = [
    Case("empty_file", "", "source/a.md:1:1", "the source is empty"),
    Case("binary_bytes", bytes(range(256)) * 4, "source/a.md:1:1", "NUL byte"),
    Case("png_as_source", png(), "source/a.md:3:1", "NUL byte in text (binary file?)"),
    Case("non_utf8", HEAD.encode() + b"Fine.\n\nCaf\xe9 au lait.\n", "source/a.md:6:4", "not UTF-8: byte 0xe9"),
    Case("nul_bytes", HEAD + "Text\x00more.\n", "source/a.md:4:5", "NUL byte in text"),
    Case("unclosed_front_matter", "---\ntitle: T\nText.\n", "source/a.md:1:1", "front matter is not closed"),
    Case("yaml_syntax_error", "---\ntitle: T\nauthor: {x\n---\nText.\n", "source/a.md:3:11", "YAML syntax error"),
    Case("front_matter_not_mapping", "---\njust a string\n---\nText.\n", "source/a.md:2:1", "front matter must be a YAML mapping"),
    Case("missing_title", "---\nauthor: X\n---\nText.\n", "source/a.md:1:1", "missing required metadata 'title'"),
    Case("duplicate_keys", "---\ntitle: A\nlang: en\ntitle: B\n---\nx\n", "source/a.md:4:1", "duplicate key 'title'"),
    Case("python_tag", "---\ntitle: !!python/object/apply:os.system ['id']\n---\nx\n", "source/a.md:2:8", "tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed"),
    Case("alias_bomb", "---\ntitle: T\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n---\nx\n",
         "source/a.md:3:4", "anchors and aliases are not allowed"),
    Case("lone_surrogate_escape", '---\ntitle: "Bad \\ud800 escape"\n---\nx\n', "source/a.md:2:8", "lone surrogate"),
    Case("unknown_term", SIDE_HEAD + SIDE_BODY + "\nA [DSL]{.term}.\n", "source/a.md:9:3", "unknown glossary term for 'DSL'", files=side()),
    Case("unknown_note", SIDE_HEAD + SIDE_BODY + "\nA [x]{.note ref=nope}.\n", "source/a.md:9:3", "unknown annotation 'nope'", files=side()),
    Case("unknown_person", SIDE_HEAD + SIDE_BODY + "\nA [Bob]{.speaker ref=bob}.\n", "source/a.md:9:3", "unknown person 'bob'", files=side()),
    Case("duplicate_ids", SIDE_HEAD + SIDE_BODY, "source/n.yaml:4:3", "duplicate id 'n1' (first at line 1)",
         files=side(n_yaml=NOTES + "- id: n1\n  kind: update\n  body: Again.\n")),
    Case("side_file_outside_tree", "---\ntitle: T\nglossary: ../../etc/passwd\n---\nx\n", "source/a.md:3:1", "resolves outside the project"),
    Case("side_file_absolute", "---\ntitle: T\npeople: /etc/passwd\n---\nx\n", "source/a.md:3:1", "absolute paths are not allowed"),
    Case("image_missing", HEAD + "See ![chart](chart.png).\n", "source/a.md:4:14", "'chart.png': file not found"),
    Case("image_outside_tree", HEAD + "See ![x](../../outside.png).\n", "source/a.md:4:10", "resolves outside the project"),
    Case("image_via_symlink", HEAD + "See ![x](pic.png).\n", "source/a.md:4:10", "resolves outside the project", setup=_symlink_out),
    Case("image_file_url", HEAD + "See ![x](file:///etc/passwd).\n", "source/a.md:4:10", "URLs are not fetched"),
    Case("image_not_an_image", HEAD + "See ![x](x.png).\n", "source/a.md:4:10", "not an image", files={"x.png": "<html>hello</html>"}),
    Case("image_truncated", HEAD + "See ![x](x.png).\n", "source/a.md:4:10", "image cannot be decoded", files={"x.png": png(300, 200)[:-30]}),
    Case("image_wrong_extension", HEAD + "See ![x](x.jpg).\n", "source/a.md:4:10", "is a PNG image: name it with one of .png",
         files={"x.jpg": png()}),
    Case("image_decompression_bomb", HEAD + "See ![x](x.png).\n", "source/a.md:4:10", "decompression bomb",
         files={"x.png": png_claiming(60000, 60000)}),
    Case("image_over_pixel_limit", HEAD + "See ![x](x.png).\n", "source/a.md:4:10", "the limit is 40,000,000 pixels",
         files={"x.png": png_claiming(9000, 9000)}),
    Case("html_script", HEAD + "Hello <script>alert(1)</script> there.\n", "source/a.md:4:7", "raw HTML <script> refused"),
    Case("html_script_block", HEAD + "<script>\nfetch('http://x')\n</script>\n", "source/a.md:4:1", "raw HTML <script> refused"),
    Case("html_iframe", HEAD + "<iframe src=\"https://x\"></iframe>\n", "source/a.md:4:1", "raw HTML <iframe> refused"),
    Case("html_object", HEAD + "A <object data=\"x.swf\"></object>\n", "source/a.md:4:3", "raw HTML <object> refused"),
    Case("html_embed", HEAD + "A <embed src=\"x.swf\">\n", "source/a.md:4:3", "raw HTML <embed> refused"),
    Case("html_link", HEAD + "<link rel=\"attachment\" href=\"/etc/passwd\">\n", "source/a.md:4:1", "raw HTML <link> refused"),
    Case("html_style", HEAD + "<style>body { background: url(/etc/passwd) }</style>\n", "source/a.md:4:1", "raw HTML <style> refused"),
    Case("html_base", HEAD + "A <base href=\"https://x/\"> b\n", "source/a.md:4:3", "raw HTML <base> refused"),
    Case("html_meta", HEAD + "<meta http-equiv=\"refresh\" content=\"0;url=https://x\">\n", "source/a.md:4:1", "raw HTML <meta> refused"),
    Case("html_event_handler", HEAD + "Some <span onmouseover=\"x()\">text</span>.\n", "source/a.md:4:6", "event-handler attribute 'onmouseover' refused"),
    Case("html_javascript_url", HEAD + "A <a href=\" javascript:alert(1)\">link</a>.\n", "source/a.md:4:3", "javascript: URLs are not allowed"),
    Case("link_javascript", HEAD + "A [link](javascript:alert(1)).\n", "source/a.md:4:10", "javascript: URLs are not allowed"),
    Case("html_img_bypass", HEAD + "A <img src=\"/etc/passwd\"> b\n", "source/a.md:4:3", "absolute paths are not allowed"),
    Case("html_img_outside", HEAD + "A <img src=\"../../x.png\" alt=\"x\"> b\n", "source/a.md:4:3", "resolves outside the project"),
    Case("deep_nesting", HEAD + "> " * 12 + "deep\n", "source/a.md:4:1", "blocks nested more than 8 deep"),
    Case("deep_list_nesting", HEAD + "".join("  " * k + "- item\n" for k in range(12)), "source/a.md:12:1",
         "blocks nested more than 8 deep"),
    Case("duplicate_explicit_id", HEAD + "One [a]{#dup} and\n[b]{#dup}.\n", "source/a.md:5:1", "duplicate id 'dup' (first at line 4)"),
    Case("id_not_an_xml_name", HEAD + "A [b]{#1st} c.\n", "source/a.md:4:3", "id '1st' must start with a letter"),
    Case("reserved_id", HEAD + "A [b]{#note-1} c.\n", "source/a.md:4:3", "id 'note-1' is reserved by publish"),
    Case("control_character", HEAD + "Fine.\n\nA bell \x07 rings.\n", "source/a.md:6:8", "control character U+0007"),
    Case("control_character_in_yaml", '---\ntitle: "A\\vB"\n---\nx\n', "source/a.md:2:8", "control character U+000B"),
    Case("footnote_never_referenced", HEAD + "Text.\n\n[^a]: An orphan note.\n", "source/a.md:6:1",
         "footnote '[^a]' is defined but never referenced"),
    Case("footnote_inside_a_note", SIDE_HEAD + SIDE_BODY, "source/n.yaml:3:2", "a note cannot contain another note",
         files=side(n_yaml='- id: n1\n  kind: context\n  body: "X[^1].\\n\\n[^1]: y"\n')),
    Case("annotation_id_fn_prefix", SIDE_HEAD + SIDE_BODY, "source/n.yaml:4:3", "the prefix 'fn-' belongs to Markdown footnotes",
         files=side(n_yaml=NOTES + "- id: fn-2\n  kind: update\n  body: B.\n")),
    Case("link_scheme_not_allowed", HEAD + "A [doc](ms-msdt:/id%20PCWDiagnostic) b.\n", "source/a.md:4:9",
         "only https:, http: and mailto: links are allowed"),
    Case("link_inside_html_link", HEAD + 'A <a href="https://x.org">[y](https://z.org)</a> b.\n', "source/a.md:4:3",
         "a link cannot stand inside a link"),
    Case("source_url_javascript", SIDE_HEAD + SIDE_BODY, "source/n.yaml:6:7", "must be an https:// or http:// address",
         files=side(n_yaml=NOTES + "  sources:\n    - title: T\n      url: 'javascript:alert(1)'\n")),
    Case("one_mb_single_line", HEAD + "word " * 200_000 + "\n", "source/a.md:4:100001", "the limit is 100,000"),
    Case("source_too_large", HEAD + ("A paragraph of text.\n\n" * 400_000), "source/a.md:1:1", "the limit is 8,000,000"),
]

MUST_BUILD = [
    Case("bom_with_crlf", b"\xef\xbb\xbf---\r\ntitle: CRLF and BOM\r\n---\r\nFirst line.\r\n\r\nSecond paragraph.\r\n", code=0),
    Case("rtl_and_combining", HEAD + "Arabic: \u0645\u0631\u062d\u0628\u0627 and Hebrew: \u05e9\u05dc\u05d5\u05dd; "
         "combining: e\u0301 a\u0308 n\u0303, Z\u0335\u0321a\u0336lgo.\n", code=0),
    Case("harmless_html", HEAD + "Some <b>bold</b> and <em>em</em>, <sup>2</sup>, H<sub>2</sub>O<br>\n\n<div class=\"x\"><p>A <i>div</i>.</p></div>\n", code=0),
    Case("inline_footnote_and_heading_marks", SIDE_HEAD + "# Intro [CAC]{.term} and [x]{.note ref=n1} {#intro}\n\n"
         "Text ^[an inline *footnote*], said [Musk]{.speaker ref=musk}; see [the intro](#intro).\n", code=0, files=side()),
    Case("image_with_encoded_name", HEAD + "See ![x](<a 100%25 b.png>).\n", code=0, files={"a 100% b.png": png(40, 30)}),
    Case("entity_surrogate", HEAD + "An entity &#xD800; becomes the replacement character.\n", code=0),
    # issue #11: a date that cannot be read is left out with a warning, not a refusal
    Case("annotation_unreadable_date", SIDE_HEAD + SIDE_BODY, code=0, files=side(n_yaml=NOTES + "  date: yesterday\n")),
]

# Issue #11: what can be kept visibly builds, with a warning at its place (exit 0);
# --strict makes each an error at the same place (exit 1, nothing written).
WARN_BUILD = [
    Case("image_url", HEAD + "See ![x](https://example.org/x.png).\n", "source/a.md:4:10",
         "'https://example.org/x.png' is not fetched"),
    Case("image_url_no_alt", HEAD + "![](http://127.0.0.1:9/x.png)\n", "source/a.md:4:5",
         "a line 'image not included: <URL>' stands in its place"),
    Case("html_img_url", HEAD + 'See <img src="https://example.org/x.png" alt="A chart"> here.\n', "source/a.md:4:5",
         "its alt text 'A chart' stands in its place"),
    Case("link_to_missing_id", HEAD + "# Top\n\nSee [below](#nowhere) or [top](#top).\n", "source/a.md:6:13",
         "link to '#nowhere': no heading, {#id}, gloss-ID or person-ID has that id; the text is kept"),
    Case("link_placeholder", HEAD + "Please [click here](#) now.\n", "source/a.md:4:21", "link to '#' is a placeholder"),
    Case("not_an_html_tag", HEAD + "Copyright (C) <year>  <name of author>\n", "source/a.md:4:15",
         "'<year>' is not an HTML tag: it is kept as text"),
    Case("html_attribute_dropped", HEAD + '<p xyz="1" align="center">A</p>\n', "source/a.md:4:1",
         "raw HTML attribute 'xyz' on <p> is dropped"),
    # a Toto letter (Unicode 14): no installed font has it (emoji may have a font: issue 11 adds one)
    Case("glyph_no_font_has", HEAD + "Plain line.\n\nA letter \U0001E290 here.\n", "source/a.md:6:10",
         "no font in styles/ or on this system has"),  # found by the check, before any writer runs
]

SENTINELS = {"a.pdf": b"%PDF previous", "a.epub": b"previous epub", "a.docx": b"previous docx"}


def _project(tmp_path: Path, case: Case) -> Path:
    proj = tmp_path / "proj"
    (proj / "source").mkdir(parents=True)
    for name, data in case.files.items():
        p = proj / "source" / name
        p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    src = proj / "source" / "a.md"
    src.write_bytes(case.source if isinstance(case.source, bytes) else case.source.encode("utf-8"))
    if case.setup:
        case.setup(proj)
    out = proj / "out"
    out.mkdir()
    for name, data in SENTINELS.items():
        (out / name).write_bytes(data)
    return proj


def _build(proj: Path, *formats: str) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "publish", "build", "source/a.md", "--out", "out", "-q"]
    for f in formats:
        args += ["--format", f]
    env = dict(os.environ, SOURCE_DATE_EPOCH="1632873600")
    return subprocess.run(args, cwd=proj, capture_output=True, text=True, env=env, timeout=300)


def test_at_least_thirty_cases() -> None:
    assert len(CASES) + len(MUST_BUILD) + len(WARN_BUILD) >= 30


def _check_ok(proj: Path) -> bool:
    """`publish check`'s verdict, in this process."""
    from publish.build import read

    doc, diag = read(proj / "source" / "a.md")
    return doc is not None and not diag.errors


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(tmp_path: Path, case: Case) -> None:
    proj = _project(tmp_path, case)
    r = _build(proj)
    assert _check_ok(proj) == (r.returncode == 0), "check and build disagree"
    assert r.returncode == case.code, r.stderr
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    first = r.stderr.splitlines()[0] if r.stderr else ""
    assert f"{case.where}: error: " in r.stderr, r.stderr
    assert case.message in r.stderr, r.stderr
    assert first.startswith(case.where.split(":")[0]), first
    # nothing overwritten, nothing added
    out = proj / "out"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(SENTINELS)
    for name, data in SENTINELS.items():
        assert (out / name).read_bytes() == data


@pytest.mark.parametrize("case", MUST_BUILD, ids=[c.name for c in MUST_BUILD])
def test_must_build(tmp_path: Path, case: Case) -> None:
    proj = _project(tmp_path, case)
    r = _build(proj)
    assert r.returncode == 0, r.stderr
    assert _check_ok(proj), "build ok but check refused"
    for name in SENTINELS:
        data = (proj / "out" / name).read_bytes()
        assert data != SENTINELS[name] and len(data) > 1000


@pytest.mark.parametrize("case", WARN_BUILD, ids=[c.name for c in WARN_BUILD])
def test_warns_and_builds_and_strict_refuses(tmp_path: Path, case: Case) -> None:
    proj = _project(tmp_path, case)
    strict = subprocess.run([sys.executable, "-m", "publish", "build", "source/a.md", "--out", "out", "-q", "--strict"],
                            cwd=proj, capture_output=True, text=True, timeout=300)
    assert strict.returncode == 1, strict.stderr
    assert f"{case.where}: error: " in strict.stderr and case.message in strict.stderr, strict.stderr
    for name, data in SENTINELS.items():
        assert (proj / "out" / name).read_bytes() == data
    r = _build(proj)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert f"{case.where}: warning: " in r.stderr and case.message in r.stderr, r.stderr
    assert _check_ok(proj), "build ok but check refused"
    for name in SENTINELS:
        data = (proj / "out" / name).read_bytes()
        assert data != SENTINELS[name] and len(data) > 1000


# Malformed tables degrade to text with a warning at the offending line (reader only: `publish check`).
WARN_CASES = [
    Case("grid_row_too_short", HEAD + "\n+-----+-----+\n| a   | b |\n+-----+-----+\n", "source/a.md:6:11",
         "looks like a grid table but this line is 11 characters long, the border 13"),
    Case("grid_row_too_long", HEAD + "\n+---+---+\n| a | b |\n| c | dd  |\n+---+---+\n", "source/a.md:7:9",
         "looks like a grid table but this line is 11 characters long, the border 9"),
    Case("grid_cells_do_not_close", HEAD + "\n+---+---+\n| a | b |\n| c | d |\n\nAfter.\n", "source/a.md:5:1",
         "looks like a grid table but its cells do not close"),
    Case("grid_in_list_item", HEAD + "\n- item\n\n  +----+\n  | a |\n  +----+\n", "source/a.md:8:7",
         "looks like a grid table but this line is 5 characters long, the border 6"),
]


@pytest.mark.parametrize("case", WARN_CASES, ids=[c.name for c in WARN_CASES])
def test_malformed_table_warns_and_keeps_text(tmp_path: Path, case: Case) -> None:
    proj = _project(tmp_path, case)
    r = subprocess.run([sys.executable, "-m", "publish", "check", "source/a.md"], cwd=proj,
                       capture_output=True, text=True, timeout=120)
    assert "Traceback" not in r.stderr
    assert f"{case.where}: warning: " in r.stderr, r.stderr
    assert case.message in r.stderr, r.stderr
    from publish.build import load
    from publish.model import Table, blocks_text, nodes

    doc = load(proj / "source" / "a.md")
    assert not any(isinstance(n, Table) for n in nodes(doc.blocks))
    text = " ".join(blocks_text(doc.blocks))
    assert "a" in text.split(), text  # the cell text is kept
