"""TeX math to Office Math (OMML), through the MathML that ``latex2mathml`` makes.

A small MathML -> OMML mapping, as Pandoc's texmath does it (ECMA-376 Part 1, §22.1):

- ``mi``/``mn``/``mo``/``mtext`` -> ``m:r`` (operators and multi-letter names upright,
  ``mtext`` as normal text)
- ``msup``/``msub``/``msubsup`` -> ``m:sSup``/``m:sSub``/``m:sSubSup``
- ``mfrac`` -> ``m:f`` (``linethickness="0"``: no bar, as in ``\\binom``)
- ``msqrt``/``mroot`` -> ``m:rad`` (``degHide`` for a square root)
- sums, products, integrals with limits -> ``m:nary`` (the next item is its body)
- ``lim``/``max``… with limits -> ``m:limLow``/``m:limUpp``; accents -> ``m:acc``;
  over/underbraces -> ``m:groupChr``; ``\\overline``/``\\underline`` -> ``m:bar``;
  other ``mover``/``munder``/``munderover`` -> ``m:limUpp``/``m:limLow``
- fenced rows (``\\left( … \\right)``, matrices in brackets) -> ``m:d``; ``mtable`` -> ``m:m``
- ``mrow`` and ``math`` -> their children in sequence

What the mapping does not know (an unknown TeX command, an unknown MathML element, a
wrong number of arguments, TeX latex2mathml cannot parse) is never dropped: the whole
formula becomes its TeX source in one upright run, legible as written.
"""

from __future__ import annotations

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from latex2mathml.converter import convert
from lxml import etree

_MML = "{http://www.w3.org/1998/Math/MathML}"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"

# n-ary operators (m:nary); integrals keep their limits at the side
_NARY = set("∑∏∐∫∬∭∮∯∰∱∲∳⋀⋁⋂⋃⨀⨁⨂⨄⨆")
_INTEGRALS = set("∫∬∭∮∯∰∱∲∳")
# accents over a base (MathML character -> the combining character Word uses)
_ACCENTS = {
    "^": "\u0302", "\u02c6": "\u0302", "\u0302": "\u0302", "~": "\u0303", "\u02dc": "\u0303",
    "\u0303": "\u0303", "\u00af": "\u0304", "\u0304": "\u0304", "\u2192": "\u20d7",
    "\u20d7": "\u20d7", "\u02d9": "\u0307", "\u0307": "\u0307", "\u00a8": "\u0308",
    "\u0308": "\u0308", "\u00b4": "\u0301", "\u0301": "\u0301", "`": "\u0300", "\u02cb": "\u0300",
    "\u0300": "\u0300", "\u02d8": "\u0306", "\u0306": "\u0306", "\u02c7": "\u030c",
    "\u030c": "\u030c", "\u02da": "\u030a", "\u030a": "\u030a",
}
_BARS = {"\u2015", "\u203e", "_", "\u0332", "\u2014"}  # \overline / \underline
_GROUP_CHARS = {"\u23de", "\u23df", "\u23b4", "\u23b5", "\u23dc", "\u23dd"}  # braces, brackets
_OPEN = {"(": ")", "[": "]", "{": "}", "|": "|", "\u2016": "\u2016", "\u27e8": "\u27e9",
         "\u2308": "\u2309", "\u230a": "\u230b", "\u2329": "\u232a"}
# widths of \, \: \; \quad … (latex2mathml writes them as mspace width="…em")
_SPACES = {"0.167em": "\u2009", "0.222em": "\u205f", "0.278em": "\u2004", "1em": "\u2003",
           "2em": "\u2003\u2003"}


class _Unsupported(Exception):
    """A construct the mapping does not know: the formula falls back to its TeX."""


