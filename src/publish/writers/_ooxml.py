"""Raw OOXML that python-docx has no API for, kept in one small place.

Footnotes part, footnote references, bookmarks, internal hyperlinks, complex fields
(PAGE / NUMPAGES), run language tags and marks, list restarts, tables (grid, header
rows, merged cells), and a deterministic zip repackaging. In the spirit of python-docx's own ``oxml`` layer: functions that build
or edit elements, no knowledge of the document model.
"""

from __future__ import annotations

import hashlib
import re
from typing import Iterable

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from lxml import etree

# ---------------------------------------------------------------------------- runs


def run(text: str = "", style_id: str | None = None, lang: str | None = None, *,
        vert_align: str | None = None, strike: bool = False, rtl: bool = False) -> etree._Element:
    """A ``w:r`` with an optional character style and language.

    ``lang`` starting with ``zh`` tags the East Asian language (``w:eastAsia``) and asks
    Word to use the East Asian font slot (``w:hint``); any other value tags ``w:val``.
    ``vert_align`` ("subscript"/"superscript") and ``strike`` are the semantic run
    properties Word itself uses for those marks (``w:vertAlign``, ``w:strike``).
    ``rtl`` sets the run right to left (``w:rtl``) and tags its language as the
    complex-script one (``w:lang/@w:bidi``), as Word does for Arabic or Hebrew.
    Tabs and newlines in ``text`` become ``w:tab`` / ``w:br``.
    """
    r = OxmlElement("w:r")
    if style_id or lang or vert_align or strike or rtl:
        # CT_RPr is a sequence: rStyle, rFonts, ..., strike, ..., vertAlign, ..., lang
        rpr = OxmlElement("w:rPr")
        if style_id:
            rpr.append(OxmlElement("w:rStyle", {qn("w:val"): style_id}))
        zh = bool(lang and lang.lower().startswith("zh"))
        if zh:
            rpr.append(OxmlElement("w:rFonts", {qn("w:hint"): "eastAsia"}))
        elif rtl:
            rpr.append(OxmlElement("w:rFonts", {qn("w:hint"): "cs"}))
        if strike:
            rpr.append(OxmlElement("w:strike"))
        if vert_align:
            rpr.append(OxmlElement("w:vertAlign", {qn("w:val"): vert_align}))
        if rtl:
            rpr.append(OxmlElement("w:rtl"))
        if zh:
            rpr.append(OxmlElement("w:lang", {qn("w:eastAsia"): lang}))
        elif lang and rtl:
            rpr.append(OxmlElement("w:lang", {qn("w:val"): lang, qn("w:bidi"): lang}))
        elif lang:
            rpr.append(OxmlElement("w:lang", {qn("w:val"): lang}))
        r.append(rpr)
    for i, line in enumerate(text.split("\n")):
        if i:
            r.append(OxmlElement("w:br"))
        for j, chunk in enumerate(line.split("\t")):
            if j:
                r.append(OxmlElement("w:tab"))
            if chunk:
                t = OxmlElement("w:t")
                t.text = chunk
                if chunk != chunk.strip():
                    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
                r.append(t)
    return r


def break_run(style_id: str | None = None) -> etree._Element:
    r = run("", style_id)
    r.append(OxmlElement("w:br"))
    return r


def set_paragraph_style(p: etree._Element, style_id: str) -> None:
    p.style = style_id  # CT_P.style: get_or_add_pPr / pStyle


def set_numbering(p: etree._Element, num_id: int, ilvl: int) -> None:
    """Direct list membership (``w:numPr``): the list instance, not its look."""
    ppr = p.get_or_add_pPr()
    numpr = ppr.get_or_add_numPr()
    numpr.get_or_add_ilvl().val = ilvl
    numpr.get_or_add_numId().val = num_id


def set_alignment(p: etree._Element, align: str) -> None:
    """Direct paragraph alignment (``w:jc``): used for table cells only, where alignment is
    the column's content (numbers right), not the house look."""
    p.get_or_add_pPr().jc_val = {"left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT,
                                 "center": WD_ALIGN_PARAGRAPH.CENTER}[align]


