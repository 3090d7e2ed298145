"""Pandoc's grid, simple and multiline tables as one markdown-it block rule.

markdown-it reads pipe tables itself (its ``table`` rule); Pandoc's other
table syntaxes have no plugin, so this rule recognises them and emits the same
tokens (``table_open`` … ``th_open``/``td_open`` … ``table_close``) that the
converter in ``markdown.py`` turns into ``Table`` nodes. A simple or multiline
cell holds one ``inline`` token; a grid cell holds the block tokens of its text,
parsed with the same parser and environment, their line maps moved to the
source lines. Column widths and alignments follow Pandoc 3.

A block that starts like a grid table but whose lines do not line up is left to
the other rules (it becomes a paragraph) and noted in ``env["table_warnings"]``
for the converter to report.
"""

from __future__ import annotations

import re
import textwrap
from typing import NamedTuple

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.token import Token

COLUMNS = 72  # Pandoc's default text width, the measure for relative column widths
MAX_DEPTH = 4  # grid tables inside grid-table cells
_GRID_START = re.compile(r"^\+(?:[-=:]+\+)+\s*$")
_GRID_LINE = re.compile(r"^[+|].*[+|]\s*$")
_DASHES = re.compile(r"-+")
_DASHED_LINE = re.compile(r"^ *-+(?: +-+)* *$")
WARNINGS = "table_warnings"  # env key: [(line index, col index, message)]


class NotATable(NamedTuple):
    line: int  # index in the block's lines
    col: int
    why: str


def tables_plugin(md: MarkdownIt) -> None:
    # before "hr": a dashed line with gaps is a rule to CommonMark, a table to Pandoc
    md.block.ruler.before("hr", "pandoc_table", _rule)
    # a caption paragraph ("Table: …" or ": …") is never a definition-list term or definition
    md.block.ruler.before("deflist", "table_caption", _caption)


# --------------------------------------------------------------------------- the rule


def _line(state: StateBlock, n: int) -> str:
    return state.src[state.bMarks[n] + state.tShift[n] : state.eMarks[n]]


