"""Hostile input: nothing outside the project is read, no connection is opened,
templates print what they are given, and WeasyPrint's advisories stay closed."""

from __future__ import annotations


import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from audit import AUDIT, library_probe
from publish.build import load, render
from publish.options import RenderOptions
from publish.resources import Resolver

ROOT = Path(__file__).resolve().parents[1]
EPOCH = 1632873600
INJECTION = "{{ 7*7 }} <b>x</b> {% raw %}"


def _source(tmp_path: Path, body: str, title: str = "Plain") -> Path:
    src = tmp_path / "proj" / "source" / "a.md"
    src.parent.mkdir(parents=True, exist_ok=True)
    quoted = title.replace("\\", "\\\\").replace('"', '\\"')
    src.write_text(f'---\ntitle: "{quoted}"\nshort-title: "{quoted}"\n---\n{body}', encoding="utf-8")
    return src


def _texts(src: Path) -> dict[str, str]:
    """Every format rendered, read back by real readers (pdftotext, pandoc)."""
    import pypandoc

    resolver = Resolver.for_source(src)
    doc = load(src, resolver)
    out = {}
    for fmt in ("pdf", "epub", "docx"):
        path = src.parent / f"a.{fmt}"
        path.write_bytes(render(fmt, doc, RenderOptions(epoch=EPOCH), resolver))
        if fmt == "pdf":
            out[fmt] = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                                      text=True, check=True).stdout
        else:
            out[fmt] = pypandoc.convert_file(str(path), "plain", format=fmt, extra_args=["--wrap=none", "--standalone"])
    return out


def test_template_syntax_in_a_title_prints_literally_in_every_format(tmp_path: Path) -> None:
    src = _source(tmp_path, "Body with {{ 3*3 }} and {% if x %}y{% endif %}.\n", title=INJECTION)
    for fmt, text in _texts(src).items():
        flat = " ".join(text.split())
        assert INJECTION in flat, fmt
        assert "{{ 3*3 }}" in flat and "{% if x %}y{% endif %}" in flat, fmt
        assert "49" not in flat and " 9 " not in flat, fmt


def test_xml_special_characters_in_metadata_stay_text(tmp_path: Path) -> None:
    """XMP/OPF/core.xml injection: the title is data, in every package format."""
    import zipfile

    from lxml import etree
    from pypdf import PdfReader

    title = 'A </dc:title><x:evil/> & "quotes" ]]> <?pi?>'
    src = _source(tmp_path, "Text.\n", title=title)
    resolver = Resolver.for_source(src)
    doc = load(src, resolver)
    want = doc.meta.title  # after typography (curly quotes)
    pdf = PdfReader(io.BytesIO(render("pdf", doc, RenderOptions(epoch=EPOCH), resolver)))
    assert pdf.metadata.title == want
    xmp = pdf.xmp_metadata
    assert xmp is not None and want in (xmp.dc_title or {}).values()
    with zipfile.ZipFile(io.BytesIO(render("epub", doc, RenderOptions(epoch=EPOCH), resolver))) as z:
        opf = next(n for n in z.namelist() if n.endswith(".opf"))
        tree = etree.fromstring(z.read(opf))
        titles = tree.findall(".//{http://purl.org/dc/elements/1.1/}title")
        assert [t.text for t in titles] == [want]
    with zipfile.ZipFile(io.BytesIO(render("docx", doc, RenderOptions(epoch=EPOCH), resolver))) as z:
        core = etree.fromstring(z.read("docProps/core.xml"))
        assert core.find("{http://purl.org/dc/elements/1.1/}title").text == want


def test_fetcher_refuses_everything_but_project_files(tmp_path: Path) -> None:
    from weasyprint.urls import FatalURLFetchingError

    src = _source(tmp_path, "x\n")
    (src.parent / "ok.css").write_text("p { color: black }")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (src.parent / "link.css").symlink_to(secret)
    fetch = Resolver.for_source(src).weasyprint_fetcher().fetch
    assert fetch((src.parent / "ok.css").as_uri()).read() == b"p { color: black }"
    for url in ("http://127.0.0.1:9/x.png", "https://example.org/a.css", "ftp://example.org/x",
                secret.as_uri(), (src.parent / "link.css").as_uri(), "file:///etc/passwd",
                "file://localhost/etc/passwd", (src.parent / ".." / ".." / "secret.txt").as_uri(),
                "file://evil.example/etc/passwd"):
        with pytest.raises(FatalURLFetchingError):
            fetch(url)


def test_attachments_are_never_embedded(tmp_path: Path) -> None:
    """GHSA-35jj-wx47-4w8r: <link rel=attachment> read files past the URL fetcher."""
    from pypdf import PdfReader
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    src = _source(tmp_path, "x\n")
    inside = src.parent / "inside.txt"
    inside.write_text("inside")
    fetcher = Resolver.for_source(src).weasyprint_fetcher()
    html = f'<link rel="attachment" href="file:///etc/passwd"><a rel="attachment" href="{inside.as_uri()}">a</a><p>x</p>'
    try:
        data = HTML(string=html, url_fetcher=fetcher).write_pdf(attachments=None)
    except FatalURLFetchingError:
        return  # refused outright: nothing embedded
    reader = PdfReader(io.BytesIO(data))
    assert "/EmbeddedFiles" not in str(reader.trailer["/Root"].get("/Names", {}))
    assert b"root:" not in data