# ---------------------------------------------------------------------------- tables


def table(style_id: str, grid: list[int], width_pct: int | None, header: bool,
          caption: str = "") -> etree._Element:
    """A ``w:tbl`` with its properties and grid, no rows yet.

    ``grid``: the column widths in twips; ``width_pct``: the table's width in fiftieths of
    a percent of the text width (fixed layout), or None to let Word fit the content.
    ``header``: the first rows are header rows (the table style's first-row look).
    ``caption``: the plain text of the caption, for accessibility (``w:tblCaption``).
    """
    tbl = OxmlElement("w:tbl")
    pr = OxmlElement("w:tblPr")
    pr.append(OxmlElement("w:tblStyle", {qn("w:val"): style_id}))
    if width_pct is None:
        pr.append(OxmlElement("w:tblW", {qn("w:w"): "0", qn("w:type"): "auto"}))
    else:
        pr.append(OxmlElement("w:tblW", {qn("w:w"): str(width_pct), qn("w:type"): "pct"}))
        pr.append(OxmlElement("w:tblLayout", {qn("w:type"): "fixed"}))
    pr.append(OxmlElement("w:tblLook", {
        qn("w:val"): "0020" if header else "0000", qn("w:firstRow"): "1" if header else "0",
        qn("w:lastRow"): "0", qn("w:firstColumn"): "0", qn("w:lastColumn"): "0",
        qn("w:noHBand"): "0", qn("w:noVBand"): "0"}))
    if caption:
        pr.append(OxmlElement("w:tblCaption", {qn("w:val"): caption}))
    tbl.append(pr)
    g = OxmlElement("w:tblGrid")
    for w in grid:
        g.append(OxmlElement("w:gridCol", {qn("w:w"): str(w)}))
    tbl.append(g)
    return tbl


def table_row(header: bool) -> etree._Element:
    """A ``w:tr``; a header row repeats at the top of every page (``w:tblHeader``)."""
    tr = OxmlElement("w:tr")
    if header:
        pr = OxmlElement("w:trPr")
        pr.append(OxmlElement("w:tblHeader"))
        tr.append(pr)
    return tr


def table_cell(width: int | None, span: int = 1, vmerge: str | None = None) -> etree._Element:
    """A ``w:tc`` (content to be added): ``width`` in twips (None: automatic), ``span``
    grid columns (``w:gridSpan``), ``vmerge`` "restart" for the first cell of a row span,
    "continue" for the cells it covers below (``w:vMerge``)."""
    tc = OxmlElement("w:tc")
    pr = OxmlElement("w:tcPr")  # CT_TcPr is a sequence: tcW, gridSpan, hMerge, vMerge, ...
    if width is not None:
        pr.append(OxmlElement("w:tcW", {qn("w:w"): str(width), qn("w:type"): "dxa"}))
    if span > 1:
        pr.append(OxmlElement("w:gridSpan", {qn("w:val"): str(span)}))
    if vmerge == "restart":
        pr.append(OxmlElement("w:vMerge", {qn("w:val"): "restart"}))
    elif vmerge:
        pr.append(OxmlElement("w:vMerge"))
    tc.append(pr)
    return tc


# ---------------------------------------------------------------------------- links, bookmarks

_BOOKMARK_OK = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,39}$")


def bookmark_name(anchor: str) -> str:
    """A valid bookmark name (Word keeps at most 40 characters) for an anchor id."""
    if _BOOKMARK_OK.match(anchor):
        return anchor
    clean = re.sub(r"[^A-Za-z0-9_\-]", "_", anchor)
    if not clean or not clean[0].isalpha():
        clean = "a" + clean
    digest = hashlib.sha1(anchor.encode("utf-8")).hexdigest()[:8]
    return f"{clean[:31]}_{digest}"


def hyperlink_anchor(name: str) -> etree._Element:
    return OxmlElement("w:hyperlink", {qn("w:anchor"): name, qn("w:history"): "1"})


def hyperlink_external(r_id: str) -> etree._Element:
    return OxmlElement("w:hyperlink", {qn("r:id"): r_id, qn("w:history"): "1"})


