"""TeX math for the HTML fragments: MathML for EPUB, plain HTML/CSS for print.

``tex_to_mathml`` converts with ``latex2mathml`` (as Pandoc's ``--mathml``);
TeX it cannot read gives ``None`` and the writers show the TeX source instead
(``check.lint`` reports it as a warning, with its position).

WeasyPrint has no MathML, so ``mathml_to_html`` turns the same MathML into
spans styled by ``print.css`` (class ``m-*``): identifiers in italic, sub- and
superscripts as ``<sub>``/``<sup>``, fractions as a stacked inline block with a
rule, roots as √ with an overline, limits of large operators above and below in
display math. Every symbol stays text in reading order, so pdftotext and
screen readers get ``a b`` for a fraction a over b. This walks MathML elements
(an lxml tree), not the document model.
"""

from __future__ import annotations

import re
import unicodedata

from lxml import etree
from markupsafe import escape

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
_M = "{%s}" % MATHML_NS


def tex_to_mathml(tex: str, display: bool) -> str | None:
    """MathML for ``tex`` (a ``<math>`` element with its namespace), or None if
    latex2mathml cannot read it."""
    import latex2mathml.converter

    try:
        out = latex2mathml.converter.convert(tex, display="block" if display else "inline")
        etree.fromstring(out.encode("utf-8"))
    except Exception:  # latex2mathml raises many kinds (its own, IndexError, KeyError...)
        return None
    return out


def mathml_for_epub(tex: str, display: bool) -> str | None:
    """The ``<math>`` element with ``alttext`` (the TeX, for assistive technology)."""
    out = tex_to_mathml(tex, display)
    if out is None:
        return None
    root = etree.fromstring(out.encode("utf-8"))
    root.set("alttext", tex)
    return etree.tostring(root, encoding="unicode")


# --------------------------------------------------------------------------
# MathML -> HTML for print

# Operators set with space around them (binary operators and relations).
_SPACED = set("+−-=<>≤≥≠≈≡∼≃≅∝±∓×÷·∘∗⋅→←↔⇒⇐⇔↦∈∉⊂⊃⊆⊇∪∩∧∨∣∥") | {"mod"}
_LARGE = set("∑∏∐∫∬∭∮⋃⋂⋁⋀⨁⨂") | {"lim", "max", "min", "sup", "inf", "lim sup", "lim inf"}
_VARIANTS = {  # mathvariant -> Unicode name prefixes (letterlike symbols first)
    "double-struck": ("DOUBLE-STRUCK", "MATHEMATICAL DOUBLE-STRUCK"),
    "fraktur": ("BLACK-LETTER", "MATHEMATICAL FRAKTUR"),
    "script": ("SCRIPT", "MATHEMATICAL SCRIPT"),
}
_SPACE_WIDTH = re.compile(r"^\s*(-?\d*\.?\d+)\s*em\s*$")


def _variant(text: str, variant: str) -> str:
    prefixes = _VARIANTS.get(variant)
    if not prefixes:
        return text
    out = []
    for ch in text:
        kind = "CAPITAL" if ch.isupper() else "SMALL"
        for prefix in prefixes:
            try:
                out.append(unicodedata.lookup(f"{prefix} {kind} {ch.upper()}"))
                break
            except KeyError:
                continue
        else:
            out.append(ch)
    return "".join(out)


def _local(el: etree._Element) -> str:
    tag = el.tag
    return tag[len(_M):] if isinstance(tag, str) and tag.startswith(_M) else ""


def _span(cls: str, inner: str) -> str:
    return f'<span class="{cls}">{inner}</span>'


