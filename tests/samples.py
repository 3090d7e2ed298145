"""Hand-built models for writer tests (writers are tested from the model, as in Pandoc)."""

from __future__ import annotations

from publish.model import (
    Annotation, Attr, BlockQuote, Code, CodeBlock, DefinitionItem, DefinitionList, Div,
    Document, Emph, GlossaryEntry, Heading, LineBreak, Link, ListBlock, Meta, NoteRef,
    Paragraph, Person, SoftBreak, Source, Span, SpeakerRef, Strong, TermRef, Text,
    ThematicBreak,
)


def sample_document() -> Document:
    """A small document using every node type a writer must cover (no images/raw HTML)."""
    cac = GlossaryEntry(
        id="cac", term="CAC", expansion="Cyberspace Administration of China",
        definition=(Text("China's internet regulator, set up in "), Strong((Text("2014"),)), Text(".")),
        zh="国家互联网信息办公室", pinyin="Guójiā Hùliánwǎng Xìnxī Bàngōngshì",
        aliases=("Cyberspace Administration of China",), see_also=("pipl",),
        first_use_id="use-cac-1", use_count=2,
    )
    pipl = GlossaryEntry(
        id="pipl", term="PIPL", expansion="Personal Information Protection Law",
        definition=(Text("China's first comprehensive data-privacy law, in force since 1 November 2021."),),
        zh="个人信息保护法", pinyin="Gèrén Xìnxī Bǎohù Fǎ", see_also=("cac",),
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