def bookmark_around(parent: etree._Element, first: etree._Element | None,
                    last: etree._Element | None, bm_id: int, name: str) -> None:
    """Insert ``w:bookmarkStart``/``End`` around ``first``..``last`` (children of ``parent``),
    or at the end of ``parent`` when there is nothing to wrap."""
    start = OxmlElement("w:bookmarkStart", {qn("w:id"): str(bm_id), qn("w:name"): name})
    end = OxmlElement("w:bookmarkEnd", {qn("w:id"): str(bm_id)})
    if first is None or last is None:
        parent.append(start)
        parent.append(end)
        return
    first.addprevious(start)
    last.addnext(end)


# ---------------------------------------------------------------------------- fields


def field_runs(instr: str, placeholder: str) -> list[etree._Element]:
    """A complex field (``w:fldChar`` begin/separate/end) with a cached result."""
    begin = run()
    begin.append(OxmlElement("w:fldChar", {qn("w:fldCharType"): "begin"}))
    code = run()
    it = OxmlElement("w:instrText")
    it.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    it.text = f" {instr} "
    code.append(it)
    sep = run()
    sep.append(OxmlElement("w:fldChar", {qn("w:fldCharType"): "separate"}))
    result = run(placeholder)
    end = run()
    end.append(OxmlElement("w:fldChar", {qn("w:fldCharType"): "end"}))
    return [begin, code, sep, result, end]


# ---------------------------------------------------------------------------- footnotes

_FOOTNOTES_XML = (
    f'<w:footnotes {nsdecls("w", "r")}>'
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/>'
    "</w:r></w:p></w:footnote></w:footnotes>"
)


class Footnotes:
    """The footnotes part (``word/footnotes.xml``): python-docx loads it as an opaque
    blob; we parse it, add ``w:footnote`` elements and write the blob back."""

    def __init__(self, document_part) -> None:
        try:
            part = document_part.part_related_by(RT.FOOTNOTES)
        except KeyError:
            part = Part(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES,
                        _FOOTNOTES_XML.encode("utf-8"), document_part.package)
            document_part.relate_to(part, RT.FOOTNOTES)
            _ensure_footnote_pr(document_part)
        self.part = part
        self.element = parse_xml(part.blob)
        # Keep the separators (ids -1/0 or whatever the reference uses); drop any notes.
        for fn in self.element.findall(qn("w:footnote")):
            if fn.get(qn("w:type")) not in ("separator", "continuationSeparator",
                                            "continuationNotice"):
                self.element.remove(fn)
        # Note ids start above the separators' (Word uses -1/0, LibreOffice 0/1).
        self.offset = max((int(fn.get(qn("w:id"), "0")) for fn in self.element.findall(qn("w:footnote"))),
                          default=0)

    def id_for(self, number: int) -> int:
        """The w:id of reader note ``number``."""
        return self.offset + number

    def add(self, number: int) -> etree._Element:
        fn = OxmlElement("w:footnote", {qn("w:id"): str(self.id_for(number))})
        self.element.append(fn)
        return fn

    def relate_hyperlink(self, url: str) -> str:
        return self.part.relate_to(url, RT.HYPERLINK, is_external=True)

    def finish(self) -> None:
        self.part._blob = etree.tostring(self.element, xml_declaration=True,
                                         encoding="UTF-8", standalone=True)


def _ensure_footnote_pr(document_part) -> None:
    settings = document_part._settings_part.element
    if settings.find(qn("w:footnotePr")) is None:
        pr = parse_xml(f'<w:footnotePr {nsdecls("w")}><w:footnote w:id="-1"/>'
                       '<w:footnote w:id="0"/></w:footnotePr>')
        # CT_Settings is a sequence: Word rejects footnotePr out of place
        for name in _AFTER_FOOTNOTE_PR:
            later = settings.find(qn(f"w:{name}"))
            if later is not None:
                later.addprevious(pr)
                return
        settings.append(pr)