def omml(tex: str, display: bool = False) -> tuple[etree._Element, bool]:
    """``m:oMath`` (inline) or ``m:oMathPara`` (display) for ``tex``, and whether it was
    mapped (False: the formula is its TeX source, upright, in one run)."""
    o_math = OxmlElement("m:oMath")
    try:
        mathml = etree.fromstring(convert(tex, display="block" if display else "inline"))
        for el in _seq(list(mathml)):
            o_math.append(el)
        ok = len(o_math) > 0 or not tex.strip()
    except Exception:  # latex2mathml's parse errors and our own _Unsupported alike
        ok = False
    if not ok:
        for child in list(o_math):
            o_math.remove(child)
        o_math.append(_run(tex.strip(), normal=True))
    if not display:
        return o_math, ok
    para = OxmlElement("m:oMathPara")
    ppr = OxmlElement("m:oMathParaPr")
    ppr.append(_val("m:jc", "center"))
    para.append(ppr)
    para.append(o_math)
    return para, ok


# ---------------------------------------------------------------------------- builders


def _val(tag: str, value: str) -> etree._Element:
    return OxmlElement(tag, {qn("m:val"): value})


def _run(text: str, upright: bool = False, normal: bool = False) -> etree._Element:
    r = OxmlElement("m:r")
    if upright or normal:
        rpr = OxmlElement("m:rPr")
        rpr.append(OxmlElement("m:nor") if normal else _val("m:sty", "p"))
        r.append(rpr)
    t = OxmlElement("m:t")
    t.text = text
    if text != text.strip():
        t.set(_XML_SPACE, "preserve")
    r.append(t)
    return r


def _wrap(tag: str, content: list[etree._Element]) -> etree._Element:
    el = OxmlElement(tag)
    for c in content:
        el.append(c)
    return el


def _props(tag: str, *children: etree._Element) -> etree._Element:
    return _wrap(tag, list(children))


# ---------------------------------------------------------------------------- MathML


def _local(el: etree._Element) -> str:
    if not isinstance(el.tag, str) or not el.tag.startswith(_MML):
        raise _Unsupported(str(el.tag))
    return el.tag[len(_MML):]


def _text(el: etree._Element) -> str:
    return "".join(el.itertext())


def _args(el: etree._Element, n: int) -> list[etree._Element]:
    kids = [k for k in el if isinstance(k.tag, str)]
    if len(kids) != n:
        raise _Unsupported(f"{_local(el)} with {len(kids)} arguments")
    return kids


def _is_mo(el: etree._Element, chars: set[str] | None = None) -> bool:
    return _local(el) == "mo" and (chars is None or _text(el).strip() in chars)


def _nary_char(base: etree._Element) -> str | None:
    if _local(base) in ("mo", "mi") and _text(base).strip() in _NARY:
        return _text(base).strip()
    return None


def _limit_name(base: etree._Element) -> bool:
    """``lim``, ``max``, ``sup``…: a multi-letter operator name with limits under it."""
    return _local(base) in ("mo", "mi") and len(_text(base).strip()) > 1 and _text(base).isalpha()


def _seq(children: list[etree._Element]) -> list[etree._Element]:
    """Children in sequence; an n-ary operator takes the next non-operator item as its body."""
    out: list[etree._Element] = []
    kids = [k for k in children if isinstance(k.tag, str)]
    i = 0
    while i < len(kids):
        el = kids[i]
        nary = _nary(el)
        if nary is None:
            out.extend(_conv(el))
            i += 1
            continue
        body: list[etree._Element] = []
        if i + 1 < len(kids) and _local(kids[i + 1]) != "mo":
            body = _conv(kids[i + 1])
            i += 1
        nary.append(_wrap("m:e", body))
        out.append(nary)
        i += 1
    return out