def test_the_article_pdf_has_no_attachments_and_the_writer_sets_none() -> None:
    from pypdf import PdfReader

    src = ROOT / "source" / "article.md"
    resolver = Resolver.for_source(src)
    data = render("pdf", load(src, resolver), RenderOptions(epoch=EPOCH), resolver)
    reader = PdfReader(io.BytesIO(data))
    assert not reader.attachments
    assert b"/EmbeddedFile" not in data


def test_presentational_hint_attributes_are_refused(tmp_path: Path) -> None:
    """GHSA-jhhc-3hcp-qhm5 (CSS injection through presentational hints): no such attribute gets in,
    and the PDF writer never turns presentational hints on."""
    from publish.build import read

    from publish.model import nodes

    src = _source(tmp_path, 'A <font color="red;background:url(http://x/)" xcolor="red">b</font> c.\n')
    doc, diag = read(src)
    assert doc is not None  # the attributes are dropped (xcolor with a warning), the text kept
    assert [d.message for d in diag.warnings] == ["raw HTML attribute 'xcolor' on <font> is dropped (it means nothing in a book)"]
    assert not [n for n in nodes(doc) if "url(" in repr(getattr(n, "attr", ""))]
    assert "presentational_hints" not in (ROOT / "src" / "publish" / "writers" / "pdf.py").read_text()





def _audited_build(tmp_path: Path, src: Path, name: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    site = tmp_path / "audit-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(AUDIT)
    log = tmp_path / f"{name}.log"
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH), PUBLISH_AUDIT_LOG=str(log),
               PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    r = subprocess.run([sys.executable, "-m", "publish", "build", str(src), "--out", str(src.parent.parent / "out"),
                        "--no-cache", "-q"], capture_output=True, text=True, env=env, cwd=src.parent.parent)
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return r, [ln for ln in lines if not ln.startswith("open\t" + str(site))]


def _allowed(path: str, project: Path) -> bool:
    import site
    import sysconfig

    prefixes = {str(project), str(ROOT / "src"), str(ROOT / "src" / "publish" / "styles"), sys.prefix, sys.base_prefix, sys.exec_prefix,
                os.path.realpath(sys.base_prefix), sysconfig.get_paths()["stdlib"], *site.getsitepackages(),
                "/usr/share/", "/usr/lib/", "/usr/local/lib/", "/etc/fonts/", "/dev/", "/proc/", "/sys/",
                "/etc/mime.types", "/etc/localtime", "/usr/share/zoneinfo", "/etc/ld.so.cache", "/etc/ssl/"}
    import re
    import tempfile

    # tempfile probing its folder (random 8-character names) for the library probe's linker output
    tmp = re.escape(tempfile.gettempdir())
    if re.fullmatch(rf"{tmp}(/tmp[a-z0-9_]{{8}}|/[a-z0-9_]{{8}})?", path):
        return True
    real = os.path.realpath(path)
    return any(path.startswith(p) or real.startswith(p) for p in prefixes)


def test_hostile_sources_read_nothing_outside_and_open_no_socket(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    hostile_ok = _source(tmp_path / "ok", textwrap.dedent(f'''\
        A [link](http://169.254.169.254/latest/meta-data/) and <a href="https://example.org/x.css">another</a>.

        <div class="x"><p>Harmless <em>markup</em> with <span lang="zh-Hans">中文</span>.</p></div>

        Text that mentions {secret} and file:///etc/passwd as plain words.

        Remote images are never fetched: ![x](http://127.0.0.1:9/x.png) <img src="https://127.0.0.1:9/y.png" alt="y">
    '''))
    r, events = _audited_build(tmp_path, hostile_ok, "ok")
    assert r.returncode == 0, r.stderr
    refused_cases = {
        "img_outside": "![x](../../../secret.txt)\n",
        "img_abs": f"![x]({secret})\n",
        "img_file_url": f"![x](file://{secret})\n",
        "html_img_abs": f'<img src="{secret}" alt="x">\n',
        "side_file": None,
        "raw_link": '<link rel="attachment" href="file:///etc/passwd">\n',
        "raw_style": "<style>@import url(http://127.0.0.1:9/x.css);</style>\n",
    }
    for name, body in refused_cases.items():
        if body is None:
            src = tmp_path / name / "proj" / "source" / "a.md"
            src.parent.mkdir(parents=True)
            src.write_text(f"---\ntitle: T\nglossary: {secret}\npeople: ../../../secret.txt\n---\nx\n")
        else:
            src = _source(tmp_path / name, body)
        rr, ev = _audited_build(tmp_path, src, name)
        assert rr.returncode == 1, (name, rr.stderr)
        assert "Traceback" not in rr.stderr
        events += ev
    opened = [e.split("\t", 1)[1] for e in events if e.startswith("open\t")]
    assert opened, "the audit hook saw no file at all: it is not working"
    assert any(p.endswith("print.css") for p in opened), "the workers' reads were not seen"
    # WeasyPrint's cffi library loading asks ldconfig/ld where libpango & co. live when it is
    # imported: a fixed command, the same for every input. Nothing else may run or connect.
    spawned = [e for e in events if not e.startswith("open\t")]
    assert not [e for e in spawned if not library_probe(e)], "a socket or process was created"
    for target in (str(secret), "/etc/passwd", "/etc/hostname"):
        assert not [p for p in opened if os.path.realpath(p) == target], target
    outside = sorted({p for p in opened if not _allowed(p, tmp_path)})
    assert outside == [], "\n".join(outside)