def _rule(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    if state.sCount[start] - state.blkIndent >= 4:
        return False
    first = _line(state, start)
    if _GRID_START.match(first):
        return _grid(state, start, end, silent)
    if _DASHED_LINE.match(first) or (start + 1 < end and _DASHED_LINE.match(_line(state, start + 1))):
        return _simple(state, start, end, silent)
    return False


_CAPTION_LINE = re.compile(r"^(?:[Tt]able:|:(?![!-/:-@\[-`{-~]))")


def _caption(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """A paragraph that starts like Pandoc's table caption; the converter attaches
    it to the table before or after it (or leaves it a paragraph)."""
    if state.sCount[start] - state.blkIndent >= 4 or not _CAPTION_LINE.match(_line(state, start)):
        return False
    if silent:
        return False  # it interrupts nothing
    n = start + 1
    while n < end and not state.isEmpty(n) and state.sCount[n] >= state.blkIndent:
        n += 1
    tok = state.push("paragraph_open", "p", 1)
    tok.map = [start, n]
    inline = state.push("inline", "", 0)
    inline.content = state.getLines(start, n, state.blkIndent, False).strip()
    inline.map = [start, n]
    inline.children = []
    state.push("paragraph_close", "p", -1)
    state.line = n
    return True


def _warn(state: StateBlock, line: int, col: int, message: str) -> None:
    base_line, base_col = state.env.get("_table_base", (0, 0))
    item = (base_line + line, base_col + state.tShift[line] + col, message)
    warnings = state.env.setdefault(WARNINGS, [])
    if item not in warnings:
        warnings.append(item)


# --------------------------------------------------------------------------- grid tables


def _grid(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    indent = state.tShift[start]
    lines: list[str] = []
    n = start
    while n < end and state.sCount[n] >= state.blkIndent and _GRID_LINE.match(_line(state, n)):
        lines.append(state.src[state.bMarks[n] + indent : state.eMarks[n]].rstrip())
        n += 1
    parsed = _grid_cells(lines)
    if not isinstance(parsed, NotATable) and state.env.get("_table_depth", 0) >= MAX_DEPTH:
        parsed = NotATable(0, 0, f"it is nested more than {MAX_DEPTH} tables deep")
    if isinstance(parsed, NotATable):
        if len(lines) > 1:
            _warn(state, start + parsed.line, parsed.col, f"this looks like a grid table but {parsed.why}: "
                  "it is kept as text (every row must line up with the '+' corners of the border)")
        return False
    if silent:
        return True
    cells, row_lines, col_edges, aligns, head_end, foot_start = parsed
    widths = [(b - a) / max(COLUMNS, col_edges[-1] - col_edges[0]) for a, b in zip(col_edges, col_edges[1:])]
    rows: list[list[tuple]] = [[] for _ in row_lines[:-1]]
    for top, left, bottom, right in cells:
        r0, r1 = row_lines.index(top), row_lines.index(bottom)
        c0, c1 = col_edges.index(left), col_edges.index(right)
        rows[r0].append((c0, r1 - r0, c1 - c0, top, left, bottom, right))
    head = [r for r, y in zip(rows, row_lines) if y < head_end]
    foot = [r for r, y in zip(rows, row_lines) if y >= foot_start]
    body = rows[len(head) : len(rows) - len(foot)]

    def emit_cell(tag: str, cell: tuple) -> None:
        _, rowspan, colspan, top, left, bottom, right = cell
        tok = state.push(f"{tag}_open", tag, 1)
        tok.meta = {"rowspan": rowspan, "colspan": colspan, "blocks": True}
        text = "\n".join(ln[left + 1 : right].rstrip() for ln in lines[top + 1 : bottom])
        body_lines = textwrap.dedent(text).split("\n")
        skip = 0
        while skip < len(body_lines) and not body_lines[skip].strip():
            skip += 1
        first = start + top + 1 + skip
        dedent = len(text.split("\n")[skip]) - len(body_lines[skip]) if skip < len(body_lines) else 0
        tok.meta["col"] = state.env.get("_table_base", (0, 0))[1] + indent + left + 1 + dedent
        tok.map = [first, start + bottom]
        inner: list[Token] = []
        saved = state.env.get("_table_base", (0, 0)), state.env.get("_table_depth", 0)
        state.env["_table_base"] = (saved[0][0] + first, saved[0][1] + indent + left + 1 + dedent)
        state.env["_table_depth"] = saved[1] + 1
        try:
            state.md.block.parse("\n".join(body_lines[skip:]), state.md, state.env, inner)
        finally:
            state.env["_table_base"], state.env["_table_depth"] = saved
        for t in inner:
            if t.map:
                t.map = [t.map[0] + first, t.map[1] + first]
        state.tokens.extend(inner)
        state.push(f"{tag}_close", tag, -1)

    _emit(state, start, n, aligns, widths, head, body, foot, emit_cell)
    state.line = n
    return True


def _grid_cells(lines: list[str]):
    """The cells of a grid table as (top, left, bottom, right) line/column indices
    of their corners (docutils' corner-tracing algorithm), or why it is not one."""
    if len(lines) < 3:
        return NotATable(0, 0, "it has fewer than three lines")
    width = len(lines[0])
    if any(len(ln) != width for ln in lines):
        k = next(k for k, ln in enumerate(lines) if len(ln) != width)
        return NotATable(k, min(len(lines[k]), width) - 1, f"this line is {len(lines[k])} characters long, the border {width}")
    grid = [list(ln) for ln in lines]
    aligns: dict[int, str] = {}
    eq_lines = [k for k, ln in enumerate(lines) if k and re.fullmatch(r"\+(?:[=:]+\+)+", ln)]
    align_line = eq_lines[0] if eq_lines else 0
    for k in {0, align_line, *eq_lines}:
        for m in re.finditer(r"(?<=\+)[-=:]+(?=\+)", lines[k]):
            seg = m.group(0)
            if k == align_line:
                aligns[m.start() - 1] = {(True, True): "center", (True, False): "left",
                                         (False, True): "right"}.get((seg[0] == ":", seg[-1] == ":"), "default")
            for j in range(m.start(), m.end()):
                grid[k][j] = "-"
    bottom, right = len(grid) - 1, width - 1

    def scan(top: int, left: int):
        for r in range(left + 1, right + 1):  # along the top edge
            ch = grid[top][r]
            if ch == "+":
                down = scan_down(top, left, r)
                if down is not None:
                    return down, r
            elif ch != "-":
                return None
        return None

    def scan_down(top: int, left: int, r: int):
        for b in range(top + 1, bottom + 1):
            ch = grid[b][r]
            if ch == "+":
                if closes(top, left, b, r):
                    return b
            elif ch != "|":
                return None
        return None

    def closes(top: int, left: int, b: int, r: int) -> bool:
        if grid[b][left] != "+" or any(grid[b][c] not in "-+" for c in range(left + 1, r)):
            return False
        return all(grid[y][left] in "|+" for y in range(top + 1, b))

    cells: list[tuple[int, int, int, int]] = []
    done = [0] * width  # lowest line reached so far at each column
    corners = [(0, 0)]
    while corners:
        top, left = corners.pop(0)
        if top == bottom or left == right or top < done[left]:
            continue
        found = scan(top, left)
        if found is None:
            continue
        b, r = found
        cells.append((top, left, b, r))
        for c in range(left, r):
            done[c] = b
        corners.extend([(top, r), (b, left)])
        corners.sort()
    if not cells or any(done[c] != bottom for c in range(width - 1)):
        return NotATable(0, 0, "its cells do not close")
    row_lines = sorted({c[0] for c in cells} | {c[2] for c in cells})
    col_edges = sorted({c[1] for c in cells} | {c[3] for c in cells})
    head_end = eq_lines[0] if eq_lines and eq_lines[0] != bottom else 0
    foot_start = bottom + 1
    later = [k for k in eq_lines if k > head_end]
    if later and later[-1] == bottom and len(later) > 1:
        foot_start = later[-2]
    elif later and later[-1] != bottom:
        foot_start = later[-1]
    col_aligns = [aligns.get(c, "default") for c in col_edges[:-1]]
    return cells, row_lines, col_edges, col_aligns, head_end, foot_start


# --------------------------------------------------------------------------- simple and multiline tables


def _simple(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """Pandoc's simple table (header, dashed line, rows, blank line; or headerless
    between two dashed lines) and multiline table (rows apart by blank lines, inside
    two rules), tried in Pandoc's order."""
    indent = state.blkIndent  # text may start left of the dashes: keep the line whole

    def raw(n: int) -> str:
        return state.src[state.bMarks[n] + min(indent, state.tShift[n]) : state.eMarks[n]].rstrip()

    def blank(n: int) -> bool:
        return n >= end or state.isEmpty(n)

    def rows_until_rule(n: int, multiline: bool) -> tuple[list[list[int]], int] | None:
        """Rows up to a closing dashed line followed by a blank line; the line after it."""
        rows: list[list[int]] = []
        row: list[int] = []
        while n < end:
            if blank(n):
                if not multiline:
                    return None
                if row:
                    rows.append(row)
                    row = []
            elif _DASHED_LINE.match(raw(n)) and blank(n + 1):
                return (rows + [row] if row else rows), n + 1
            elif multiline:
                row.append(n)
            else:
                rows.append([n])
            n += 1
        return None

    first = raw(start)
    head_lines: list[int] = []
    found = None
    if re.fullmatch(r"-+", first.strip()) and not blank(start + 1):  # headed multiline
        n = start + 1
        while n < end and not blank(n) and not _DASHED_LINE.match(raw(n)):
            head_lines.append(n)
            n += 1
        if head_lines and not blank(n) and n < end:
            sep, multiline, found = n, True, rows_until_rule(n + 1, True)
    if found is None and not _DASHED_LINE.match(first):  # headed simple
        head_lines, sep, multiline = [start], start + 1, False
        if len(_DASHES.findall(raw(sep))) < 2:
            return False  # "Header\n------" is a setext heading
        rows, n = [], sep + 1
        while n < end and not blank(n):
            if _DASHED_LINE.match(raw(n)) and blank(n + 1):
                n += 1
                break
            rows.append([n])
            n += 1
        found = (rows, n)
    if found is None and _DASHED_LINE.match(first):  # headerless simple, then multiline
        head_lines, sep = [], start
        for multiline in (False, True):
            found = rows_until_rule(start + 1, multiline)
            if found is not None:
                break
    if found is None or not found[0]:
        return False
    if silent:
        return True
    rows, n = found
    groups = [(m.start(), m.end()) for m in _DASHES.finditer(raw(sep))]
    starts = [a for a, _ in groups]
    nexts = starts[1:] + [None]
    bounds = [(a if i else 0, b) for i, (a, b) in enumerate(zip(starts, nexts))]  # no text is cut off

    def piece(n: int, a: int, b: int | None) -> str:
        line = raw(n)
        return line[a:b] if b is not None else line[a:]

    # Pandoc's alignType: the shortest header text against its dashes
    aligns = []
    for (a, b), nxt in zip(groups, nexts):
        texts = [t for t in (piece(k, a, nxt).rstrip() for k in (head_lines or rows[0])) if t]
        if not texts:
            aligns.append("default")
            continue
        shortest = min(texts, key=len)
        key = (shortest[0] == " ", len(shortest) < b - a)
        aligns.append({(True, False): "right", (False, True): "left", (True, True): "center"}.get(key, "default"))
    widths = None
    if multiline:
        lengths = [(nxt - a) if nxt is not None else (b - a + 1) for (a, b), nxt in zip(groups, nexts)]
        if len(lengths) > 1 and lengths[-1] < lengths[-2] and lengths[-2] - lengths[-1] <= 2:
            lengths[-1] = lengths[-2]
        widths = [w / max(COLUMNS, sum(lengths)) for w in lengths]

    def row_of(line_nums: list[int]) -> list[tuple]:
        cells = []
        for c, (a, b) in enumerate(bounds):
            parts = [piece(k, a, b) for k in line_nums]
            text = "\n".join(p.strip() for p in parts if p.strip())
            k0, p0 = next(((k, p) for k, p in zip(line_nums, parts) if p.strip()), (line_nums[0], ""))
            col = state.env.get("_table_base", (0, 0))[1] + indent + a + len(p0) - len(p0.lstrip())
            cells.append((c, 1, 1, text, k0, col))
        return cells

    def emit_cell(tag: str, cell: tuple) -> None:
        _, _, _, text, line, col = cell
        tok = state.push(f"{tag}_open", tag, 1)
        tok.meta = {"rowspan": 1, "colspan": 1, "col": col}
        tok.map = [line, line + 1]
        inline = state.push("inline", "", 0)
        inline.content = text
        inline.map = [line, line + 1]
        inline.children = []
        state.push(f"{tag}_close", tag, -1)

    head = [row_of(head_lines)] if head_lines else []
    _emit(state, start, n, aligns, widths, head, [row_of(r) for r in rows], [], emit_cell)
    state.line = n
    return True


# --------------------------------------------------------------------------- tokens


def _emit(state: StateBlock, start: int, end: int, aligns, widths, head, body, foot, emit_cell) -> None:
    tok = state.push("table_open", "table", 1)
    tok.map = [start, end]
    tok.meta = {"aligns": aligns, "widths": widths}
    for section, rows in (("thead", head), ("tbody", body), ("tfoot", foot)):
        if not rows:
            continue
        state.push(f"{section}_open", section, 1)
        for row in rows:
            state.push("tr_open", "tr", 1)
            for cell in sorted(row, key=lambda c: c[0]):
                emit_cell("th" if section == "thead" else "td", cell)
            state.push("tr_close", "tr", -1)
        state.push(f"{section}_close", section, -1)
    state.push("table_close", "table", -1)