_AFTER_FOOTNOTE_PR = (
    "endnotePr", "compat", "docVars", "rsids", "mathPr", "attachedSchema", "themeFontLang",
    "clrSchemeMapping", "doNotIncludeSubdocsInStats", "doNotAutoCompressPictures",
    "forceUpgrade", "captions", "readModeInkLockDown", "smartTagType", "schemaLibrary",
    "shapeDefaults", "doNotEmbedSmartTags", "decimalSymbol", "listSeparator",
)


def footnote_reference_run(fid: int, style_id: str) -> etree._Element:
    r = run("", style_id)
    r.append(OxmlElement("w:footnoteReference", {qn("w:id"): str(fid)}))
    return r


def footnote_ref_mark_run(style_id: str) -> etree._Element:
    """The number mark at the start of the note text (``w:footnoteRef``)."""
    r = run("", style_id)
    r.append(OxmlElement("w:footnoteRef"))
    return r


def renumber_comments(document_part, first_id: int) -> None:
    """Give every comment a ``w:id`` from ``first_id`` up, in the comments part and at
    its anchors (``w:commentRangeStart``/``End``, ``w:commentReference``).

    LibreOffice 7.4 (Debian's) imports footnotes wrongly -- a later note shows an
    earlier note's text -- whenever a comment's id is not above every footnote id, as
    Word and pandoc number them (comments from 0, notes from 1). The ids are only
    labels pairing anchors with comments, so any distinct numbers are valid OOXML;
    numbering comments above the notes sidesteps the bug (README, "LibreOffice")."""
    try:
        part = document_part.part_related_by(RT.COMMENTS)
    except KeyError:
        return
    new_ids: dict[str, str] = {}
    for n, c in enumerate(part.element.findall(qn("w:comment"))):
        new_ids[c.get(qn("w:id"))] = str(first_id + n)
        c.set(qn("w:id"), new_ids[c.get(qn("w:id"))])
    tags = tuple(qn(f"w:{t}") for t in ("commentRangeStart", "commentRangeEnd", "commentReference"))
    for el in document_part.element.iter(*tags):
        old = el.get(qn("w:id"))
        if old in new_ids:
            el.set(qn("w:id"), new_ids[old])


# ---------------------------------------------------------------------------- styles, lists


def set_default_language(styles_element: etree._Element, lang: str) -> None:
    """The document language (``w:docDefaults/w:rPrDefault/w:rPr/w:lang/@w:val``)."""
    rpr = styles_element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    if rpr is None:
        return
    el = rpr.find(qn("w:lang"))
    if el is None:
        el = OxmlElement("w:lang")
        rpr.append(el)
    el.set(qn("w:val"), lang)


def style_num_id(style_element: etree._Element) -> int | None:
    el = style_element.find(f"{qn('w:pPr')}/{qn('w:numPr')}/{qn('w:numId')}")
    return int(el.get(qn("w:val"))) if el is not None else None


def restart_list(numbering_element, num_id: int, ilvl: int, start: int) -> int:
    """A new list instance of the same abstract list as ``num_id``, starting at ``start``."""
    num = numbering_element.num_having_numId(num_id)
    new = numbering_element.add_num(num.abstractNumId.val)
    new.add_lvlOverride(ilvl=ilvl).add_startOverride(start)
    return int(new.numId)


# ---------------------------------------------------------------------------- core properties

_CORE_DROP = ("lastModifiedBy", "lastPrinted", "category", "contentStatus", "version")


def clean_core_properties(core_element: etree._Element) -> None:
    """Remove what a template leaves behind ("last modified by", printed dates...)."""
    cp = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
    for child in list(core_element):
        local = etree.QName(child).localname
        if etree.QName(child).namespace == cp and local in _CORE_DROP:
            core_element.remove(child)
        elif (child.text or "").strip() == "" and len(child) == 0:
            core_element.remove(child)


# ---------------------------------------------------------------------------- packaging


def deterministic_zip(data: bytes, epoch: int, drop: Iterable[str] = ()) -> bytes:
    """Rewrite a package with fixed entry times and attributes, same entry order."""
    from .common import repack_zip

    return repack_zip(data, epoch, drop=drop)