def _nary(el: etree._Element) -> etree._Element | None:
    """``m:nary`` (without its body) when ``el`` is a big operator, with or without limits."""
    tag = _local(el)
    if tag in ("mo", "mi"):
        chr_, sub, sup = _nary_char(el), None, None
    elif tag in ("msub", "munder"):
        base, sub = _args(el, 2)
        chr_, sup = _nary_char(base), None
    elif tag in ("msup", "mover"):
        base, sup = _args(el, 2)
        chr_, sub = _nary_char(base), None
    elif tag in ("msubsup", "munderover"):
        base, sub, sup = _args(el, 3)
        chr_ = _nary_char(base)
    else:
        return None
    if chr_ is None:
        return None
    loc = "subSup" if chr_ in _INTEGRALS else "undOvr"
    pr = _props("m:naryPr", _val("m:chr", chr_), _val("m:limLoc", loc),
                _val("m:subHide", "off" if sub is not None else "on"),
                _val("m:supHide", "off" if sup is not None else "on"))
    return _props("m:nary", pr, _wrap("m:sub", _conv(sub) if sub is not None else []),
                  _wrap("m:sup", _conv(sup) if sup is not None else []))


def _conv(el: etree._Element) -> list[etree._Element]:
    tag = _local(el)
    if tag == "semantics":  # the presentation markup comes first; annotations follow
        kids = [k for k in el if isinstance(k.tag, str)]
        return _conv(kids[0]) if kids else []
    if tag in ("math", "mrow", "mstyle", "mpadded"):
        return _fenced_row(el) or _seq(list(el))
    if tag == "mi":
        text = _text(el)
        if text.startswith("\\"):
            raise _Unsupported(text)  # latex2mathml passes unknown commands through
        upright = len(text) > 1 or el.get("mathvariant") == "normal"
        return [_run(text, upright=upright)]
    if tag == "mn":
        return [_run(_text(el))]
    if tag == "mo":
        nary = _nary(el)
        if nary is not None:  # a big operator standing alone
            nary.append(OxmlElement("m:e"))
            return [nary]
        text = _text(el)
        if text.startswith("\\"):
            raise _Unsupported(text)
        return [_run(text, upright=True)] if text else []
    if tag in ("mtext", "ms"):
        return [_run(_text(el), normal=True)] if _text(el) else []
    if tag == "mspace":
        space = _SPACES.get(el.get("width", ""), "")
        return [_run(space)] if space else []
    if tag in ("msup", "msub", "msubsup", "munder", "mover", "munderover"):
        nary = _nary(el)
        if nary is not None:
            nary.append(OxmlElement("m:e"))
            return [nary]
        return _scripts(el, tag)
    if tag == "mfrac":
        num, den = _args(el, 2)
        kind = "noBar" if el.get("linethickness", "").strip() in ("0", "0em", "0px", "0pt") \
            else "bar"
        return [_props("m:f", _props("m:fPr", _val("m:type", kind)),
                       _wrap("m:num", _conv(num)), _wrap("m:den", _conv(den)))]
    if tag == "msqrt":
        return [_props("m:rad", _props("m:radPr", _val("m:degHide", "on")), OxmlElement("m:deg"),
                       _wrap("m:e", _seq(list(el))))]
    if tag == "mroot":
        base, degree = _args(el, 2)
        return [_props("m:rad", OxmlElement("m:radPr"), _wrap("m:deg", _conv(degree)),
                       _wrap("m:e", _conv(base)))]
    if tag == "mfenced":
        seps = (el.get("separators", ",") or "").strip()
        kids = [k for k in el if isinstance(k.tag, str)]
        pr = [_val("m:begChr", el.get("open", "(")), ]
        if len(kids) > 1:
            pr.append(_val("m:sepChr", seps[:1] or ","))
        pr.append(_val("m:endChr", el.get("close", ")")))
        return [_props("m:d", _props("m:dPr", *pr), *[_wrap("m:e", _conv(k)) for k in kids])]
    if tag == "mtable":
        return [_matrix(el)]
    raise _Unsupported(tag)


