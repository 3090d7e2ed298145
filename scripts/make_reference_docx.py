#!/usr/bin/env python3
"""Generate ``src/publish/styles/reference.docx`` (the default shipped in the package) from scratch, reproducibly.

The DOCX writer takes *all* look from the named styles in this file, as Pandoc's
``--reference-doc`` does. Edit the style table below (or the .docx itself in Word)
to restyle every output. The package is written part by part (no python-docx
default template: no "python-docx" creator, no 2013 dates, no thumbnail), with
fixed zip entry times, so running the script twice gives identical bytes.

    python scripts/make_reference_docx.py [OUTPUT]   # default: src/publish/styles/reference.docx
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

SERIF = "Noto Serif"
SANS = "Noto Sans"
MONO = "Noto Sans Mono"
CJK_SERIF = "Noto Serif CJK SC"
CJK_SANS = "Noto Sans CJK SC"


def fonts(latin: str, cjk: str) -> str:
    return (f'<w:rFonts w:ascii="{latin}" w:hAnsi="{latin}" w:eastAsia="{cjk}" '
            f'w:cs="{latin}"/>')


SANS_FONTS = fonts(SANS, CJK_SANS)

# (type, name, styleId, basedOn, next, pPr inner XML, rPr inner XML, extra)
# Sizes are half-points (w:sz 22 = 11 pt); spacing in twentieths of a point.
PARA = "paragraph"
CHAR = "character"
STYLES: list[tuple[str, str, str, str, str, str, str]] = [
    # ------------------------------------------------------------ paragraphs
    (PARA, "Normal", "Normal", "", "", "", ""),
    (PARA, "Body Text", "BodyText", "Normal", "",
     '<w:spacing w:before="0" w:after="160" w:line="300" w:lineRule="auto"/>', ""),
    (PARA, "Title", "Title", "Normal", "BodyText",
     '<w:keepNext/><w:spacing w:before="0" w:after="120" w:line="240" w:lineRule="auto"/>'
     '<w:outlineLvl w:val="9"/>',
     SANS_FONTS + '<w:b/><w:bCs/><w:sz w:val="48"/><w:szCs w:val="48"/>'),
    (PARA, "Title Note", "TitleNote", "Normal", "BodyText",
     '<w:spacing w:before="0" w:after="200"/>',
     '<w:i/><w:iCs/><w:color w:val="666666"/><w:sz w:val="18"/><w:szCs w:val="18"/>'),
    (PARA, "Subtitle", "Subtitle", "Normal", "BodyText",
     '<w:keepNext/><w:spacing w:before="0" w:after="240" w:line="300" w:lineRule="auto"/>',
     '<w:color w:val="333333"/><w:sz w:val="28"/><w:szCs w:val="28"/>'),
    (PARA, "Series Note", "SeriesNote", "Normal", "BodyText",
     '<w:spacing w:before="0" w:after="160"/>',
     '<w:i/><w:iCs/><w:color w:val="555555"/><w:sz w:val="20"/><w:szCs w:val="20"/>'),
    (PARA, "Byline", "Byline", "Normal", "BodyText",
     '<w:spacing w:before="0" w:after="40"/>',
     SANS_FONTS + '<w:b/><w:bCs/><w:sz w:val="20"/><w:szCs w:val="20"/>'),
    (PARA, "Dateline", "Dateline", "Normal", "BodyText",
     '<w:pBdr><w:bottom w:val="single" w:sz="4" w:space="8" w:color="999999"/></w:pBdr>'
     '<w:spacing w:before="0" w:after="360"/>',
     SANS_FONTS + '<w:color w:val="666666"/><w:sz w:val="18"/><w:szCs w:val="18"/>'),
    *[
        (PARA, f"heading {n}", f"Heading{n}", "Normal", "BodyText",
         f'<w:keepNext/><w:keepLines/><w:spacing w:before="{360 - 40 * n}" w:after="120"/>'
         f'<w:outlineLvl w:val="{n - 1}"/>',
         SANS_FONTS + f'<w:b/><w:bCs/><w:sz w:val="{size}"/><w:szCs w:val="{size}"/>')
        for n, size in ((1, 30), (2, 26), (3, 24), (4, 22), (5, 22), (6, 20))
    ],
    (PARA, "Quote", "Quote", "BodyText", "BodyText",
     '<w:ind w:left="720" w:right="720"/>',
     '<w:i/><w:iCs/><w:color w:val="333333"/>'),
    (PARA, "Block Text", "BlockText", "BodyText", "BodyText",
     '<w:pBdr><w:left w:val="single" w:sz="12" w:space="8" w:color="999999"/></w:pBdr>'
     '<w:ind w:left="360"/>', ""),
    (PARA, "List Paragraph", "ListParagraph", "BodyText", "",
     '<w:spacing w:after="80"/><w:ind w:left="720"/>', ""),
    (PARA, "List Bullet", "ListBullet", "ListParagraph", "",
     '<w:numPr><w:numId w:val="1"/></w:numPr><w:ind w:left="360" w:hanging="360"/>', ""),
    (PARA, "List Bullet 2", "ListBullet2", "ListParagraph", "",
     '<w:numPr><w:ilvl w:val="1"/><w:numId w:val="1"/></w:numPr>'
     '<w:ind w:left="720" w:hanging="360"/>', ""),
    (PARA, "List Number", "ListNumber", "ListParagraph", "",
     '<w:numPr><w:numId w:val="2"/></w:numPr><w:ind w:left="360" w:hanging="360"/>', ""),
    (PARA, "List Number 2", "ListNumber2", "ListParagraph", "",
     '<w:numPr><w:ilvl w:val="1"/><w:numId w:val="2"/></w:numPr>'
     '<w:ind w:left="720" w:hanging="360"/>', ""),
    (PARA, "List Continue", "ListContinue", "ListParagraph", "",
     '<w:ind w:left="360"/>', ""),
    (PARA, "List Continue 2", "ListContinue2", "ListParagraph", "",
     '<w:ind w:left="720"/>', ""),
    (PARA, "Definition Term", "DefinitionTerm", "BodyText", "Definition",
     '<w:keepNext/><w:spacing w:after="40"/>', '<w:b/><w:bCs/>'),
    (PARA, "Definition", "Definition", "BodyText", "",
     '<w:ind w:left="360"/>', ""),
    (PARA, "Source Code", "SourceCode", "Normal", "BodyText",
     '<w:shd w:val="clear" w:color="auto" w:fill="F3F3F3"/>'
     '<w:spacing w:before="0" w:after="160" w:line="240" w:lineRule="auto"/>',
     fonts(MONO, CJK_SANS) + '<w:sz w:val="18"/><w:szCs w:val="18"/>'),
    (PARA, "Thematic Break", "ThematicBreak", "Normal", "BodyText",
     '<w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" w:color="999999"/></w:pBdr>'
     '<w:spacing w:before="120" w:after="280"/><w:ind w:left="3000" w:right="3000"/>',
     '<w:sz w:val="8"/><w:szCs w:val="8"/>'),
    (PARA, "Credit", "Credit", "BodyText", "",
     '<w:spacing w:after="40"/>',
     SANS_FONTS + '<w:color w:val="555555"/><w:sz w:val="18"/><w:szCs w:val="18"/>'),
    (PARA, "Rights", "Rights", "Credit", "", "", ""),
    (PARA, "caption", "Caption", "Normal", "BodyText",
     '<w:spacing w:before="40" w:after="200"/>',
     '<w:i/><w:iCs/><w:sz w:val="18"/><w:szCs w:val="18"/>'),
    (PARA, "Image Caption", "ImageCaption", "Caption", "BodyText", "", ""),
    (PARA, "Table Caption", "TableCaption", "Caption", "BodyText",
     '<w:keepNext/><w:spacing w:before="200" w:after="80"/>', ""),
    (PARA, "Figure", "Figure", "BodyText", "ImageCaption", '<w:keepNext/>', ""),
    # paragraphs in table cells (and other Plain text): little space around them
    (PARA, "Compact", "Compact", "BodyText", "",
     '<w:spacing w:before="36" w:after="36" w:line="240" w:lineRule="auto"/>', ""),
    (PARA, "Glossary Term", "GlossaryTerm", "BodyText", "GlossaryDefinition",
     '<w:keepNext/><w:spacing w:before="160" w:after="40"/>', '<w:b/><w:bCs/>'),
    (PARA, "Glossary Definition", "GlossaryDefinition", "BodyText", "GlossaryTerm",
     '<w:ind w:left="360"/>', ""),
    (PARA, "Voice", "Voice", "BodyText", "",
     '<w:spacing w:after="80"/><w:ind w:left="360" w:hanging="360"/>', ""),
    (PARA, "Source Entry", "SourceEntry", "Voice", "", "", ""),
    (PARA, "Colophon", "Colophon", "BodyText", "", '<w:spacing w:after="60"/>',
     '<w:sz w:val="20"/><w:szCs w:val="20"/>'),
    (PARA, "Footnote Text", "FootnoteText", "Normal", "",
     '<w:spacing w:before="0" w:after="60" w:line="240" w:lineRule="auto"/>',
     '<w:sz w:val="18"/><w:szCs w:val="18"/>'),
    (PARA, "Comment Text", "CommentText", "Normal", "",
     '<w:spacing w:after="60"/>', '<w:sz w:val="20"/><w:szCs w:val="20"/>'),
    (PARA, "header", "Header", "Normal", "",
     '<w:tabs><w:tab w:val="center" w:pos="4513"/><w:tab w:val="right" w:pos="9026"/></w:tabs>'
     '<w:jc w:val="right"/>',
     SANS_FONTS + '<w:color w:val="666666"/><w:sz w:val="16"/><w:szCs w:val="16"/>'),
    (PARA, "footer", "Footer", "Normal", "",
     '<w:jc w:val="center"/>',
     SANS_FONTS + '<w:color w:val="666666"/><w:sz w:val="16"/><w:szCs w:val="16"/>'),
    # ------------------------------------------------------------ characters
    (CHAR, "Default Paragraph Font", "DefaultParagraphFont", "", "", "", ""),
    (CHAR, "Emphasis", "Emphasis", "DefaultParagraphFont", "", "", '<w:i/><w:iCs/>'),
    (CHAR, "Strong", "Strong", "DefaultParagraphFont", "", "", '<w:b/><w:bCs/>'),
    (CHAR, "Strong Emphasis", "StrongEmphasis", "DefaultParagraphFont", "", "",
     '<w:b/><w:bCs/><w:i/><w:iCs/>'),
    (CHAR, "Small Caps", "SmallCaps", "DefaultParagraphFont", "", "", '<w:smallCaps/>'),
    (CHAR, "Verbatim Char", "VerbatimChar", "DefaultParagraphFont", "", "",
     fonts(MONO, CJK_SANS) + '<w:sz w:val="20"/><w:szCs w:val="20"/>'),
    (CHAR, "Hyperlink", "Hyperlink", "DefaultParagraphFont", "", "",
     '<w:color w:val="0B5394"/><w:u w:val="single"/>'),
    (CHAR, "Glossary Link", "GlossaryLink", "DefaultParagraphFont", "", "",
     '<w:color w:val="1F4E79"/><w:u w:val="dotted"/>'),
    (CHAR, "Speaker", "Speaker", "DefaultParagraphFont", "", "", ""),
    (CHAR, "Chinese Name", "ChineseName", "DefaultParagraphFont", "", "",
     f'<w:rFonts w:eastAsia="{CJK_SERIF}" w:hint="eastAsia"/><w:lang w:eastAsia="zh-CN"/>'),
    (CHAR, "Pinyin", "Pinyin", "DefaultParagraphFont", "", "", '<w:i/><w:iCs/>'),
    (CHAR, "Note Label", "NoteLabel", "DefaultParagraphFont", "", "",
     '<w:b/><w:bCs/>'),
    (CHAR, "Footnote Reference", "FootnoteReference", "DefaultParagraphFont", "", "",
     '<w:vertAlign w:val="superscript"/>'),
    (CHAR, "Comment Reference", "CommentReference", "DefaultParagraphFont", "", "",
     '<w:sz w:val="16"/><w:szCs w:val="16"/>'),
]

# Word stores a few built-in names in lower case ("heading 1", "header", "footer"); its UI,
# python-docx and the writer call them "Heading 1", "Header", "Footer".
UI_NAMES = {f"heading {n}": f"Heading {n}" for n in range(1, 10)} | {
    "header": "Header", "footer": "Footer", "caption": "Caption"}


def styles_xml() -> str:
    out = [XML_DECL, f'<w:styles xmlns:w="{W_NS}" xmlns:r="{R_NS}">',
           "<w:docDefaults><w:rPrDefault><w:rPr>",
           fonts(SERIF, CJK_SERIF),
           '<w:sz w:val="22"/><w:szCs w:val="22"/>'
           '<w:lang w:val="en-GB" w:eastAsia="zh-CN" w:bidi="ar-SA"/>',
           "</w:rPr></w:rPrDefault><w:pPrDefault><w:pPr>"
           '<w:spacing w:after="0" w:line="240" w:lineRule="auto"/>'
           "</w:pPr></w:pPrDefault></w:docDefaults>"]
    for kind, name, sid, based, nxt, ppr, rpr in STYLES:
        default = ' w:default="1"' if sid in ("Normal", "DefaultParagraphFont") else ""
        custom = "" if sid in BUILTIN else ' w:customStyle="1"'
        out.append(f'<w:style w:type="{kind}"{default}{custom} w:styleId="{sid}">')
        out.append(f"<w:name w:val={quoteattr(name)}/>")
        if based:
            out.append(f'<w:basedOn w:val="{based}"/>')
        if nxt:
            out.append(f'<w:next w:val="{nxt}"/>')
        if sid in ("DefaultParagraphFont",):
            out.append('<w:uiPriority w:val="1"/><w:semiHidden/><w:unhideWhenUsed/>')
        else:
            out.append("<w:qFormat/>")
        if ppr and kind == PARA:
            out.append(f"<w:pPr>{ppr}</w:pPr>")
        if rpr:
            out.append(f"<w:rPr>{rpr}</w:rPr>")
        out.append("</w:style>")
    out.append(
        '<w:style w:type="table" w:default="1" w:styleId="TableNormal">'
        '<w:name w:val="Normal Table"/><w:uiPriority w:val="99"/><w:semiHidden/>'
        '<w:unhideWhenUsed/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar>'
        '<w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/>'
        '<w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/>'
        "</w:tblCellMar></w:tblPr></w:style>"
        + TABLE_STYLE +
        '<w:style w:type="numbering" w:default="1" w:styleId="NoList">'
        '<w:name w:val="No List"/><w:uiPriority w:val="99"/><w:semiHidden/>'
        "<w:unhideWhenUsed/></w:style>")
    out.append("</w:styles>")
    return "".join(out)


# The table style the writer gives every table (Pandoc's reference.docx calls it "Table"):
# rules above and below the table and under the header row; header cells bold, set on
# their baseline. Header rows repeat on every page (w:tblHeader on the rows themselves).
TABLE_STYLE = (
    '<w:style w:type="table" w:customStyle="1" w:styleId="Table">'
    '<w:name w:val="Table"/><w:basedOn w:val="TableNormal"/><w:uiPriority w:val="99"/>'
    "<w:qFormat/>"
    '<w:pPr><w:spacing w:before="36" w:after="36" w:line="240" w:lineRule="auto"/></w:pPr>'
    '<w:rPr><w:sz w:val="20"/><w:szCs w:val="20"/></w:rPr>'
    '<w:tblPr><w:tblInd w:w="0" w:type="dxa"/>'
    '<w:tblBorders><w:top w:val="single" w:sz="8" w:space="0" w:color="444444"/>'
    '<w:bottom w:val="single" w:sz="8" w:space="0" w:color="444444"/>'
    '<w:insideH w:val="single" w:sz="2" w:space="0" w:color="CCCCCC"/></w:tblBorders>'
    '<w:tblCellMar><w:top w:w="29" w:type="dxa"/><w:left w:w="108" w:type="dxa"/>'
    '<w:bottom w:w="29" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar>'
    "</w:tblPr>"
    '<w:tblStylePr w:type="firstRow"><w:rPr><w:b/><w:bCs/></w:rPr>'
    '<w:tcPr><w:tcBorders><w:bottom w:val="single" w:sz="6" w:space="0" w:color="444444"/>'
    '</w:tcBorders><w:vAlign w:val="bottom"/></w:tcPr></w:tblStylePr>'
    "</w:style>")

BUILTIN = {
    "Normal", "BodyText", "Title", "Subtitle", *(f"Heading{n}" for n in range(1, 7)), "Quote",
    "BlockText", "ListParagraph", "ListBullet", "ListBullet2", "ListNumber", "ListNumber2",
    "ListContinue", "ListContinue2", "FootnoteText", "CommentText", "Header", "Footer", "Caption",
    "DefaultParagraphFont", "Emphasis", "Strong", "Hyperlink", "FootnoteReference",
    "CommentReference",
}


def numbering_xml() -> str:
    bullets = ("\u2022", "\u2013", "\u25e6")

    def lvl(i: int, fmt: str, text: str, font: str = "") -> str:
        rpr = f'<w:rPr><w:rFonts w:ascii="{font}" w:hAnsi="{font}"/></w:rPr>' if font else ""
        return (f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
                f"<w:lvlText w:val={quoteattr(text)}/><w:lvlJc w:val=\"left\"/>"
                f'<w:pPr><w:ind w:left="{360 * (i + 1)}" w:hanging="360"/></w:pPr>{rpr}</w:lvl>')

    bullet = "".join(lvl(i, "bullet", bullets[i % 3], SERIF) for i in range(9))
    fmts = ("decimal", "lowerLetter", "lowerRoman")
    number = "".join(lvl(i, fmts[i % 3], f"%{i + 1}.") for i in range(9))
    return (XML_DECL + f'<w:numbering xmlns:w="{W_NS}">'
            f'<w:abstractNum w:abstractNumId="0"><w:multiLevelType w:val="hybridMultilevel"/>'
            f'{bullet}</w:abstractNum>'
            f'<w:abstractNum w:abstractNumId="1"><w:multiLevelType w:val="hybridMultilevel"/>'
            f'{number}</w:abstractNum>'
            '<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>'
            '<w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num>'
            "</w:numbering>")


def document_xml() -> str:
    """One sample paragraph per paragraph style, so an editor can see and restyle them."""
    paras = []
    for kind, name, sid, *_ in STYLES:
        if kind != PARA or sid in ("Normal", "Header", "Footer", "CommentText", "FootnoteText"):
            continue
        paras.append(f'<w:p><w:pPr><w:pStyle w:val="{sid}"/></w:pPr>'
                     f"<w:r><w:t>{escape(UI_NAMES.get(name, name))}</w:t></w:r></w:p>")
    # A sample of the "Table" table style (header row, one body row).
    def cell(text: str) -> str:
        return (f'<w:tc><w:tcPr><w:tcW w:w="4535" w:type="dxa"/></w:tcPr><w:p><w:pPr>'
                f'<w:pStyle w:val="Compact"/></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>')
    paras.append('<w:tbl><w:tblPr><w:tblStyle w:val="Table"/><w:tblW w:w="5000" w:type="pct"/>'
                 '<w:tblLook w:val="0020" w:firstRow="1" w:lastRow="0" w:firstColumn="0" '
                 'w:lastColumn="0" w:noHBand="0" w:noVBand="0"/></w:tblPr>'
                 '<w:tblGrid><w:gridCol w:w="4535"/><w:gridCol w:w="4535"/></w:tblGrid>'
                 '<w:tr><w:trPr><w:tblHeader/></w:trPr>' + cell("Table header") + cell("Header")
                 + "</w:tr><w:tr>" + cell("Table cell (Compact)") + cell("Cell") + "</w:tr></w:tbl>"
                 '<w:p><w:pPr><w:pStyle w:val="BodyText"/></w:pPr></w:p>')
    # A4, 2.5 cm margins; the writer switches to Letter when asked.
    sect = ('<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>'
            '<w:pgMar w:top="1418" w:right="1418" w:bottom="1418" w:left="1418" '
            'w:header="709" w:footer="709" w:gutter="0"/><w:cols w:space="708"/></w:sectPr>')
    return (XML_DECL + f'<w:document xmlns:w="{W_NS}" xmlns:r="{R_NS}"><w:body>'
            + "".join(paras) + sect + "</w:body></w:document>")


FOOTNOTES = (XML_DECL + f'<w:footnotes xmlns:w="{W_NS}" xmlns:r="{R_NS}">'
             '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr>'
             '<w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
             "<w:r><w:separator/></w:r></w:p></w:footnote>"
             '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr>'
             '<w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
             "<w:r><w:continuationSeparator/></w:r></w:p></w:footnote>"
             "</w:footnotes>")

SETTINGS = (XML_DECL + f'<w:settings xmlns:w="{W_NS}" xmlns:r="{R_NS}">'
            '<w:zoom w:percent="100"/><w:defaultTabStop w:val="720"/>'
            '<w:characterSpacingControl w:val="doNotCompress"/>'
            '<w:footnotePr><w:footnote w:id="-1"/><w:footnote w:id="0"/></w:footnotePr>'
            '<w:compat><w:compatSetting w:name="compatibilityMode" '
            'w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat>'
            '<w:themeFontLang w:val="en-GB" w:eastAsia="zh-CN"/>'
            '<w:decimalSymbol w:val="."/><w:listSeparator w:val=","/>'
            "</w:settings>")


def font_table() -> str:
    entries = [(SERIF, "roman", "variable"), (SANS, "swiss", "variable"),
               (MONO, "modern", "fixed"), (CJK_SERIF, "roman", "variable"),
               (CJK_SANS, "swiss", "variable")]
    body = "".join(f'<w:font w:name="{n}"><w:charset w:val="{"86" if "CJK" in n else "00"}"/>'
                   f'<w:family w:val="{fam}"/><w:pitch w:val="{pitch}"/></w:font>'
                   for n, fam, pitch in entries)
    return XML_DECL + f'<w:fonts xmlns:w="{W_NS}">{body}</w:fonts>'


CORE = (XML_DECL + '<cp:coreProperties '
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<dc:title>Reference document for publish</dc:title><dc:creator></dc:creator>"
        "<cp:revision>1</cp:revision>"
        '<dcterms:created xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:created>'
        '<dcterms:modified xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:modified>'
        "</cp:coreProperties>")

APP = (XML_DECL + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
       'extended-properties"><Application>publish</Application><DocSecurity>0</DocSecurity>'
       "</Properties>")

CT_W = "application/vnd.openxmlformats-officedocument.wordprocessingml"
CONTENT_TYPES = (
    XML_DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/word/document.xml" ContentType="{CT_W}.document.main+xml"/>'
    f'<Override PartName="/word/styles.xml" ContentType="{CT_W}.styles+xml"/>'
    f'<Override PartName="/word/settings.xml" ContentType="{CT_W}.settings+xml"/>'
    f'<Override PartName="/word/numbering.xml" ContentType="{CT_W}.numbering+xml"/>'
    f'<Override PartName="/word/footnotes.xml" ContentType="{CT_W}.footnotes+xml"/>'
    f'<Override PartName="/word/fontTable.xml" ContentType="{CT_W}.fontTable+xml"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    "</Types>")

RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_RELS = (
    XML_DECL + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{RT}/officeDocument" Target="word/document.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
    'metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{RT}/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>")
DOC_RELS = (
    XML_DECL + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{RT}/styles" Target="styles.xml"/>'
    f'<Relationship Id="rId2" Type="{RT}/settings" Target="settings.xml"/>'
    f'<Relationship Id="rId3" Type="{RT}/numbering" Target="numbering.xml"/>'
    f'<Relationship Id="rId4" Type="{RT}/footnotes" Target="footnotes.xml"/>'
    f'<Relationship Id="rId5" Type="{RT}/fontTable" Target="fontTable.xml"/>'
    "</Relationships>")


def build() -> list[tuple[str, str]]:
    return [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", PKG_RELS),
        ("docProps/core.xml", CORE),
        ("docProps/app.xml", APP),
        ("word/document.xml", document_xml()),
        ("word/_rels/document.xml.rels", DOC_RELS),
        ("word/styles.xml", styles_xml()),
        ("word/settings.xml", SETTINGS),
        ("word/numbering.xml", numbering_xml()),
        ("word/footnotes.xml", FOOTNOTES),
        ("word/fontTable.xml", font_table()),
    ]


def write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in build():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, text.encode("utf-8"))


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    out = Path(argv[1]) if len(argv) > 1 else root / "src" / "publish" / "styles" / "reference.docx"
    write(out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
