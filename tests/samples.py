"""Hand-built models for writer tests (writers are tested from the model, as in Pandoc)."""

from __future__ import annotations

from publish.model import (
    Annotation, Attr, BlockQuote, Cell, Code, CodeBlock, DefinitionItem, DefinitionList, Div,
    Document, Emph, GlossaryEntry, Heading, LineBreak, Link, ListBlock, Meta, NativeName, NoteRef,
    Paragraph, Person, Row, SoftBreak, Source, Span, SpeakerRef, Strong, TermRef, Text,
    ThematicBreak,
)


def sample_document() -> Document:
    """A small document using every node type a writer must cover (no images/raw HTML)."""
    cac = GlossaryEntry(
        id="cac", term="CAC", expansion="Cyberspace Administration of China",
        definition=(Text("China's internet regulator, set up in "), Strong((Text("2014"),)), Text(".")),
        native=(NativeName("zh-Hans", "国家互联网信息办公室", "Guójiā Hùliánwǎng Xìnxī Bàngōngshì", "zh-Latn-pinyin"),),
        aliases=("Cyberspace Administration of China",), see_also=("pipl",),
        first_use_id="use-cac-1", use_count=2,
    )
    pipl = GlossaryEntry(
        id="pipl", term="PIPL", expansion="Personal Information Protection Law",
        definition=(Text("China's first comprehensive data-privacy law, in force since 1 November 2021."),),
        native=(NativeName("zh-Hans", "个人信息保护法", "Gèrén Xìnxī Bǎohù Fǎ", "zh-Latn-pinyin"),), see_also=("cac",),
        first_use_id="use-pipl-1", use_count=1,
    )
    musk = Person(id="elon-musk", name="Elon Musk", role="Chief executive", affiliation="Tesla",
                  first_use_id="speaker-elon-musk-1")
    ctx = Annotation(
        id="ctx", kind="context", number=1, anchor_id="noteref-ctx",
        body=(Paragraph((Text("Context with "), Emph((Text("emphasis"),)), Text(".")),),),
        sources=(Source(title="A report", url="https://example.org/report", publisher="Example", date="2021-09"),),
    )
    upd = Annotation(
        id="upd", kind="update", number=2, anchor_id="noteref-upd",
        body=(Paragraph((Text("The PIPL took effect on 1 November 2021."),)),),
    )
    ed = Annotation(
        id="ed", kind="editorial", number=None, anchor_id="noteref-ed",
        body=(Paragraph((Text("Check this figure against the 2022 filing."),)),),
        author="Desk editor", date="2021-09-20",
    )
    blocks = (
        Paragraph((
            Text("The "), TermRef(cac.id, (Text("Cyberspace Administration of China"),), id="use-cac-1", first=True),
            Text(" said so"), NoteRef(ctx.id, (Text(" in March"),), id="noteref-ctx"), Text(", "),
            SpeakerRef(musk.id, (Text("Musk"),), id="speaker-elon-musk-1", first=True), Text(" told "),
            Emph((Text("a conference"),)), Text(" — "), Strong((Text("“with quotes”"),)), Text("."),
        )),
        Heading(1, (Text("Hit on corporates"),), Attr("hit-on-corporates")),
        Paragraph((
            Text("The "), TermRef(pipl.id, (Text("PIPL"),), id="use-pipl-1", first=True),
            Text(" and the "), TermRef(cac.id, (Text("CAC"),), id="use-cac-2"), Text(" "),
            NoteRef(upd.id, (Text("took effect"),), id="noteref-upd"), Text("; "),
            NoteRef(ed.id, (Text("248 companies"),), id="noteref-ed"), Text(" listed."),
            SoftBreak(), Text("Code "), Code("x < y"), Text(" and a "),
            Link("https://www.ft.com/", (Text("link"),), title="FT"), LineBreak(), Text("Next line & more."),
            Span(Attr(classes=("smallcaps",)), (Text(" span"),)),
        )),
        BlockQuote((Paragraph((Text("A quoted paragraph."),)),)),
        ListBlock(False, ((Paragraph((Text("one"),)),), (Paragraph((Text("two"),)),))),
        ListBlock(True, ((Paragraph((Text("first"),)),),), start=3),
        DefinitionList((DefinitionItem((Text("Term"),), ((Paragraph((Text("Definition."),)),),)),)),
        CodeBlock("print('<hi>')\n", Attr(classes=("python",))),
        ThematicBreak(),
        Div(Attr(classes=("credit",)), (
            Paragraph((Text("Written by: James Kynge and Sun Yu"),)),
            Paragraph((Text("© Financial Times"),)),
        )),
    )
    meta = Meta(
        title="Sample: data & <control>", title_note="Working headline for this edition",
        short_title="Sample", standfirst="A standfirst sentence.", series_note="Second in a series.",
        authors=("James Kynge", "Sun Yu"), publisher="Financial Times", date="2021-09",
        lang="en-GB", rights="© Financial Times", identifier="urn:uuid:0b0e2c4e-1f1e-4c63-9d0a-5a4c2b6f7e01",
        keywords=("China", "data"),
    )
    return Document(meta=meta, blocks=blocks, glossary=(cac, pipl), annotations=(ctx, upd, ed),
                    people=(musk,), source_path="sample.md")


