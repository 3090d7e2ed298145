"""Bytes → text: UTF-8 only, BOM and CRLF tolerated, NULs and oversize refused."""

from __future__ import annotations

from ..diagnostics import Diagnostic, PublishError

MAX_SOURCE_BYTES = 8_000_000  # a long-form article is ~16 kB; 50x is under 1 MB
MAX_LINE_CHARS = 100_000  # one paragraph of ~16,000 words: beyond any article


def decode(data: bytes, path: str, limit: int = MAX_SOURCE_BYTES) -> str:
    """Decode a source file; raise PublishError at the first bad byte's line:col."""
    if len(data) > limit:
        raise PublishError(
            Diagnostic(path, 1, 1, "error", f"file is {len(data):,} bytes; the limit is {limit:,}")
        )
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
        raise PublishError(
            Diagnostic(path, line, col, "error", f"not UTF-8: byte 0x{bad} cannot be decoded")
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for n, line in enumerate(text.split("\n"), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise PublishError(Diagnostic(path, n, MAX_LINE_CHARS + 1, "error",
                                          f"line is {len(line):,} characters long; the limit is {MAX_LINE_CHARS:,}"))
    return text


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
