"""The plain-text part, written from the lesson's Markdown itself (not by
stripping tags from the HTML), so lists stay lists and links stay readable.

Also home to what the HTML and text stages share about lesson Markdown: the
per-subscriber `{{ }}` spans kept out of Markdown's way, and `::: callout` /
`::: exercise Title` containers.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

_md = MarkdownIt("commonmark").enable("table")

# Per-subscriber Jinja that staff write in lessons, filled in at send time.
JINJA_SPAN = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})", re.S)
_PLACEHOLDER = re.compile(r"JINJASPAN(\d+)X")
_CONTAINER_OPEN = re.compile(r"^:::[ \t]*(callout|note|tip|warning|exercise)\b[ \t]*(.*?)[ \t]*$", re.I)
_CONTAINER_CLOSE = re.compile(r"^:::[ \t]*$")
_FENCE = re.compile(r"^[ ]{0,3}(```|~~~)")
EXERCISE_LABEL = "Try it"


def protect_spans(text: str) -> tuple[str, list[str]]:
    """Swap `{{ }}`/`{% %}` spans for inert words, so neither Markdown nor MJML
    re-escapes or re-wraps them; `restore_spans` puts them back."""
    spans: list[str] = []

    def stash(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"JINJASPAN{len(spans) - 1}X"

    return JINJA_SPAN.sub(stash, text), spans


def restore_spans(text: str, spans: list[str]) -> str:
    if not spans:
        return text
    return _PLACEHOLDER.sub(lambda m: spans[int(m.group(1))], text)


@dataclass(frozen=True)
class Region:
    """A stretch of lesson Markdown: plain text, or a `:::` container."""

    kind: str  # "text", "callout" or "exercise"
    title: str
    source: str


def split_containers(source: str) -> list[Region]:
    """`::: exercise Glute bridge` … `:::` and `::: callout` … `:::` (also note, tip,
    warning) become their own regions; `:::` lines inside code fences are left alone."""
    regions: list[Region] = []
    kind, title = "text", ""
    lines: list[str] = []
    fenced = False
    for line in source.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        opening = None if fenced else _CONTAINER_OPEN.match(line)
        if opening and kind == "text":
            if "".join(lines).strip():
                regions.append(Region(kind, title, "\n".join(lines)))
            name = opening.group(1).lower()
            kind, title, lines = ("exercise" if name == "exercise" else "callout"), opening.group(2), []
        elif not fenced and kind != "text" and _CONTAINER_CLOSE.match(line):
            regions.append(Region(kind, title, "\n".join(lines)))
            kind, title, lines = "text", "", []
        else:
            lines.append(line)
    if "".join(lines).strip():
        regions.append(Region(kind, title, "\n".join(lines)))
    return regions


def _inline(token: Token) -> str:
    out: list[str] = []
    href: str | None = None
    link_text: list[str] = []
    for child in token.children or []:
        if child.type == "link_open":
            href = str(child.attrs.get("href", ""))
            link_text = []
        elif child.type == "link_close":
            text = "".join(link_text)
            out.append(f"{text} ({href})" if href and href != text else text)
            href = None
        elif child.type in {"text", "code_inline", "html_inline"}:
            (link_text if href is not None else out).append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            (link_text if href is not None else out).append("\n" if child.type == "hardbreak" else " ")
        elif child.type == "image":
            out.append(f"[{child.content or 'image'}]")
    return "".join(out)


def _fill(text: str, width: int, first: str = "", rest: str = "") -> str:
    # URLs never broken: a link cut in two is a dead link in a text-only mail app
    return textwrap.fill(text, width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False)


def markdown_to_text(source: str, width: int = 72) -> str:
    """Headings underlined, lists bulleted or numbered, quotes indented, links as
    `text (url)`, exercises under a heading and callouts behind a bar."""
    protected, spans = protect_spans(source)
    parts = []
    for region in split_containers(protected):
        text = _region_to_text(region.source, width)
        if region.kind == "exercise":
            heading = f"{EXERCISE_LABEL}: {region.title}" if region.title else EXERCISE_LABEL
            text = f"{heading}\n{'-' * min(len(heading), width)}\n\n{text}"
        elif region.kind == "callout":
            title = f"{region.title}\n\n" if region.title else ""
            text = textwrap.indent(title + text, "| ", lambda _line: True).replace("| \n", "|\n")
        parts.append(text.rstrip("\n"))
    return restore_spans("\n\n".join(p for p in parts if p) + "\n", spans)


def _region_to_text(source: str, width: int) -> str:
    writer = _Writer(width)
    for token in _md.parse(source):
        handler = _HANDLERS.get(token.type)
        if handler is not None:
            handler(writer, token)
    return "\n\n".join(writer.blocks) + "\n"


class _Writer:
    """Plain-text blocks of one region, written token by token (see `_HANDLERS`)."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.blocks: list[str] = []
        self.row: list[str] | None = None  # cells of the table row being read
        self.lists: list[list[int]] = []  # stack of [is_ordered, counter, index of its block or -1]
        self.quote_depth = 0
        self.pending_bullet: str | None = None
        self.heading_level = 0

    def heading(self, token: Token) -> None:
        self.heading_level = int(token.tag[1]) if token.type == "heading_open" else 0

    def open_list(self, token: Token) -> None:
        start = int(str(token.attrs.get("start", 1))) - 1
        # a nested list continues its parent's block: no blank line inside one list
        joined = self.lists[-1][2] if self.lists and self.lists[-1][2] == len(self.blocks) - 1 else -1
        self.lists.append([token.type == "ordered_list_open", start, joined])

    def close_list(self, token: Token) -> None:
        self.lists.pop()

    def item(self, token: Token) -> None:
        self.lists[-1][1] += 1
        self.pending_bullet = f"{self.lists[-1][1]}. " if self.lists[-1][0] else "- "

    def quote(self, token: Token) -> None:
        self.quote_depth += 1 if token.type == "blockquote_open" else -1

    def rule(self, token: Token) -> None:
        self.blocks.append("-" * 20)

    def code(self, token: Token) -> None:
        self.blocks.append(textwrap.indent(token.content.rstrip("\n"), "    "))

    def table(self, token: Token) -> None:
        self.blocks.append("")

    def open_row(self, token: Token) -> None:
        self.row = []

    def close_row(self, token: Token) -> None:
        if self.row is not None:
            # a table row on one line, cells apart: narrow enough for a phone's text view
            self.blocks[-1] += ("\n" if self.blocks[-1] else "") + " | ".join(self.row)
            self.row = None

    def inline(self, token: Token) -> None:
        text = _inline(token).strip()
        if self.row is not None:
            self.row.append(text)
        elif self.heading_level:
            underline = "=" if self.heading_level <= 2 else "-"
            self.blocks.append(f"{text}\n{underline * min(len(text), self.width)}")
        elif self.pending_bullet is not None:
            self._list_item(text)
        else:
            indent = "  " * max(len(self.lists) - 1, 0) + ("  " if self.lists else "")
            self.blocks.append(_fill(text, self.width, indent, indent))
            self._quoted()

    def _list_item(self, text: str) -> None:
        assert self.pending_bullet is not None
        indent = "  " * max(len(self.lists) - 1, 0)
        bullet, self.pending_bullet = self.pending_bullet, None
        wrapped = _fill(text, self.width, indent + bullet, indent + " " * len(bullet))
        # items of one list sit together, without blank lines between them
        if self.lists[-1][2] == len(self.blocks) - 1 >= 0:
            self.blocks[-1] += "\n" + wrapped
            return
        self.blocks.append(wrapped)
        self.lists[-1][2] = len(self.blocks) - 1
        self._quoted()

    def _quoted(self) -> None:
        if self.quote_depth:
            self.blocks[-1] = textwrap.indent(self.blocks[-1], "> " * self.quote_depth)


_HANDLERS: dict[str, Callable[[_Writer, Token], None]] = {
    "heading_open": _Writer.heading, "heading_close": _Writer.heading,
    "bullet_list_open": _Writer.open_list, "ordered_list_open": _Writer.open_list,
    "bullet_list_close": _Writer.close_list, "ordered_list_close": _Writer.close_list,
    "list_item_open": _Writer.item,
    "blockquote_open": _Writer.quote, "blockquote_close": _Writer.quote,
    "hr": _Writer.rule, "fence": _Writer.code, "code_block": _Writer.code,
    "table_open": _Writer.table, "tr_open": _Writer.open_row, "tr_close": _Writer.close_row,
    "inline": _Writer.inline,
}
