"""Hand-built models with tables, figures, math and sub/superscripts (writers are tested
from the model, as in Pandoc; the reader is extended separately)."""

from __future__ import annotations

from publish.model import (
    Attr, Cell, CodeBlock, ColSpec, Document, Emph, Figure, Heading, Image, Link, ListBlock,
    Math, Meta, Paragraph, Plain, Row, SoftBreak, Strikeout, Strong, Subscript, Superscript,
    Table, Text,
)

# TeX of the formulas, in document order (inline, then display)
INLINE_MATH = (r"\frac{a}{b} + \sqrt{x} + \sqrt[3]{y}", r"\alpha_i^2 + \beta_{k}^{n} + \Omega")
DISPLAY_MATH = (r"\sum_{i=1}^{n} i = \frac{n(n+1)}{2}", r"\int_0^1 x^2 \, dx = \frac{1}{3}")

LONG_ROWS = 80
WIDE_COLS = 9


def _p(text: str) -> Plain:
    return Plain((Text(text),))


def _cell(text: str, **kw) -> Cell:
    return Cell((_p(text),), **kw)


def _row(*texts: str, header: bool = False) -> Row:
    return Row(tuple(_cell(t, header=header) for t in texts))


def main_table() -> Table:
    """Caption, alignments, relative widths, a header row, a cell with a list and a code
    block, a colspan and a rowspan."""
    rich = Cell((
        Plain((Text("Steps:"),)),
        ListBlock(False, ((Plain((Text("first step"),)),), (Plain((Text("second step"),)),))),
        CodeBlock("run --fast\n"),
    ))
    return Table(
        colspecs=(ColSpec("left", 0.2), ColSpec("right", 0.3), ColSpec("center", 0.5)),
        head=(_row("Name", "Amount", "Notes", header=True),),
        body=(
            Row((_cell("Alpha"), _cell("1.50"), rich)),
            Row((_cell("Spans two columns", colspan=2), _cell("after span"))),
            Row((_cell("Tall cell", rowspan=2), _cell("2.25"), _cell("beside tall"))),
            Row((_cell("3.75"), _cell("under beside"))),
            Row((_cell("Omega", align="right"), _cell("4.00"), _cell("last"))),
        ),
        caption=(Plain((Text("Table 1: Amounts by "), Emph((Text("name"),)), Text("."))),),
        attr=Attr("tbl-main"),
    )


def long_table() -> Table:
    return Table(
        colspecs=(ColSpec(), ColSpec("right"), ColSpec()),
        head=(_row("Row", "Value", "Comment", header=True),),
        body=tuple(_row(f"row {i:02d}", f"{i * 7}", f"comment {i}") for i in range(1, LONG_ROWS + 1)),
        caption=(_p("Table 2: A long table that runs over several pages."),),
    )


def wide_table() -> Table:
    return Table(
        colspecs=(ColSpec(),) * WIDE_COLS,
        head=(_row(*(f"Heading {c}" for c in range(1, WIDE_COLS + 1)), header=True),),
        body=tuple(_row(*(f"r{r}c{c} wide" for c in range(1, WIDE_COLS + 1))) for r in range(1, 4)),
    )


def tables_document(image: str = "fig.png") -> Document:
    """Every new node: tables, a figure (``image`` relative to the source folder, shown at
    width=50%), sub/superscript/strikeout, inline and display math."""
    blocks = (
        Heading(1, (Text("Tables and formulas"),), Attr("tables-and-formulas")),
        Paragraph((
            Text("Water is H"), Subscript((Text("2"),)), Text("O, energy is mc"),
            Superscript((Text("2"),)), Text(", and "), Strikeout((Text("this is struck"),)),
            Text(". See "), Link("#tbl-main", (Text("the table"),)), Text(" and "),
            Link("#fig-bar", (Text("the figure"),)), Text("."),
        )),
        Paragraph((
            Text("Inline math "), Math(INLINE_MATH[0]), Text(" and "), Math(INLINE_MATH[1]),
            Text(" in a sentence."),
        )),
        Paragraph((
            Text("The sum is"), SoftBreak(), Math(DISPLAY_MATH[0], display=True), SoftBreak(),
            Text("for every "), Strong((Text("n"),)), Text("."),
        )),
        Paragraph((Math(DISPLAY_MATH[1], display=True),)),
        main_table(),
        Paragraph((Text("Between the tables."),)),
        long_table(),
        wide_table(),
        Figure(
            content=(Plain((Image(image, "A blue bar", attr=Attr(kv=(("width", "50%"),))),)),),
            caption=(_p("Figure 1: A blue bar at half the text width."),),
            attr=Attr("fig-bar"),
        ),
        ListBlock(False, ((_p("a tight item"),), (_p("another tight item"),))),
        Paragraph((Text("The end."),)),
    )
    return Document(meta=Meta(title="Tables, figures and math", lang="en-GB"), blocks=blocks,
                    source_path="tables.md")