# --------------------------------------------------------------------------
# Tables, figures, math, sub/sup/strike (issue 10): hand-built, as the reader
# for these nodes is written in parallel.

def _c(text: str, **kw) -> "Cell":
    from publish.model import Cell, Plain

    return Cell((Plain((Text(text),)),), **kw)


def _row(*texts: str, header_first: bool = False) -> "Row":
    from publish.model import Row

    return Row(tuple(_c(t, header=header_first and i == 0) for i, t in enumerate(texts)))


LONG_TABLE_ROWS = 80
WIDE_TABLE_COLUMNS = 10
FIGURE_IMAGES = {"wide.png": (1600, 400), "tall.png": (300, 2400)}


def write_sample_images(folder) -> None:
    """The images ``tables_document`` shows (a very wide and a very tall one)."""
    from PIL import Image as PILImage

    for name, size in FIGURE_IMAGES.items():
        PILImage.new("RGB", size, (13, 118, 128)).save(folder / name)


def tables_document() -> Document:
    """Every new node: tables (caption, alignments, widths, header row and column,
    a cell with a list and a code block, colspan and rowspan, a foot), a wide
    table with long words, a long table that must break across pages, figures
    (a very wide and a very tall image), sub/sup/strike, inline and display math
    (and TeX that latex2mathml cannot read), a table inside a footnote.

    Images: ``write_sample_images(folder)`` puts them in the source folder."""
    from publish.model import (
        Cell, ColSpec, Figure, Image, Math, Plain, Row, Strikeout, Subscript, Superscript, Table,
    )

    rich = Table(
        colspecs=(ColSpec("left", 0.22), ColSpec("right", 0.18), ColSpec("center", 0.2), ColSpec("default", 0.4)),
        head=(Row((_c("Regulator"), _c("Fines (¥m)"), _c("Status"), _c("Notes"))),),
        body=(
            Row((_c("CAC", header=True), _c("80.26"), _c("active"),
                 Cell((Plain((Text("Three steps:"),)),
                       ListBlock(False, ((Plain((Text("review"),)),), (Plain((Text("fine"),)),),
                                         (Plain((Text("relist"),)),))),
                       CodeBlock("fine = base * 1.5\n", Attr(classes=("python",))))))),
            Row((_c("SAMR", header=True, rowspan=2), _c("18.2"), _c("closed", align="left"),
                 _c("Spans two rows on the left"))),
            Row((_c("3.4"), _c("A cell spanning two columns", colspan=2))),
        ),
        foot=(Row((_c("Total", header=True), _c("101.86"), _c(""), _c("three fines"))),),
        caption=(Plain((Text("Fines by regulator, "), Emph((Text("2021"),)), Text(".")),),),
        attr=Attr("tbl-fines"),
    )
    long_words = ("Donaudampfschifffahrtsgesellschaftskapitän", "internationalisation-and-localisation",
                  "Pneumonoultramicroscopicsilicovolcanoconiosis", "https://example.org/a/very/long/path/segment")
    wide = Table(
        colspecs=tuple(ColSpec() for _ in range(WIDE_TABLE_COLUMNS)),
        head=(_row(*(f"Column heading {i + 1}" for i in range(WIDE_TABLE_COLUMNS))),),
        body=tuple(_row(*(long_words[(r + i) % len(long_words)] if (r + i) % 3 == 0 else f"r{r + 1}c{i + 1}"
                          for i in range(WIDE_TABLE_COLUMNS)), header_first=True) for r in range(4)),
        caption=(Plain((Text("A wide table with long words"),)),),
        attr=Attr("tbl-wide"),
    )
    long = Table(
        colspecs=(ColSpec("left"), ColSpec("right"), ColSpec("right"), ColSpec("left")),
        head=(_row("Listing", "Filed", "Approved", "Remark"),),
        body=tuple(_row(f"Company {n:02d}", str(2000 + n), str(1000 + 7 * n),
                        "a longer remark that wraps onto a second line" if n % 9 == 0 else "ok",
                        header_first=True) for n in range(1, LONG_TABLE_ROWS + 1)),
        caption=(Plain((Text("Eighty listings"),)),),
        attr=Attr("tbl-long"),
    )
    figure_wide = Figure(
        (Plain((Image("wide.png", "A wide teal band", attr=Attr(kv=(("width", "50%"),))),)),),
        caption=(Plain((Text("A wide image set at half the text width"),)),),
        attr=Attr("fig-wide"),
    )
    figure_tall = Figure(
        (Plain((Image("tall.png", "A tall teal column"),)),),
        caption=(Plain((Text("A tall image kept within the page"),)),),
        attr=Attr("fig-tall"),
    )
    note = Annotation(
        id="tbl-note", kind="footnote", number=1, anchor_id="noteref-tbl-note",
        body=(Paragraph((Text("A note holding a small table:"),)),
              Table(colspecs=(ColSpec(), ColSpec("right")),
                    head=(_row("Year", "Deals"),),
                    body=(_row("2020", "12"), _row("2021", "3"))),),
    )
    blocks = (
        Paragraph((Text("Water is H"), Subscript((Text("2"),)), Text("O; energy is E = mc"),
                   Superscript((Text("2"),)), Text("; the "), Strikeout((Text("old price"),)),
                   Text(" is gone"), NoteRef(note.id, (), id="noteref-tbl-note"), Text("."))),
        Heading(1, (Text("Tables"),), Attr("tables")),
        rich,
        Paragraph((Text("A paragraph between tables."),)),
        wide,
        long,
        Heading(1, (Text("Figures"),), Attr("figures")),
        figure_wide,
        figure_tall,
        Heading(1, (Text("Math"),), Attr("math")),
        Paragraph((Text("Inline: "), Math(r"\frac{a}{b}"), Text(", "), Math(r"\sqrt{x^2+y^2}"),
                   Text(", "), Math(r"\alpha + \beta = \gamma"), Text(" and "), Math(r"\frac{1}{"),
                   Text(" (bad TeX).")), ),
        Paragraph((Text("Display:"), Math(r"x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a}", display=True),
                   Text("and"), Math(r"\sum_{i=1}^{n} i = \frac{n(n+1)}{2}", display=True))),
    )
    meta = Meta(title="Tables, figures and math", authors=("Test Author",), lang="en",
                publisher="Test Press", date="2021-09-20",
                identifier="urn:uuid:3f0c8a64-2b8e-4d6b-9a0e-6f1d2c3b4a50")
    return Document(meta=meta, blocks=blocks, annotations=(note,), source_path="tables.md")


