"""HTML tables: data tables become GFM tables, layout tables are content.

Lesson bodies are CommonMark with the table extension, so a table of data
is written as a Markdown pipe table (email clients render the resulting
``<table>``). Many pages use tables for layout instead (a one-column
wrapper, cells holding headings, lists or whole articles), and WordPress
code plugins put a code sample in a table next to a line-number gutter:
those are walked as ordinary content so that nothing is silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from bs4 import Tag

# Content inside a cell that a data table does not hold.
_BLOCK_CONTENT = ["table", "ul", "ol", "dl", "pre", "blockquote", "figure", *(f"h{n}" for n in range(1, 7))]
_PARAGRAPHS = ["p", "div"]
_MAX_LINK_SHARE = 0.5
_GUTTER = re.compile(r"[\d\s]*")  # a line-number column beside a code sample


def rows(table: Tag) -> list[Tag]:
    """The table's own rows (not those of tables nested in its cells)."""
    out: list[Tag] = []
    for child in table.children:
        if not isinstance(child, Tag):
            continue
        if child.name == "tr":
            out.append(child)
        elif child.name in ("thead", "tbody", "tfoot"):
            out.extend(row for row in child.children if isinstance(row, Tag) and row.name == "tr")
    return out


def cells(row: Tag) -> list[Tag]:
    return [cell for cell in row.children if isinstance(cell, Tag) and cell.name in ("td", "th")]


def _span(cell: Tag, name: str) -> int:
    try:
        return max(1, min(int(str(cell.get(name) or 1)), 50))
    except ValueError:
        return 1


def is_layout(table: Tag) -> bool:
    """A table used to lay out a page or a code sample, not to hold data."""
    table_rows = rows(table)
    if not table_rows:
        return True
    widths = [sum(_span(c, "colspan") for c in cells(row)) for row in table_rows]
    if max(widths, default=0) <= 1:
        return True  # one column of content
    for row in table_rows:
        for cell in cells(row):
            if cell.find(_BLOCK_CONTENT) or len(cell.find_all(_PARAGRAPHS, recursive=False)) > 1:
                return True
    return False


def is_data(table: Tag) -> bool:
    """A table of data, not one of links (a navigation box) nor one for layout."""
    if is_layout(table):
        return False
    text = len(table.get_text(" ", strip=True).split())
    linked = sum(len(a.get_text(" ", strip=True).split()) for a in table.find_all("a"))
    return text > 0 and linked < _MAX_LINK_SHARE * text


def layout_cells(table: Tag) -> Iterator[Tag]:
    """Cells of a layout table in reading order, without code line numbers."""
    for row in rows(table):
        row_cells = cells(row)
        has_code = any(cell.find("pre") for cell in row_cells)
        for cell in row_cells:
            if has_code and _GUTTER.fullmatch(cell.get_text()):
                continue  # the line numbers beside a code sample
            yield cell


def _grid(table: Tag, inline: Callable[[Tag], str]) -> list[list[str]]:
    """Cell texts laid out on a grid, spanned places filled with blanks."""
    grid: list[list[str]] = []
    pending: dict[int, int] = {}  # column -> rows still covered by a rowspan above
    table_rows = rows(table)
    for row in table_rows:
        line: list[str] = []
        column = 0
        for cell in cells(row):
            while pending.get(column):
                pending[column] -= 1
                line.append("")
                column += 1
            text = re.sub(r"\s+", " ", inline(cell)).strip().replace("|", "\\|")
            span = _span(cell, "colspan")
            line.extend([text] + [""] * (span - 1))
            for offset in range(span):
                if _span(cell, "rowspan") > 1:
                    pending[column + offset] = _span(cell, "rowspan") - 1
            column += span
        while pending.get(column):
            pending[column] -= 1
            line.append("")
            column += 1
        grid.append(line)
    return grid


def markdown_table(table: Tag, inline: Callable[[Tag], str]) -> str:
    """A GFM pipe table of the data table's cells ("" when it holds no text)."""
    grid = [line for line in _grid(table, inline) if any(line)]
    if not grid:
        return ""
    width = max(len(line) for line in grid)
    grid = [line + [""] * (width - len(line)) for line in grid]
    # GFM needs a header row; data tables without <th> still head their first row
    lines = [_row(grid[0]), "|" + "|".join(" --- " for _ in range(width)) + "|"]
    lines.extend(_row(line) for line in grid[1:])
    caption = table.find("caption")
    if isinstance(caption, Tag) and (title := re.sub(r"\s+", " ", inline(caption)).strip()):
        lines.insert(0, f"**{title}**\n")
    return "\n".join(lines)


def _row(line: list[str]) -> str:
    return "| " + " | ".join(line) + " |"