def _scripts(el: etree._Element, tag: str) -> list[etree._Element]:
    if tag == "msup":
        base, sup = _args(el, 2)
        return [_props("m:sSup", _wrap("m:e", _conv(base)), _wrap("m:sup", _conv(sup)))]
    if tag == "msub":
        base, sub = _args(el, 2)
        if _limit_name(base):
            return [_props("m:limLow", _wrap("m:e", _conv(base)), _wrap("m:lim", _conv(sub)))]
        return [_props("m:sSub", _wrap("m:e", _conv(base)), _wrap("m:sub", _conv(sub)))]
    if tag == "msubsup":
        base, sub, sup = _args(el, 3)
        return [_props("m:sSubSup", _wrap("m:e", _conv(base)), _wrap("m:sub", _conv(sub)),
                       _wrap("m:sup", _conv(sup)))]
    if tag == "munderover":
        base, under, over = _args(el, 3)
        low = _props("m:limLow", _wrap("m:e", _conv(base)), _wrap("m:lim", _conv(under)))
        return [_props("m:limUpp", _wrap("m:e", [low]), _wrap("m:lim", _conv(over)))]
    base, mark = _args(el, 2)
    top = tag == "mover"
    char = _text(mark).strip() if _local(mark) == "mo" else ""
    if char in _GROUP_CHARS:
        pr = _props("m:groupChrPr", _val("m:chr", char), _val("m:pos", "top" if top else "bot"),
                    _val("m:vertJc", "bot" if top else "top"))
        return [_props("m:groupChr", pr, _wrap("m:e", _conv(base)))]
    if char in _BARS or (char == "\u00af" and el.get("accent") != "true" and not top):
        return [_props("m:bar", _props("m:barPr", _val("m:pos", "top" if top else "bot")),
                       _wrap("m:e", _conv(base)))]
    if top and char in _ACCENTS:
        return [_props("m:acc", _props("m:accPr", _val("m:chr", _ACCENTS[char])),
                       _wrap("m:e", _conv(base)))]
    kind = "m:limUpp" if top else "m:limLow"
    return [_props(kind, _wrap("m:e", _conv(base)), _wrap("m:lim", _conv(mark)))]


def _fenced_row(el: etree._Element) -> list[etree._Element] | None:
    """``m:d`` for a row between a matching pair of brackets that TeX sized or fenced
    (``\\left( … \\right)``, ``\\binom``, a matrix), else None (plain runs, as texmath)."""
    kids = [k for k in el if isinstance(k.tag, str)]
    if len(kids) < 2 or not _is_mo(kids[0]):
        return None
    open_ = _text(kids[0]).strip()
    fenced = kids[0].get("fence") == "true" or kids[0].get("minsize") is not None
    last = kids[-1]
    close = _text(last).strip() if _is_mo(last) else None
    middle = kids[1:-1] if close is not None else kids[1:]
    if close is not None and not (fenced or last.get("fence") == "true"):
        if not (open_ in _OPEN and _OPEN[open_] == close and len(middle) == 1
                and _local(middle[0]) == "mtable"):
            return None
    elif close is None and not (fenced and open_ in _OPEN):
        return None
    pr = _props("m:dPr", _val("m:begChr", open_), _val("m:endChr", close or ""))
    return [_props("m:d", pr, _wrap("m:e", _seq(middle)))]


def _matrix(el: etree._Element) -> etree._Element:
    rows = [r for r in el if isinstance(r.tag, str)]
    if not rows or any(_local(r) not in ("mtr", "mlabeledtr") for r in rows):
        raise _Unsupported("mtable")
    width = max(len([c for c in r if isinstance(c.tag, str)]) for r in rows)
    mc = _props("m:mc", _props("m:mcPr", _val("m:count", str(max(width, 1))),
                               _val("m:mcJc", "center")))
    m = _props("m:m", _props("m:mPr", _props("m:mcs", mc)))
    for r in rows:
        cells = [c for c in r if isinstance(c.tag, str)]
        mr = OxmlElement("m:mr")
        for c in cells:
            mr.append(_wrap("m:e", _seq(list(c)) if _local(c) == "mtd" else _conv(c)))
        for _ in range(width - len(cells)):
            mr.append(OxmlElement("m:e"))
        m.append(mr)
    return m


__all__ = ["omml"]