# --------------------------------------------------------------------------
# Many notes, of every length, on every page (issue 17: every note on its call's page)

_WORDS = ("data security regulators platform companies cyberspace administration personal information "
          "protection law digital renminbi smart city surveillance sovereignty export ministry listing "
          "review exchange investors overseas storage localisation licence algorithm registry").split()


def _sentence(rng, n: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def note_dense_document(paragraphs: int = 60, seed: int = 17) -> Document:
    """Justified paragraphs calling one to three notes each, from one line to a third of
    a page long, so that notes fall at every place on a page, including its last lines."""
    import random

    rng = random.Random(seed)
    notes, blocks = [], []
    for p in range(paragraphs):
        content: list = []
        for s in range(rng.randint(3, 9)):
            content.append(Text(_sentence(rng, rng.randint(6, 22)) + " "))
            if rng.random() < 0.3 and len(notes) < 4 * paragraphs:
                number = len(notes) + 1
                body = " ".join(_sentence(rng, rng.randint(5, 18)) for _ in range(rng.choice((1, 1, 2, 4, 9))))
                note = Annotation(id=f"n{number}", kind=rng.choice(("context", "update")), number=number,
                                  anchor_id=f"noteref-n{number}", body=(Paragraph((Text(body),)),))
                notes.append(note)
                content.append(NoteRef(note.id, (), id=note.anchor_id))
                content.append(Text(" "))
        blocks.append(Paragraph(tuple(content)))
        if p % 15 == 14:
            blocks.append(Heading(1, (Text(f"Part {p // 15 + 2}"),), Attr(f"part-{p // 15 + 2}")))
    meta = Meta(title="Notes everywhere", authors=("A. Writer",), publisher="Test", date="2021-09", lang="en-GB",
                identifier="urn:uuid:7c1d2a9e-5a44-4f0f-9f3b-1d2e3f4a5b6c")
    return Document(meta=meta, blocks=tuple(blocks), annotations=tuple(notes), source_path="notes.md")
