"""Bytes → text: UTF-8 only, BOM and CRLF tolerated, NULs and oversize refused."""

from __future__ import annotations

import re

from ..diagnostics import Diagnostic, PublishError

MAX_SOURCE_BYTES = 8_000_000  # a long-form article is ~16 kB; 50x is under 1 MB
MAX_LINE_CHARS = 100_000  # one paragraph of ~16,000 words: beyond any article
# Characters XML 1.0 cannot hold (so neither EPUB nor DOCX can): C0 controls but
# tab/newline/return, and the non-characters U+FFFE/U+FFFF.
_ILLEGAL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def illegal_char(text: str) -> int | None:
    """Index of the first character no output format can hold, or None."""
    m = _ILLEGAL.search(text)
    return m.start() if m else None


def describe_char(ch: str) -> str:
    return f"control character U+{ord(ch):04X}" if ord(ch) < 0x80 else f"non-character U+{ord(ch):04X}"


def decode(data: bytes, path: str, limit: int = MAX_SOURCE_BYTES) -> str:
    """Decode a source file; raise PublishError at the first bad byte's line:col."""
    if len(data) > limit:
        raise PublishError(
            Diagnostic(path, 1, 1, "error", f"file is {len(data):,} bytes; the limit is {limit:,}")
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "UTF-16LE" if data.startswith(b"\xff\xfe") else "UTF-16BE"
        raise PublishError(Diagnostic(path, 1, 1, "error",
                                      f"the file is {enc} (it starts with a UTF-16 byte-order mark), not UTF-8: "
                                      f"convert it with {_iconv(enc, path)}"))
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _line_col_bytes(data, nul)
        raise PublishError(Diagnostic(path, line, col, "error", "NUL byte in text (binary file?)"))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col_bytes(data, exc.start)
        bad = data[exc.start : exc.start + 1].hex()
        enc, name = guess_encoding(data)
        raise PublishError(
            Diagnostic(path, line, col, "error", f"not UTF-8: byte 0x{bad} cannot be decoded; the file looks like "
                                                 f"{name}: convert it with {_iconv(enc, path)}")
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    bad = illegal_char(text)
    if bad is not None:
        line, col = _line_col(text, bad)
        raise PublishError(Diagnostic(path, line, col, "error",
                                      f"{describe_char(text[bad])} in text: no output format can hold it"))
    for n, line in enumerate(text.split("\n"), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise PublishError(Diagnostic(path, n, MAX_LINE_CHARS + 1, "error",
                                          f"line is {len(line):,} characters long; the limit is {MAX_LINE_CHARS:,}"))
    return text


def guess_encoding(data: bytes) -> tuple[str, str]:
    """The likely encoding of text that is not UTF-8: (iconv name, description)."""
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        han = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
        high = sum(1 for b in data if b >= 0x80)
        if high and han * 2 >= high * 0.8:  # most high bytes pair up into Han characters
            return "GB18030", "GB18030 (Simplified Chinese)"
    try:
        data.decode("cp1252")
        return "CP1252", "Windows-1252 (Western European)"
    except UnicodeDecodeError:
        return "ISO-8859-1", "Latin-1 (ISO-8859-1)"


def _iconv(enc: str, path: str) -> str:
    import shlex

    p = shlex.quote(path)
    return f"iconv -f {enc} -t UTF-8 {p} > {p}.utf8 && mv {p}.utf8 {p}"


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


def _line_col_bytes(data: bytes, index: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, index) + 1
    start = data.rfind(b"\n", 0, index) + 1
    # column in characters of the valid prefix of the line
    col = len(data[start:index].decode("utf-8", errors="replace")) + 1
    return line, col