class _ToHtml:
    def __init__(self, display: bool) -> None:
        self.display = display

    def children(self, el: etree._Element) -> str:
        return "".join(self.el(c) for c in el if isinstance(c.tag, str))

    def args(self, el: etree._Element) -> list[str]:
        return [self.el(c) for c in el if isinstance(c.tag, str)]

    def el(self, el: etree._Element) -> str:  # noqa: C901 - one case per MathML element
        name = _local(el)
        text = (el.text or "").strip()
        if name == "mi":
            variant = el.get("mathvariant", "")
            t = _variant(text, variant)
            if len(text) == 1 and not text.isalnum():  # latex2mathml gives ± and friends as <mi>
                return self.operator(el, text)
            upright = variant in ("normal", "double-struck", "fraktur", "script") or len(text) > 1
            cls = "m-n" if upright else "m-i"
            if variant.startswith("bold"):
                cls += " m-b"
            return _span(cls, escape(t))
        if name == "mn":
            return _span("m-n", escape(text))
        if name == "mo":
            return self.operator(el, text)
        if name in ("mtext", "ms"):
            return _span("m-text", escape(el.text or ""))
        if name == "mspace":
            m = _SPACE_WIDTH.match(el.get("width", ""))
            width = float(m.group(1)) if m else 0.0
            return "\u2003" * int(width) if width >= 1 else ("\u2009" if width > 0 else "")
        if name in ("msup", "msub", "msubsup"):
            parts = self.args(el) + ["", "", ""]
            base, a, b = parts[0], parts[1], parts[2]
            if name == "msup":
                return base + f"<sup>{a}</sup>"
            if name == "msub":
                return base + f"<sub>{a}</sub>"
            return base + f"<sub>{a}</sub><sup>{b}</sup>"
        if name in ("munder", "mover", "munderover"):
            parts = self.args(el) + ["", "", ""]
            base = parts[0]
            under = parts[1] if name != "mover" else ""
            over = parts[2] if name == "munderover" else parts[1] if name == "mover" else ""
            first = next((c for c in el if isinstance(c.tag, str)), None)
            large = first is not None and _local(first) == "mo" and (first.text or "").strip() in _LARGE
            if large and not self.display:
                return base + (f"<sub>{under}</sub>" if under else "") + (f"<sup>{over}</sup>" if over else "")
            return _span("m-stack", (_span("m-over", over) if over else "") + _span("m-base", base)
                         + (_span("m-under", under) if under else ""))
        if name == "mfrac":
            parts = self.args(el) + ["", ""]
            cls = "m-frac m-nobar" if el.get("linethickness", "").strip() in ("0", "0pt", "0em") else "m-frac"
            return _span(cls, _span("m-num", parts[0]) + _span("m-den", parts[1]))
        if name == "msqrt":
            return _span("m-sqrt", _span("m-radic", "√") + _span("m-radicand", self.children(el)))
        if name == "mroot":
            parts = self.args(el) + ["", ""]
            return _span("m-sqrt", f'<sup class="m-index">{parts[1]}</sup>' + _span("m-radic", "√")
                         + _span("m-radicand", parts[0]))
        if name == "mtable":
            return _span("m-table", self.children(el))
        if name in ("mtr", "mlabeledtr"):
            return _span("m-tr", self.children(el))
        if name == "mtd":
            return _span("m-td", self.children(el))
        if name == "mfenced":
            seps = (el.get("separators", ",") or "").replace(" ", "") or ""
            items = self.args(el)
            inner = ""
            for i, item in enumerate(items):
                if i:
                    inner += _span("m-o m-punct", escape(seps[min(i - 1, len(seps) - 1)])) if seps else ""
                inner += item
            return (_span("m-o", escape(el.get("open", "("))) + inner
                    + _span("m-o", escape(el.get("close", ")"))))
        if name == "menclose":
            return _span("m-enclose", self.children(el))
        if name == "mphantom":
            return _span("m-phantom", self.children(el))
        if name in ("annotation", "annotation-xml"):
            return ""
        if name == "semantics":
            first = next((c for c in el if isinstance(c.tag, str)), None)
            return self.el(first) if first is not None else ""
        # math, mrow, mstyle, mpadded, merror and anything new: the children in order
        return self.children(el)

    def operator(self, el: etree._Element, text: str) -> str:
        t = "−" if text == "-" else text
        if t in _LARGE and len(t) == 1:
            return _span("m-o m-large" if self.display else "m-o", escape(t))
        if t in _SPACED:
            # unary (first in its row, or after another operator or an opening fence): no space
            prev = el.getprevious()
            while prev is not None and not isinstance(prev.tag, str):
                prev = prev.getprevious()
            unary = prev is None or (_local(prev) == "mo" and (prev.text or "").strip() not in (")", "]", "}", "|"))
            return _span("m-o" if unary else "m-o m-sp", escape(t))
        if t in (",", ";"):
            return _span("m-o m-punct", escape(t))
        if len(t) > 1:  # lim, sin (\operatorname): upright, a thin space after
            return _span("m-n m-fn", escape(t))
        return _span("m-o", escape(t))


def mathml_to_html(mathml: str, display: bool) -> str:
    """Phrasing-only HTML (spans, sub, sup) for a ``<math>`` element."""
    root = etree.fromstring(mathml.encode("utf-8"))
    return _ToHtml(display).el(root)
