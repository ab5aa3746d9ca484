"""What the plain-text passes share: the article's lines as they are worked on
(``ArticleText``), the chunks they fall into between blank lines, the blocks and
headings read from them, and small tests on a line (prose, code, its words)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

_SPACES = re.compile(r"[ \t]+")
SENTENCE_END = re.compile(r"[.!?:;…][\"”’')\]_*]*$")
ABBREVIATION_END = re.compile(r"(?:\b[A-Z]\.){2,}$")  # "N.Y.C.", "U.S."
CODE_LINE = re.compile(
    r"[{};]\s*$|^\s*[{}]|^\s*(?:#\s*(?:include|define|if|ifdef|ifndef|endif|else|pragma)\b|>>>|\.\.\.\s|"
    r"\$ |//|/\*|\*/)|[a-z_\]]\((?:[^()]*)\)\s*[;{,]?\s*$|[a-z_]\["
    r"|\s(?:==|!=|<=|>=|=>|->|:=|\+=|-=|<<=?|>>=?|&&|\|\|)\s"
    r"|^\s*[\w.-]+\s*=\s*\S|\($|^\s*\),?$|\s\*,?$|\b[a-z][a-z0-9]*_[a-z0-9_]+\b"
)
TABLE_LINE = re.compile(r"[─│┼═║┌┐└┘├┤┬┴╔╗╚╝╠╣╦╩╬]|\S\t+\S|^\t*\S[^\t]*\t{2,}|^\+[-=+]{3,}\+$")
Style = Literal["plain", "caps", "numbered", "labelled", "tag", "rst"]


@dataclass
class Head:
    text: str
    label: str = ""  # numbering ("4.1.", "Chapter 3", "02.1"), "" when none
    style: Style = "plain"
    rst: str = ""  # RST underline style ("=", "=o" when overlined too)


@dataclass
class TextBlock:
    kind: Literal["heading", "para", "list", "code", "figure", "caption"]
    line: int
    text: str = ""  # raw (unescaped) text; caption for figures; Markdown fence for code
    items: list[str] = field(default_factory=list)
    ordered: bool = False
    head: Head | None = None
    level: int = 1


@dataclass
class Chunk:
    start: int  # index of the first line
    rows: list[int]  # indices of its lines
    blank_before: int
    blank_after: int = 0


@dataclass
class ArticleText:
    """The article's lines while passes remove furniture and chrome from it."""

    lines: list[str | None]  # None: removed without a trace (does not widen blank gaps)
    raw: list[str]  # as written, tabs kept, for tables
    chrome: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    rst_heads: dict[int, str] = field(default_factory=dict)  # line index -> underline style
    code_directives: set[int] = field(default_factory=set)
    plain_lines: set[int] = field(default_factory=set)  # never headings (a subtitle)

    def drop(self, index: int, *, report: bool = True) -> None:
        text = self.lines[index]
        if report and text and text.strip():
            self.chrome.append(_SPACES.sub(" ", text.strip()))
        self.lines[index] = None

    def text(self, index: int) -> str:
        return self.lines[index] or ""

    def live(self) -> list[int]:
        """Indices of the non-blank lines still in the text."""
        return [i for i, line in enumerate(self.lines) if line is not None and line.strip()]


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def word_count(text: str) -> int:
    """Words, counting each CJK character as one (those scripts do not space words)."""
    return len(text.split()) + len(_CJK.findall(text))


def indent_of(line: str) -> int:
    expanded = line.expandtabs(8)
    return len(expanded) - len(expanded.lstrip())


def clean(text: str) -> str:
    return _SPACES.sub(" ", text.strip())


def is_prose(text: str) -> bool:
    """A line (or joined paragraph) that reads as running text, not a label."""
    text = text.strip()
    words = word_count(text)
    return (words >= 8 and len(text) >= 40) or (words >= 5 and bool(SENTENCE_END.search(text)))


def is_code(text: str) -> bool:
    return bool(CODE_LINE.search(text))


def line_key(text: str) -> str:
    """A line compared with others: no leaders, page numbers, markers or case."""
    text = clean(text)
    text = re.sub(r"(?:\s*[.·…][.,·… ]*){3,}\s*\d{1,4}$|\s{2,}\d{1,4}$", "", text)
    text = re.sub(r"^[|*]([\w.-]+)[|*]\s+", r"\1 ", text)
    return re.sub(r"\W+", " ", text).strip().lower()


def next_text(doc: ArticleText, index: int) -> tuple[int, str] | None:
    for j in range(index + 1, len(doc.lines)):
        if (doc.lines[j] or "").strip():
            return j, doc.text(j)
    return None


def followed_by_prose(doc: ArticleText, index: int) -> bool:
    following = next_text(doc, index)
    return following is not None and is_prose(following[1])


def split_chunks(lines: list[str | None]) -> list[Chunk]:
    chunks: list[Chunk] = []
    blanks = 0
    for index, raw in enumerate(lines):
        if raw is None:
            continue  # removed chrome
        if not raw.strip():
            blanks += 1
            continue
        if chunks and blanks == 0:
            chunks[-1].rows.append(index)
        else:
            if chunks:
                chunks[-1].blank_after = blanks
            chunks.append(Chunk(start=index, rows=[index], blank_before=blanks))
        blanks = 0
    if chunks:
        chunks[-1].blank_after = blanks
    return chunks


def wrap_width(lines: list[str | None]) -> int | None:
    """The width the text is hard-wrapped at, or None when each line is a paragraph."""
    lengths = [len(line.strip()) for line in lines if line and line.strip()]
    long = [n for n in lengths if n >= 50]
    very_long = [n for n in lengths if n > 110]
    if len(very_long) >= 3 and len(very_long) * 5 >= len(long):
        return None
    if not long:
        return None
    ordered = sorted(long)
    return ordered[int(len(ordered) * 0.9) - 1 if len(ordered) >= 10 else -1]
