"""Reader for plain-text articles: copies of web pages, e-texts, RFCs, PEP sources.

Plain text has no markup, so structure is inferred from layout, in passes:

1. furniture: text around the article that is not the article. E-text
   banners ("*** START OF ... ***", an "End of ..." line before a licence), a
   long legal section after the last content, an RFC-822 style header block
   ("Title: ...") at the top, a memo header set in two columns, page footers
   and headers repeated with page numbers, form feeds;
2. markup: reStructuredText underlined/overlined headings (levels from the
   order the underline styles first appear), ``.. [n]`` notes, ``::``
   literal blocks, and inline roles;
3. chrome: whole lines that are site chrome (chrome.py), columns of menu
   labels, story cards, and contents lists (lines that repeat headings
   further down, possibly with dot leaders and page numbers);
4. the title: a "Title:" field, an overlined RST title, or the title-like
   line before the first paragraph (what stands above it is the site's name
   and menu, short lines under it are its byline);
5. blocks: paragraphs are runs of lines (hard-wrapped lines are joined); a
   heading is a short title-like line followed by content, with or without
   a blank line between (numbered, ALL-CAPS, ``*02.1*`` tags, "Chapter 3:");
   code and tables keep their lines; bullet and numbered lines form lists;
   a caption is a line after a picture marker or a sentence pointing at a
   picture, or one with more blank space after it than before it;
6. context: "Related posts" boxes and menu lines after the article are
   chrome; the reference list and footnote markers (footnotes.py).
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from sender.content.chrome import (
    is_bio_marker,
    is_chrome_line,
    is_date_line,
    is_menu_item,
    is_related_heading,
    is_soft_chrome,
)
from sender.content.document import Block, Document, Figure, Heading, ListBlock, Paragraph
from sender.content.footnotes import RST_DEFINITION, MarkerFinder, RstNotes, plain_rst_markers
from sender.content.inline import escape_text
from sender.content.structure import (
    REFERENCE_HEADING,
    is_closing_heading,
    looks_like_citation,
    shape,
)

_BULLET = re.compile(r"^\s*(?:[•\-*–·▪◦‣]|o(?=\s\s))\s+(\S.*)$")
_NUMBERED_ITEM = re.compile(r"^\s*(?:\d{1,3}[.)]|\[\d{1,3}\])\s+(\S.*)$")
_NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2})+[.:]?|\d{1,2}[.):])\s+(\S.*)$")
# "Chapter 3: Breathe", "Appendix A. Tables", "Part II: Later", "Step 3: Rest"
_LABELLED_HEADING = re.compile(r"^((?:[A-Z][a-z]+ )?(?:\d{1,3}(?:\.\d{1,3})*|[IVXLC]{1,6}|[A-Z]))[:.]\s+\S")
_TAG_HEADING = re.compile(
    r"^\*(\d{1,2}(?:\.\d{1,2})*)\*\s+(\S.*?)(?:\s+\*[\w.-]+\*)*$"
)  # Vim help: *02.1* Title
_TILDE_HEADING = re.compile(r"^(\S.*?)\s+~$")  # Vim help: "Heading ~"
_MEDIA_POINTER = re.compile(
    r"\b(?:picture|image|photo|photograph|diagram|illustration|figure|graphic|chart|"
    r"infographic|video)s?\b[^.]{0,40}\b(?:below|above|following)\b|"
    r"\b(?:below|above|following)\b[^.]{0,20}\b(?:picture|image|photo|diagram|illustration|"
    r"figure|graphic|chart|video)s?\b",
    re.I,
)
# A line standing for a picture that the copy lost ("Image" in copied news pages).
_PICTURE_MARKER = re.compile(r"\[?(?:image|photo|picture|video|graphic|figure(?: \d+)?)\]?:?", re.I)
# "...on the street.CreditJane Doe for The Daily" - a photo credit glued to its caption
_GLUED_CREDIT = re.compile(r"(?<=[.!?”’\"])\s?(?:Credit|Photo|Image)(?::\s?|\s?)[A-Z].{0,80}$")
_SPACES = re.compile(r"[ \t]+")
_VERSE_BREAK = "\ue002"  # a hard line break, written "  \n" once the text is escaped
_PLAIN_EMPHASIS = re.compile(
    r"(?<![\w*_\\])(?P<mark>[_*])(?P<text>[^\s_*](?:[^_*]*?[^\s_*])?)(?P=mark)(?![\w*_])"
)
_MAX_HEADING_CHARS = 90
_MAX_HEADING_WORDS = 14
_SENTENCE_END = re.compile(r"[.!?:;…][\"”’')\]_*]*$")
_ABBREVIATION_END = re.compile(r"(?:\b[A-Z]\.){2,}$")  # "N.Y.C.", "U.S."
_CODE_LINE = re.compile(
    r"[{};]\s*$|^\s*[{}]|^\s*(?:#\s*(?:include|define|if|ifdef|ifndef|endif|else|pragma)\b|>>>|\.\.\.\s|"
    r"\$ |//|/\*|\*/)|[a-z_\]]\((?:[^()]*)\)\s*[;{,]?\s*$|[a-z_]\["
    r"|\s(?:==|!=|<=|>=|=>|->|:=|\+=|-=|<<=?|>>=?|&&|\|\|)\s"
    r"|^\s*[\w.-]+\s*=\s*\S|\($|^\s*\),?$|\s\*,?$|\b[a-z][a-z0-9]*_[a-z0-9_]+\b"
)
_TABLE_LINE = re.compile(r"[─│┼═║┌┐└┘├┤┬┴╔╗╚╝╠╣╦╩╬]|\S\t+\S|^\t*\S[^\t]*\t{2,}|^\+[-=+]{3,}\+$")
_RULE_LINE = re.compile(r"^\s*([-=~_*#+^.:`'\"<>])\1{3,}\s*$")
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+<>:._])\1{2,}\s*$")
_BANNER = re.compile(r"^\s*(?:\*{3,}|={3,}|#{3,})\s*(.*?)\s*(?:\*{3,}|={3,}|#{3,})\s*$")
_END_MARKER = re.compile(r"^\W*end of (?:the |this )?\w.{0,90}$", re.I)
_HEADER_FIELD = re.compile(r"^([A-Z][A-Za-z0-9-]*(?: [A-Za-z][a-z0-9-]*){0,2}):\s+(\S.*)$")
_COLUMN_GAP = re.compile(r"\S {3,}\S")
_PAGE_NUMBER = re.compile(
    r"\[\s*page \d+\s*\]|\bpage \d+(?: of \d+)?\b|^\s*[-–]?\s*\d{1,4}\s*[-–]?\s*$", re.I
)
_DOT_LEADER = re.compile(r"\S\s*(?:[.·…]\s?[.,·… ]*){3,}\s*\d{1,4}\s*$")
_CONTENTS_HEADING = re.compile(
    r"(?:table of )?contents|toc|in this (?:article|post|guide|issue|page)|on this page|jump to(?: section)?|"
    r"what(?:'|’)?s (?:inside|covered)",
    re.I,
)
_LEGAL_WORDS = re.compile(
    r"\b(?:licen[cs]e[sd]?|licensor|copyright|trademarks?|warrant(?:y|ies)|liab(?:le|ility)|damages|"
    r"disclaim\w*|redistribut\w*|indemni\w*|merchantability|royalt(?:y|ies)|infring\w*|jurisdiction|"
    r"hereby|terms of (?:use|this)|agreement)\b",
    re.I,
)
# Sections of a document's back matter: unnumbered, yet top-level after numbered sections.
_BACK_MATTER = re.compile(
    r"(?:acknowledge?ments?|authors?(?:'|’)?s?(?: addresses| information)?|"
    r"(?:full )?copyright(?: statement| notice)?|"
    r"licen[cs]e|appendi(?:x|ces)\b.*|glossary|index|colophon|references?|bibliography|notes|errata|"
    r"about the authors?|contributors|credits|further reading|resources)[:.]?",
    re.I,
)
# Names of ordinary sections, never an article's title.
_SECTION_NAMES = re.compile(
    r"(?:introduction|abstract|overview|summary|background|foreword|preface|contents|table of contents|"
    r"prologue|motivation|conclusions?)[:.]?",
    re.I,
)
_RST_ROLE = re.compile(r":(\w[\w-]*):`([^`]+)`")
_RST_INLINE = re.compile(
    r"``(?P<code>.+?)``"
    r"|:(?P<role>\w[\w-]*):`(?P<rtext>[^`]+)`"
    r"|`(?P<ltext>[^`<]+?)\s*<(?P<url>[^>`]+)>`__?"
    r"|`(?P<ref>[^`]+)`__?"
    r"|(?<![\w*])\*\*(?P<strong>\S(?:.*?\S)?)\*\*(?![\w*])"
    r"|(?<![\w*])\*(?P<em>[^\s*](?:[^*]*?[^\s*])?)\*(?![\w*])"
    r"|`(?P<interp>[^`]+)`"
)

# Words that title case may leave in lower case.
_SMALL_WORDS = {
    "a", "an", "the", "and", "or", "but", "nor", "for", "of", "on", "in", "at", "to", "by", "with", "from",
    "as", "is", "it", "its", "vs", "via", "per", "into", "onto", "up", "out", "off", "over",
}  # fmt: skip

Style = Literal["plain", "caps", "numbered", "labelled", "tag", "rst"]


@dataclass
class _Head:
    text: str
    label: str = ""  # numbering ("4.1.", "Chapter 3", "02.1"), "" when none
    style: Style = "plain"
    rst: str = ""  # RST underline style ("=", "=o" when overlined too)


@dataclass
class _Block:
    kind: Literal["heading", "para", "list", "code", "figure", "caption"]
    line: int
    text: str = ""  # raw (unescaped) text; caption for figures; Markdown fence for code
    items: list[str] = field(default_factory=list)
    ordered: bool = False
    head: _Head | None = None
    level: int = 1


@dataclass
class _Chunk:
    start: int  # index of the first line
    rows: list[int]  # indices of its lines
    blank_before: int
    blank_after: int = 0


@dataclass
class _Text:
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


# ---------------------------------------------------------------- small tests


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _words(text: str) -> int:
    """Words, counting each CJK character as one (those scripts do not space words)."""
    return len(text.split()) + len(_CJK.findall(text))


def _indent(line: str) -> int:
    expanded = line.expandtabs(8)
    return len(expanded) - len(expanded.lstrip())


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text.strip())


def _is_prose(text: str) -> bool:
    """A line (or joined paragraph) that reads as running text, not a label."""
    text = text.strip()
    words = _words(text)
    return (words >= 8 and len(text) >= 40) or (words >= 5 and bool(_SENTENCE_END.search(text)))


def _is_code(text: str) -> bool:
    return bool(_CODE_LINE.search(text))


def _heading_like(text: str, *, numbered: bool = False) -> bool:
    text = _clean(text).strip("_*").strip()  # "_Emphasis._" is judged by its words
    if not text or len(text) > _MAX_HEADING_CHARS or _words(text) > _MAX_HEADING_WORDS:
        return False
    if not re.search(r"[^\W\d_]", text):
        return False  # a number or a row of symbols
    if _is_code(text) or _TABLE_LINE.search(text):
        return False
    if text[-1] in ",;:!…" or text.endswith("..."):
        return False
    if text[-1] == "." and not (numbered and _words(text) <= 8) and not _ABBREVIATION_END.search(text):
        return False
    if ": " in text and not _LABELLED_HEADING.match(text):
        prefix = text.split(": ", 1)[0]
        if _words(prefix) <= 3:
            return False  # "Recommended Repetitions: 10-20" is a field, not a heading
    first = next((ch for ch in text if ch.isalnum()), "")
    return bool(first) and (first.isupper() or first.isdigit())


def _head_of(text: str) -> _Head | None:
    """The heading a title-like line would be, with its numbering and style."""
    text = _clean(text)
    if tag := _TAG_HEADING.match(text):
        return _Head(tag.group(2), label=tag.group(1), style="tag")
    if tilde := _TILDE_HEADING.match(text):
        return _Head(tilde.group(1), style="tag") if _heading_like(tilde.group(1)) else None
    numbered = _NUMBERED_HEADING.match(text)
    if not _heading_like(text, numbered=bool(numbered)):
        return None
    if numbered:
        words = numbered.group(2)
        if words.endswith(".") and not _ABBREVIATION_END.search(words):
            words = words[:-1]  # "0. Definitions." reads "Definitions"
        return _Head(words, label=numbered.group(1), style="numbered")
    if labelled := _LABELLED_HEADING.match(text):
        return _Head(text, label=labelled.group(1), style="labelled")
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) >= 4 and all(ch.isupper() for ch in letters):
        return _Head(text, style="caps")
    return _Head(text)


def _key(text: str) -> str:
    """A line compared with others: no leaders, page numbers, markers or case."""
    text = _clean(text)
    text = re.sub(r"(?:\s*[.·…][.,·… ]*){3,}\s*\d{1,4}$|\s{2,}\d{1,4}$", "", text)
    text = re.sub(r"^[|*]([\w.-]+)[|*]\s+", r"\1 ", text)
    return re.sub(r"\W+", " ", text).strip().lower()


# ---------------------------------------------------------------- pass 1: furniture


def _normalise(text: str) -> tuple[list[str], list[str], set[int]]:
    """Lines without line-end noise, the same with their tabs (table cells), and
    the indices of lines that held a form feed."""
    lines: list[str] = []
    raw: list[str] = []
    breaks: set[int] = set()
    for index, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        if "\f" in line:
            breaks.add(index)
            line = line.replace("\f", "")
        # Non-breaking and thin spaces are web-page copy noise, not meaning.
        line = line.translate({0xA0: " ", 0x2009: " ", 0x202F: " ", 0x200B: None})
        raw.append(line.rstrip(" "))
        lines.append(line.rstrip(" \t"))
    return lines, raw, breaks


def _legal(text: str) -> bool:
    return len(_LEGAL_WORDS.findall(text)) >= 2


def _cut_banners(doc: _Text) -> None:
    """E-text banners: what stands before a START banner is the e-text's header,
    what follows an END banner or an "End of ..." line before legal text is its
    licence. Fields of the header ("Title: ...") are kept for the title."""
    lines = doc.lines
    total = len(lines)
    start = 0
    for index in range(total // 2):
        banner = _BANNER.match(lines[index] or "")
        if banner and re.search(r"\b(?:start|begin(?:ning)?)\b", banner.group(1), re.I):
            start = index + 1
            break
    if start:
        for index in range(start):
            if field_match := _HEADER_FIELD.match(doc.text(index).strip()):
                doc.fields.setdefault(field_match.group(1).lower(), _clean(field_match.group(2)))
            doc.drop(index, report=_words(doc.text(index)) <= 20)
    for index in range(max(start, total // 2), total):
        text = doc.text(index).strip()
        banner = _BANNER.match(text)
        if banner and re.search(r"\bend\b", banner.group(1), re.I):
            _cut_from(doc, index, text)
            return
        if _END_MARKER.match(text) and _words(text) <= 16:
            after = [doc.text(j) for j in range(index + 1, total) if doc.text(j).strip()]
            banner_follows = any(_BANNER.match(line) for line in after[:5])
            legal_lines = sum(bool(_LEGAL_WORDS.search(line)) for line in after)
            if banner_follows or (after and legal_lines * 10 >= len(after)):
                _cut_from(doc, index, text)
                return


def _cut_from(doc: _Text, index: int, marker: str) -> None:
    removed = sum(1 for j in range(index, len(doc.lines)) if doc.text(j).strip())
    doc.chrome.append(_clean(marker))
    for j in range(index, len(doc.lines)):
        doc.drop(j, report=False)
    doc.notes.append(f"left out {removed} lines of back matter from {_clean(marker)!r} on (line {index + 1})")


def _cut_legal_tail(doc: _Text) -> None:
    """A long legal section after the last content (a licence with its own
    numbered clauses) would become a dozen lessons: leave it out. A short
    copyright statement stays, as the end of the last lesson."""
    chunks = _chunks(doc.lines)
    first_legal = None
    legal_words = 0
    for position in range(len(chunks) - 1, -1, -1):
        chunk = chunks[position]
        text = " ".join(doc.text(i) for i in chunk.rows)
        if _legal(text) or (len(chunk.rows) == 1 and _heading_like(text, numbered=True)):
            first_legal = position
            legal_words += _words(text)
            continue
        break
    if first_legal is None:
        return
    before = sum(_words(doc.text(i)) for chunk in chunks[:first_legal] for i in chunk.rows)
    # Longer than a long lesson, after an article of its own: it is not the article.
    if legal_words >= 1000 and before >= 300:
        start = chunks[first_legal].start
        _cut_from(doc, start, doc.text(start))


def _header_block(doc: _Text) -> None:
    """An RFC-822 style header at the top ("Title: ...", "Author: ...", with
    indented continuation lines), or a memo header set in two columns."""
    live = doc.live()
    if not live:
        return
    first = live[0]
    block: list[int] = []
    for index in range(first, len(doc.lines)):
        if doc.lines[index] is None:
            continue
        if not doc.text(index).strip():
            break
        block.append(index)
    fields = [i for i in block if _HEADER_FIELD.match(doc.text(i))]
    continued = all(
        i in fields or (doc.text(i).startswith((" ", "\t")) and j > 0) for j, i in enumerate(block)
    )
    if len(fields) >= 2 and continued and block[0] in fields:
        key = ""
        for index in block:
            if m := _HEADER_FIELD.match(doc.text(index)):
                key = m.group(1).lower()
                doc.fields[key] = _clean(m.group(2))
            elif key:
                doc.fields[key] += " " + _clean(doc.text(index))
            doc.drop(index)
        return
    columns = [i for i in block if _COLUMN_GAP.search(doc.text(i).strip()) or _indent(doc.text(i)) >= 30]
    if len(block) >= 2 and len(columns) == len(block):
        for index in block:
            doc.drop(index)


def _page_furniture(doc: _Text, breaks: set[int]) -> None:
    """Page footers and headers ("Klyne  Standards Track  [Page 3]") next to
    form feeds, or repeated with only their page number changing. A paragraph
    cut by a page break is joined again."""
    lines = doc.lines

    def near(index: int, step: int) -> int | None:
        index += step
        while 0 <= index < len(lines) and not (lines[index] or "").strip():
            index += step
        return index if 0 <= index < len(lines) else None

    def shaped(text: str) -> bool:
        return bool(_COLUMN_GAP.search(text.strip()) or _PAGE_NUMBER.search(text))

    digitless = Counter(
        re.sub(r"\d+", "#", _clean(line))
        for line in lines
        if line and len(re.findall(r"[A-Za-z]{2,}", line)) >= 2
    )
    furniture: set[int] = set()
    for index, line in enumerate(lines):
        if (
            line
            and shaped(line)
            and len(re.findall(r"[A-Za-z]{2,}", line)) >= 2
            and not _TABLE_LINE.search(line)
        ):
            isolated = not (lines[index - 1] or "").strip() if index else True
            isolated = isolated or index + 1 == len(lines) or not (lines[index + 1] or "").strip()
            if isolated and digitless[re.sub(r"\d+", "#", _clean(line))] >= 3:
                furniture.add(index)
    for index in breaks:
        if (lines[index] or "").strip() and shaped(lines[index] or ""):
            furniture.add(index)
        for step in (-1, 1):
            found = near(index, step) if not (lines[index] or "").strip() or step == 1 else None
            if found is not None and shaped(lines[found] or ""):
                furniture.add(found)
    for index in sorted(furniture):
        doc.drop(index)
    # Join what a page break cut in two: the gap is only blank lines now.
    for index in sorted(furniture | breaks):
        before, after = near(index, -1), near(index, 1)
        if before is None or after is None:
            continue
        head, tail = lines[before] or "", lines[after] or ""
        if not _SENTENCE_END.search(head) and tail.strip()[:1].islower() and _indent(head) == _indent(tail):
            for j in range(before + 1, after):
                lines[j] = None


# ---------------------------------------------------------------- pass 2: markup


def _rst_markup(doc: _Text, notes: RstNotes, references: list[str]) -> dict[str, str]:
    """Underlined headings, notes, comments and link targets of reStructuredText."""
    lines = doc.lines
    targets: dict[str, str] = {}
    index = 0
    while index < len(lines):
        text = lines[index]
        if text is None:
            index += 1
            continue
        under = lines[index + 1] if index + 1 < len(lines) else None
        blank_before = index == 0 or not (lines[index - 1] or "").strip()
        stripped = text.strip()
        if (
            stripped and under and _RST_UNDERLINE.match(under) and not _RST_UNDERLINE.match(text)
            and len(under.strip()) >= max(3, int(len(stripped) * 0.8)) and not text.startswith((" ", "\t"))
        ):  # fmt: skip
            style = under.strip()[0]
            over = index - 1
            if over >= 0 and (lines[over] or "").strip() == under.strip():
                style += "o"
                lines[over] = None
            elif not blank_before:
                index += 1
                continue
            doc.rst_heads[index] = style
            lines[index + 1] = None
            index += 2
            continue
        if stripped and _RST_UNDERLINE.match(stripped) and index + 2 < len(lines):
            # an overline: title (maybe indented) then the same line again
            title, below = lines[index + 1] or "", lines[index + 2] or ""
            if title.strip() and below.strip() == stripped and blank_before:
                doc.rst_heads[index + 1] = stripped[0] + "o"
                lines[index] = lines[index + 2] = None
                lines[index + 1] = title.strip()
                index += 3
                continue
        if definition := RST_DEFINITION.match(text):
            parts = [definition.group(2)]
            lines[index] = None
            index += 1
            while index < len(lines) and (lines[index] is None or (lines[index] or "").startswith((" ", "\t"))
                                          or not (lines[index] or "").strip()):  # fmt: skip
                if (lines[index] or "").strip():
                    parts.append((lines[index] or "").strip())
                elif index + 1 < len(lines) and not (lines[index + 1] or "").startswith((" ", "\t")):
                    break
                lines[index] = None
                index += 1
            references.append(plain_rst_markers(_rst_plain(" ".join(parts))))
            notes.define(definition.group(1), len(references))
            continue
        if target := re.match(r"^\.\.\s+_([^:]+):\s*(\S+)\s*$", text):
            targets[target.group(1).strip().lower()] = target.group(2)
            lines[index] = None
        elif re.match(r"^\.\.\s+(?:code(?:-block)?|sourcecode)::", text):
            doc.code_directives.add(index)
            lines[index] = None
        elif re.match(r"^\.\.(?:\s|$)", text) and "::" not in text:
            # a comment, with its indented continuation (editor settings, notes to editors)
            lines[index] = None
            while index + 1 < len(lines) and (lines[index + 1] or "").startswith((" ", "\t")):
                index += 1
                lines[index] = None
        elif re.match(r"^\.\.\s+[\w-]+::", text):
            lines[index] = None  # other directives: their content stays as text
        index += 1
    return targets


def _rst_plain(text: str) -> str:
    """RST inline markup to plain text (for notes)."""
    text = re.sub(r"``(.+?)``", r"\1", text)
    text = _RST_ROLE.sub(lambda m: _role_text(m.group(1), m.group(2)), text)
    text = re.sub(r"`([^`<]+?)\s*<([^>`]+)>`__?", r"\1 (\2)", text)
    return re.sub(r"`([^`]+)`_{0,2}", r"\1", text).replace("\\ ", "")


def _role_text(role: str, text: str) -> str:
    text = re.sub(r"\s*<[^>]*>$", "", text).lstrip("~!")
    if role.lower() in ("pep", "rfc"):
        return f"{role.upper()} {text}"
    return text


def _code_span(text: str) -> str:
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _rst_inline(text: str, targets: dict[str, str]) -> str:
    """RST inline markup to CommonMark: literals, roles, links, emphasis."""
    text = text.replace("\\ ", "")
    out: list[str] = []
    last = 0
    for m in _RST_INLINE.finditer(text):
        out.append(escape_text(text[last : m.start()]) if m.start() > last else "")
        last = m.end()
        if m.group("code") is not None:
            out.append(_code_span(m.group("code")))
        elif m.group("role") is not None:
            role_text = _role_text(m.group("role"), m.group("rtext"))
            literal = m.group("role") in ("code", "literal", "samp", "file", "command", "class", "func",
                                          "meth", "attr", "mod", "data", "const", "exc", "obj")  # fmt: skip
            out.append(_code_span(role_text) if literal else escape_text(role_text))
        elif m.group("url") is not None:
            out.append(f"[{escape_text(m.group('ltext'))}](<{m.group('url')}>)")
        elif m.group("ref") is not None:
            name = m.group("ref")
            url = targets.get(_clean(name).lower())
            out.append(f"[{escape_text(name)}](<{url}>)" if url else escape_text(name))
        elif m.group("strong") is not None:
            out.append(f"**{escape_text(m.group('strong'))}**")
        elif m.group("em") is not None:
            out.append(f"*{escape_text(m.group('em'))}*")
        else:
            out.append(_code_span(m.group("interp")))
    out.append(escape_text(text[last:]))
    return "".join(out)


# ---------------------------------------------------------------- pass 3: chrome


def _chrome_lines(doc: _Text, wrap: int | None) -> str:
    """Whole lines that are site chrome; an "About the author" box is the bio."""
    for chunk in _chunks(doc.lines):
        # a call to action wrapped over two lines ("Want me to send you an email / when I ...")
        texts = [doc.text(i) for i in chunk.rows]
        alone = any(is_chrome_line(t) or is_bio_marker(t) for t in texts)
        if len(texts) > 1 and not alone and is_chrome_line(" ".join(t.strip() for t in texts)):
            doc.chrome.append(_clean(" ".join(doc.text(i) for i in chunk.rows)))
            for index in chunk.rows:
                doc.drop(index, report=False)
    bio: list[str] = []
    in_bio = False
    for index, line in enumerate(doc.lines):
        if line is None or not line.strip():
            continue
        # A full-width line of a hard-wrapped paragraph is not a whole line of its own.
        if wrap and len(line) >= 0.75 * wrap and _inside_paragraph(doc.lines, index) and not in_bio:
            continue
        if is_chrome_line(line):
            doc.drop(index)
        elif in_bio:
            bio.append(line.strip())
            doc.lines[index] = None
        elif is_bio_marker(line):
            doc.drop(index)
            in_bio = True
    return " ".join(bio)


def _cards(doc: _Text) -> None:
    """A story card after the article has started: a title-like line with a
    date line (and maybe a line of tags) and nothing else, linking elsewhere."""
    live = doc.live()
    started = next((i for i in live if _is_prose(doc.text(i))), None)
    if started is None:
        return
    for chunk in _chunks(doc.lines):
        if chunk.start <= started or not 2 <= len(chunk.rows) <= 3:
            continue
        texts = [doc.text(i) for i in chunk.rows]
        dates = [t for t in texts if is_date_line(t)]
        others = [t for t in texts if not is_date_line(t)]
        short = all(
            _words(t) <= 14 and (not _SENTENCE_END.search(t.strip()) or t.strip().endswith("?"))
            for t in others
        )
        if len(dates) == 1 and others and short and any(_title_like(t) for t in others):
            for index in chunk.rows:
                doc.drop(index)


def _related_boxes(doc: _Text, wrap: int | None) -> None:
    """A "Related posts" box: its heading line and the titles and teasers listed
    under it, up to where running text resumes."""
    index = 0
    lines = doc.lines
    while index < len(lines):
        line = lines[index]
        whole = line is not None and not (
            wrap and len(line) >= 0.75 * wrap and _inside_paragraph(lines, index)
        )
        if not (whole and line and is_related_heading(line)):
            index += 1
            continue
        doc.drop(index)
        index += 1
        while index < len(lines):
            text = (lines[index] or "").strip()
            ends = bool(_SENTENCE_END.search(text)) and _words(text) >= 10
            if ends or _words(text) >= 25 or _CODE_LINE.search(text) or is_bio_marker(text):
                break
            doc.drop(index)
            index += 1


def _inside_paragraph(lines: list[str | None], index: int) -> bool:
    def filled(j: int) -> bool:
        return 0 <= j < len(lines) and bool((lines[j] or "").strip())

    return filled(index - 1) or filled(index + 1)


def _menu_runs(doc: _Text) -> None:
    """A column of menu labels (nav bars and site indexes copied one item a
    line) is chrome: four or more short label lines with nothing else between."""
    chunks = _chunks(doc.lines)
    run: list[_Chunk] = []

    def menu_chunk(chunk: _Chunk) -> bool:
        texts = [doc.text(i) for i in chunk.rows]
        labels = sum(is_menu_item(t) for t in texts)
        return labels >= 1 and all(is_menu_item(t) or is_chrome_line(t) for t in texts)

    def flush() -> None:
        rows = [i for chunk in run for i in chunk.rows]
        if sum(is_menu_item(doc.text(i)) for i in rows) >= 4 and (len(run) == 1 or all(
            len(chunk.rows) == 1 for chunk in run
        )):  # fmt: skip
            for index in rows:
                doc.drop(index)
        run.clear()

    for chunk in chunks:
        if menu_chunk(chunk) and len(chunk.rows) >= 4:
            flush()
            run.append(chunk)
            flush()
        elif menu_chunk(chunk) and len(chunk.rows) == 1 and not _followed_by_prose(doc, chunk.rows[-1]):
            run.append(chunk)
        else:
            flush()
    flush()


def _next_text(doc: _Text, index: int) -> tuple[int, str] | None:
    for j in range(index + 1, len(doc.lines)):
        if (doc.lines[j] or "").strip():
            return j, doc.text(j)
    return None


def _followed_by_prose(doc: _Text, index: int) -> bool:
    following = _next_text(doc, index)
    return following is not None and _is_prose(following[1])


def _contents(doc: _Text) -> tuple[set[str], int]:
    """A contents list: a run of lines that repeat headings further down (with
    dot leaders and page numbers, or bare), under a "Contents" heading or not.
    It is not emailed; its entries tell which later lines are headings."""
    live = doc.live()
    later: dict[str, list[int]] = {}
    for position, index in enumerate(live):
        text = doc.text(index)
        standalone = (
            position == 0 or live[position - 1] != index - 1
            or position + 1 == len(live) or live[position + 1] != index + 1
        )  # fmt: skip
        if standalone and _words(text) <= _MAX_HEADING_WORDS and not _DOT_LEADER.search(text):
            later.setdefault(_key(text), []).append(index)
    keys: set[str] = set()
    end = -1
    position = 0
    while position < len(live):
        index = live[position]
        text = doc.text(index)
        heading = bool(_CONTENTS_HEADING.fullmatch(_clean(text).rstrip(":").strip()))
        entries: list[int] = []
        scan = position + 1 if heading else position
        while scan < len(live):
            entry = live[scan]
            entry_text = doc.text(entry)
            repeated = any(j > entry for j in later.get(_key(entry_text), ()))
            if not _DOT_LEADER.search(entry_text) and not (
                repeated
                and _heading_like(re.sub(r"^[|*][\w.-]+[|*]\s+", "", _clean(entry_text)), numbered=True)
            ):
                break
            entries.append(entry)
            scan += 1
        many_words = sum(_words(doc.text(i)) >= 2 for i in entries) * 2 >= len(entries)
        if (heading and len(entries) >= 2) or (len(entries) >= 3 and many_words):
            keys.update(_key(doc.text(i)) for i in entries)
            end = max(end, entries[-1])
            for i in ([index] if heading else []) + entries:
                doc.drop(i)
            position = scan
        else:
            position += 1
    return keys, end


# ---------------------------------------------------------------- pass 4: the title


def _find_title(doc: _Text, rst_title: int | None) -> tuple[str, int | None]:
    """The article's title, and the line it stands on (None when not in the text).

    Lines above the title are the site's name and menu; short labels between
    it and the first paragraph (a byline split over lines) go with them."""
    live = doc.live()
    first_prose = next((i for i in live if _opens_text(doc, i)), len(doc.lines))
    leading = [i for i in live if i < first_prose]
    title = doc.fields.get("title", "")
    at: int | None = None
    if title:
        at = next((i for i in leading if _key(doc.text(i)) == _key(title)), None)
    elif rst_title is not None:
        title, at = _clean(doc.text(rst_title)), rst_title
    else:
        # an RST section title is the document's title only by the rule of _rst_title
        candidates = [i for i in leading if _title_like(doc.text(i)) and i not in doc.rst_heads]
        at = _pick_title(doc, candidates)
        title = _clean(doc.text(at)) if at is not None else ""
    if at is not None:
        for index in leading:
            if index < at:
                doc.drop(index)
        doc.lines[at] = None
        doc.rst_heads.pop(at, None)
        under = at + 1
        if under < len(doc.lines) and _title_like(doc.text(under)) and not _is_prose(doc.text(under)):
            doc.plain_lines.add(under)  # a subtitle set directly under the title: text, not a section
        after = [i for i in leading if i > at]
        for position, index in enumerate(after):
            if doc.lines[index] is None:
                continue
            if re.fullmatch(r"by:?", _clean(doc.text(index)), re.I) and position + 1 < len(after):
                doc.drop(index)  # a byline set over two lines: "BY" / the author's name
                doc.drop(after[position + 1])
            elif is_menu_item(doc.text(index)) and not _followed_by_prose(doc, index):
                doc.drop(index)
    return title, at


def _opens_text(doc: _Text, index: int) -> bool:
    """The first line of the article's running text (a long title standing
    alone on its line is not)."""
    text = doc.text(index)
    if index in doc.rst_heads or not _is_prose(text) or re.search(r"\S(?:\t| {3,})\S", text.strip()):
        return False  # a line set in columns is a page or file header
    alone = not (doc.lines[index + 1] or "").strip() if index + 1 < len(doc.lines) else True
    ends = bool(_SENTENCE_END.search(text.strip())) and not _ABBREVIATION_END.search(text.strip())
    return not (alone and _title_like(text) and not ends)


def _title_like(text: str) -> bool:
    text = _clean(text).strip("_*").strip()
    if not text or _SECTION_NAMES.fullmatch(text) or _words(text) > 20 or len(text) > 160:
        return False
    if text[-1] in ",;!…" or (text[-1] == "." and not _ABBREVIATION_END.search(text)):
        return False
    first = next((ch for ch in text if ch.isalnum()), "")
    return bool(first) and (first.isupper() or first.isdigit()) and not _is_code(text)


def _pick_title(doc: _Text, candidates: list[int]) -> int | None:
    """The first line of the last group of long (4+ word) candidates: a site's
    name and menu come before the title, a subtitle after it."""
    if not candidates:
        return None
    long = [i for i in candidates if _words(doc.text(i)) >= 4]
    if not long:
        several = [i for i in candidates if _words(doc.text(i)) >= 2]
        if several:
            return several[-1]
        # a one-word title: only the document's first line, standing alone
        first = candidates[0]
        alone = first + 1 >= len(doc.lines) or not (doc.lines[first + 1] or "").strip()
        return first if first == doc.live()[0] and alone else None
    start = long[-1]
    for index in reversed(long[:-1]):
        between = [j for j in range(index + 1, start) if (doc.lines[j] or "").strip()]
        if between:
            break
        start = index
    return start


# ---------------------------------------------------------------- pass 5: blocks


def _chunks(lines: list[str | None]) -> list[_Chunk]:
    chunks: list[_Chunk] = []
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
            chunks.append(_Chunk(start=index, rows=[index], blank_before=blanks))
        blanks = 0
    if chunks:
        chunks[-1].blank_after = blanks
    return chunks


def _wrap_width(lines: list[str | None]) -> int | None:
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


class _Reader:
    def __init__(
        self, doc: _Text, wrap: int | None, toc: tuple[set[str], int], rst: bool, targets: dict[str, str]
    ) -> None:
        self.doc = doc
        self.wrap = wrap
        self.toc, self.toc_end = toc
        self.rst = rst
        self.targets = targets
        self.blocks: list[_Block] = []
        prose_indents = Counter(_indent(doc.text(i)) for i in doc.live() if _words(doc.text(i)) >= 8)
        self.body_indent = prose_indents.most_common(1)[0][0] if prose_indents else 0
        self.literal_indent: int | None = None  # inside an RST literal block deeper than this
        self.following: _Chunk | None = None  # the chunk after the one being read
        self.toc_seen = False

    # -- helpers
    def text(self, index: int) -> str:
        return self.doc.text(index)

    def add(self, block: _Block) -> None:
        self.blocks.append(block)

    def previous_text(self) -> str:
        if self.blocks and self.blocks[-1].kind == "para":
            return self.blocks[-1].text
        return ""

    def short(self, text: str) -> bool:
        return self.wrap is None or len(text.strip()) <= 0.75 * self.wrap

    def strong(self, head: _Head) -> bool:
        return head.style != "plain" or (bool(self.toc) and _key(head.text) in self.toc)

    def heading_ok(self, head: _Head | None, after_toc: bool) -> bool:
        """A plain heading after a contents list must be one of its entries."""
        if head is None:
            return False
        if head.style == "plain" and self.toc and after_toc:
            return _key(head.text) in self.toc or _key(head.label + " " + head.text) in self.toc
        return True

    # -- the chunk loop
    def read(self) -> None:
        chunks = _chunks(self.doc.lines)
        for position, chunk in enumerate(chunks):
            following = chunks[position + 1] if position + 1 < len(chunks) else None
            toc_seen = bool(self.toc) and chunk.start > self.toc_end
            self.following, self.toc_seen = following, toc_seen
            if self.literal_block(chunk):
                continue
            self.chunk(chunk, following, toc_seen)

    def literal_block(self, chunk: _Chunk) -> bool:
        """RST literal blocks (after "::" or a code directive) and code or tables."""
        indent = min(_indent(self.doc.raw[i]) for i in chunk.rows)
        before = chunk.start - 1
        while (
            before >= 0
            and not (self.doc.lines[before] or "").strip()
            and before not in self.doc.code_directives
        ):
            before -= 1
        if before in self.doc.code_directives:
            self.literal_indent = indent - 1  # the content of a ".. code-block::" directive
        if self.literal_indent is not None and indent > self.literal_indent:
            self.code(chunk.rows)
            return True
        self.literal_indent = None
        if not self.code_like(chunk):
            return False
        # Lines of text after the code (a note under a table, the next heading)
        # are read as text again.
        rows = chunk.rows
        last = len(rows) - 1
        while last > 0 and self.text_after_code(self.doc.raw[rows[last]]):
            last -= 1
        self.code(rows[: last + 1])
        if last + 1 < len(rows):
            rest = _Chunk(
                start=rows[last + 1], rows=rows[last + 1 :], blank_before=0, blank_after=chunk.blank_after
            )
            self.chunk(rest, self.following, self.toc_seen)
        return True

    def text_after_code(self, line: str) -> bool:
        if _is_code(line) or _TABLE_LINE.search(line) or _indent(line) > self.body_indent + 1:
            return False
        return bool(_BULLET.match(line) or _head_of(line) or len(re.findall(r"[A-Za-z]{2,}", line)) >= 4)

    def code_like(self, chunk: _Chunk) -> bool:
        """Source code or a table: many lines that read as code and none that
        reads as a sentence; indented under the text, fewer suffice."""
        texts = [self.doc.raw[i] for i in chunk.rows]
        if _BULLET.match(texts[0]) or _NUMBERED_ITEM.match(texts[0]):
            return False
        codeish = sum(_is_code(t) or bool(_TABLE_LINE.search(t)) for t in texts)
        sentences = sum(
            _words(t) >= 6 and t.strip()[:1].isupper() and t.rstrip().endswith((".", "!", "?")) for t in texts
        )
        deeper = min(_indent(t) for t in texts) > self.body_indent + 2
        if len(texts) == 1 and _head_of(texts[0]) is not None and not re.search(r"[;{}]\s*$", texts[0]):
            return False  # a heading set in with tabs, "*02.1*<TAB>Title"
        if deeper and not sentences:
            # set apart from the text: columns (a table), or code, or bare values
            columns = sum(len(re.findall(r"\S {2,}(?=\S)", t.strip())) >= 1 for t in texts)
            if codeish or columns * 2 >= len(texts) or all(_words(t) <= 3 for t in texts):
                return True
        if not codeish:
            return False
        if len(texts) == 1:
            return bool(re.search(r"[;{}]\s*$|[─│┼]|\S\t+\S", texts[0])) and not sentences
        needed = 4 if deeper else 3
        return codeish * needed >= len(texts) and sentences * 4 <= len(texts) and (deeper or not sentences)

    def code(self, rows: list[int]) -> None:
        body = textwrap.dedent("\n".join(self.doc.raw[i].rstrip() for i in rows))
        if self.blocks and self.blocks[-1].kind == "code" and self.blocks[-1].items:
            # the same block after a blank line
            previous = self.blocks[-1]
            previous.items.append("")
            previous.items.extend(self.doc.raw[i].rstrip() for i in rows)
            previous.text = _fence(textwrap.dedent("\n".join(previous.items)))
            return
        self.add(_Block("code", rows[0] + 1, _fence(body), items=[self.doc.raw[i].rstrip() for i in rows]))

    def chunk(self, chunk: _Chunk, following: _Chunk | None, toc_seen: bool) -> None:
        rows = chunk.rows
        texts = [self.text(i) for i in rows]
        joined = " ".join(t.strip() for t in texts)
        if is_chrome_line(joined) and len(rows) > 1:
            self.doc.chrome.append(_clean(joined))
            return
        if len(rows) == 1:
            self.single(rows[0], chunk, following, toc_seen)
            return
        paragraph: list[int] = []
        k = 0
        while k < len(rows):
            index, text = rows[k], texts[k]
            fresh = not paragraph  # a block ended just above this line
            if index in self.doc.rst_heads:
                self.flush(paragraph)
                self.heading(index, _Head(_clean(text), style="rst", rst=self.doc.rst_heads[index]))
            elif _TABLE_LINE.search(self.doc.raw[index]) and not paragraph:
                end = k
                while end < len(rows) and _TABLE_LINE.search(self.doc.raw[rows[end]]):
                    end += 1
                end = max(end, k + 1)
                self.code(rows[k:end])
                k = end
                continue
            elif _PICTURE_MARKER.fullmatch(text.strip()) and k + 1 < len(rows):
                # A copied page keeps the caption of a picture it lost: the caption
                # still tells something, so it stays (in italics); the picture is reported.
                self.flush(paragraph)
                caption = _clean(texts[k + 1])
                if credit := _GLUED_CREDIT.search(caption):
                    self.doc.chrome.append(credit.group(0).strip())
                    caption = caption[: credit.start()].rstrip()
                self.add(_Block("figure", index + 1, ""))
                self.add(_Block("caption", rows[k + 1] + 1, caption))
                k += 2
                continue
            elif _BULLET.match(text) or (_NUMBERED_ITEM.match(text) and self.numbered_list(texts, k)):
                self.flush(paragraph)
                k = self.list_items(rows, k)
                continue
            elif (
                fresh and k + 1 < len(rows) and _head_of(text) and _MEDIA_POINTER.search(self.previous_text())
            ):
                self.add(_Block("figure", index + 1, _clean(text)))  # the caption of a lost picture
            elif (head := self.glued_heading(rows, k, following, fresh)) and self.heading_ok(head, toc_seen):
                self.flush(paragraph)
                self.heading(index, head)
            else:
                if paragraph and self.wrap is None and self.new_paragraph(paragraph[-1], index):
                    self.flush(paragraph)
                paragraph.append(index)
            k += 1
        self.flush(paragraph)

    def new_paragraph(self, before: int, index: int) -> bool:
        """Unwrapped text: each line is a paragraph (a block of the page it was
        copied from) unless it visibly continues the line before."""
        head, tail = self.text(before).strip(), self.text(index).strip()
        return not tail[:1].islower() and not head.endswith((",", "-", "–", "—", "(", "/"))

    def numbered_list(self, texts: list[str], k: int) -> bool:
        """Several numbered lines in a chunk are a list; one numbered line on top of
        a paragraph is a heading."""
        numbered = [i for i, t in enumerate(texts) if _NUMBERED_ITEM.match(t)]
        if len(numbered) >= 2:
            return True
        return not (k == 0 and _head_of(texts[0]) is not None and not texts[1].startswith((" ", "\t")))

    def list_items(self, rows: list[int], k: int) -> int:
        items: list[str] = []
        ordered = False
        item_indent = _indent(self.text(rows[k]))
        while k < len(rows):
            text = self.text(rows[k])
            bullet, numbered = _BULLET.match(text), _NUMBERED_ITEM.match(text)
            if bullet or numbered:
                items.append((bullet or numbered).group(1).strip())  # type: ignore[union-attr]
                ordered = ordered or bool(numbered and not bullet)
                item_indent = _indent(text)
            elif _indent(text) > item_indent or text.strip()[:1].islower():
                items[-1] += " " + text.strip()  # wrapped continuation of an item
            elif _head_of(text) and self.glued_heading(rows, k, self.following, fresh=False):
                break
            else:
                items.append(text.strip())  # an unmarked line inside a list is still an item
            k += 1
        items = [_clean(item) for item in items]
        previous = self.blocks[-1] if self.blocks else None
        if previous and previous.kind == "list" and previous.ordered == ordered:
            previous.items.extend(items)  # the same list, blank lines between its items
        else:
            self.add(_Block("list", rows[0] + 1, items=items, ordered=ordered))
        return k

    def glued_heading(self, rows: list[int], k: int, following: _Chunk | None, fresh: bool) -> _Head | None:
        """A heading with no blank line between it and its neighbours."""
        text = self.text(rows[k])
        head = None if self.rst or rows[k] in self.doc.plain_lines else _head_of(text)
        if head is None or not self.short(text) or _indent(text) > self.body_indent + 8:
            return None
        previous = self.text(rows[k - 1]).strip() if k > 0 else ""
        ended = (
            fresh
            or self.wrap is None
            or bool(_SENTENCE_END.search(previous))
            or previous.endswith(("”", '"'))
        )
        if not ended:
            return None
        if k + 1 < len(rows):
            nxt = self.text(rows[k + 1]).strip()
            starts = nxt[:1].isupper() or nxt[:1].isdigit() or nxt[:1] in "\"“‘'([*_"
            rest = " ".join(self.text(i).strip() for i in rows[k + 1 :])
            if not starts or (_head_of(nxt) is not None and not _is_prose(nxt)):
                return None
            if self.wrap and len(nxt) < len(text.strip()) + 8 and len(rows) > k + 2:
                return None  # as long as the line after it: a line of the paragraph
            return head if _is_prose(rest) or _is_prose(nxt) else None
        # the last line of its chunk: text must follow
        if following is None or k == 0 or self.code_like(following):
            return None
        return head if _indent(self.text(following.rows[0])) <= self.body_indent + 1 else None

    def single(self, index: int, chunk: _Chunk, following: _Chunk | None, toc_seen: bool) -> None:
        text = self.text(index)
        if index in self.doc.rst_heads:
            self.heading(index, _Head(_clean(text), style="rst", rst=self.doc.rst_heads[index]))
            return
        if _BULLET.match(text) or (_NUMBERED_ITEM.match(text) and self.sibling_item(index, following)):
            self.list_items([index], 0)
            return
        head = None if self.rst or not self.short(text) else _head_of(text)
        if head is not None and self.heading_ok(head, toc_seen):
            previous = self.previous_text()
            media = bool(_MEDIA_POINTER.search(previous))
            spaced = chunk.blank_after > chunk.blank_before >= 1 and not self.strong(head)
            if index in self.doc.plain_lines:
                self.flush([index])
                return
            if following is None or media or spaced:
                self.add(_Block("figure", index + 1, _clean(text)))
                return
            self.heading(index, head)
            return
        self.flush([index])

    def sibling_item(self, index: int, following: _Chunk | None) -> bool:
        """A numbered line followed by the next number is a list item, not a heading."""
        if _head_of(self.text(index)) is None:
            return True
        previous = self.blocks[-1] if self.blocks else None
        if previous and previous.kind == "list" and previous.ordered and previous.line == index:
            return True
        if following is None:
            return bool(previous and previous.kind == "list" and previous.ordered)
        this = re.match(r"\s*(\d+)", self.text(index))
        nxt = re.match(r"\s*(\d+)[.)]\s", self.text(following.rows[0]))
        if this and nxt and int(nxt.group(1)) == int(this.group(1)) + 1:
            return True
        return bool(previous and previous.kind == "list" and previous.ordered and self.text(index))

    def heading(self, index: int, head: _Head) -> None:
        self.add(_Block("heading", index + 1, head.text, head=head))

    def flush(self, rows: list[int]) -> None:
        if not rows:
            return
        lines = [self.text(i) for i in rows]
        # Verse and quoted addresses set in from the text keep their line breaks.
        verse = (
            len(lines) >= 2 and min(_indent(line) for line in lines) >= self.body_indent + 2
            and all(len(line.strip()) < 0.8 * (self.wrap or 80) for line in lines)
        )  # fmt: skip
        text = _VERSE_BREAK.join(_clean(line) for line in lines) if verse else _clean(" ".join(lines))
        if self.rst and text.endswith("::"):
            # "as follows::" introduces a literal block and reads "as follows:"
            text = text[:-2].rstrip() + (":" if not text[:-2].endswith(" ") else "")
            self.literal_indent = _indent(self.text(rows[0]))
            text = text.rstrip() or ""
        if text:
            self.add(_Block("para", rows[0] + 1, text))
        rows.clear()


def _fence(code: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", code)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}\n{code.strip(chr(10))}\n{fence}"


# ---------------------------------------------------------------- pass 6: context


def _card(block: _Block) -> bool:
    return block.kind in ("heading", "para", "figure") and _words(block.text) <= 14


def _context_chrome(blocks: list[_Block], chrome: list[str]) -> list[_Block]:
    """Labels, share prompts and lost pictures after the article's last content."""
    out = blocks
    last = max((i for i, b in enumerate(out) if _content(b)), default=-1)
    if last < 0:
        return out  # no running text at all: nothing to tell the article from its chrome by
    tail = out[last + 1 :]
    kept = [b for b in tail if not (b.kind != "list" and (is_soft_chrome(b.text) or b.kind == "figure"))]
    chrome.extend(b.text for b in tail if b not in kept and b.text)
    return out[: last + 1] + kept


def _content(block: _Block) -> bool:
    if block.kind in ("list", "code"):
        return True
    return block.kind == "para" and (_is_prose(block.text) or looks_like_citation(block.text))


def _tidy_headings(blocks: list[_Block], title: str, chrome: list[str]) -> list[_Block]:
    """A repeat of the title, or a label with no content before the next heading
    (an address line, a title page's edition), is not a section heading."""
    out: list[_Block] = []
    for index, block in enumerate(blocks):
        if block.kind == "heading" and block.head and block.head.style != "rst":
            nxt = next((b for b in blocks[index + 1 :] if b.kind != "figure"), None)
            empty = nxt is None or (nxt.kind == "heading" and not _deeper(nxt, block))
            if title and _key(block.text) == _key(title) and empty:
                chrome.append(block.text)
                continue
            if empty and block.head.style in ("plain", "caps"):
                block = _Block("para", block.line, block.text)
        out.append(block)
    return out


def _deeper(child: _Block, parent: _Block) -> bool:
    a, b = child.head, parent.head
    if not a or not b:
        return False
    return bool(a.label and b.label and a.label.startswith(b.label.rstrip(".:")) and a.label != b.label)


def _drop_front_matter(blocks: list[_Block], chrome: list[str]) -> list[_Block]:
    """Sections between the title and an "Abstract" (a memo's status, its
    copyright notice) are front matter, when nothing but headed sections
    stand there. The abstract itself is the article's lead: it opens the
    first lesson."""
    for index, block in enumerate(blocks):
        if block.kind == "heading" and _clean(block.text).lower().rstrip(":.") == "abstract":
            labelled = any(b.kind == "heading" and b.head and b.head.label for b in blocks[:index])
            if labelled or (index and blocks[0].kind != "heading"):
                break
            chrome.extend(b.text for b in blocks[:index] if b.kind == "heading")
            return blocks[index:]
    return blocks


def _assign_levels(blocks: list[_Block]) -> None:
    """RST headings by underline style order; numbered headings by their number;
    unnumbered headings between numbered sections belong to those sections,
    back matter after them does not; questions are sub-headings; ALL-CAPS
    headings over mixed-case ones."""
    heads = [b for b in blocks if b.kind == "heading" and b.head]
    styles: list[str] = []
    for block in heads:
        if block.head and block.head.rst and block.head.rst not in styles:
            styles.append(block.head.rst)
    if styles:
        for block in heads:
            assert block.head
            block.level = styles.index(block.head.rst) + 1 if block.head.rst else len(styles) + 1
        return
    numbered = [i for i, b in enumerate(blocks) if b.kind == "heading" and b.head and b.head.label]
    unlabelled = [b for b in heads if b.head and not b.head.label]
    said = [b.text for b in unlabelled if not b.text.endswith("?")]
    asked = [b.text for b in unlabelled if b.text.endswith("?")]
    # Questions are sub-headings when they are written unlike the statements
    # ("Knee Pain" over "How do you fix it?"); written alike, they are peers.
    statements = bool(said) and (
        sum(map(_title_case, said)) * 5 >= len(said) * 3 and sum(map(_title_case, asked)) * 2 < len(asked)
    )
    caps = [b for b in unlabelled if b.head and b.head.style == "caps"]
    mixed = [b for b in unlabelled if b.head and b.head.style == "plain" and not b.text.endswith("?")]
    caps_over = len(caps) >= 2 and bool(mixed)
    for index, block in enumerate(blocks):
        if block.kind != "heading" or not block.head:
            continue
        head = block.head
        if head.label:
            block.level = _depth(head.label)
        elif numbered and (
            numbered[0] < index < numbered[-1] or (index > numbered[-1] and not _back_matter(block.text))
        ):
            block.level = 2  # between or after numbered sections: part of one
        elif (block.text.endswith("?") and (statements or numbered)) or (caps_over and head.style != "caps"):
            block.level = 2
        else:
            block.level = 1


def _title_case(text: str) -> bool:
    words = [w for w in re.findall(r"[A-Za-z’']+", text)[1:] if w.lower() not in _SMALL_WORDS]
    return not words or sum(w[0].isupper() for w in words) * 5 >= len(words) * 3


def _depth(label: str) -> int:
    label = label.rstrip(".:)")
    if not label[:1].isdigit():
        return 1  # "Chapter 3", "Appendix A"
    return label.count(".") + 1


def _back_matter(text: str) -> bool:
    return (
        is_closing_heading(text)
        or bool(REFERENCE_HEADING.fullmatch(text))
        or bool(_BACK_MATTER.fullmatch(_clean(text)))
    )


def _take_references(blocks: list[_Block], from_markup: list[str]) -> tuple[list[_Block], list[str]]:
    """Remove the reference list from the blocks and return its entries.

    A "References" heading is the list when it is the last section or only
    back matter follows it; in the middle of the document it is a section."""
    for index, block in enumerate(blocks):
        if block.kind == "heading" and REFERENCE_HEADING.fullmatch(block.text.strip()):
            end = next((j for j in range(index + 1, len(blocks)) if blocks[j].kind == "heading"), len(blocks))
            later = [b for b in blocks[end:] if b.kind == "heading"]
            if any(not _back_matter(b.text) and b.level <= block.level for b in later):
                continue
            entries = [text for b in blocks[index + 1 : end] for text in ([b.text] if b.text else b.items)]
            if from_markup and entries:
                continue
            del blocks[index:end]
            return blocks, from_markup or [_clean_reference(entry) for entry in entries]
    if from_markup:
        return blocks, from_markup
    # Otherwise the last list, when most of its items read like citations.
    for index in range(len(blocks) - 1, -1, -1):
        block = blocks[index]
        if block.kind == "list":
            citations = sum(looks_like_citation(item) for item in block.items)
            if citations * 2 >= len(block.items):
                del blocks[index]
                return blocks, [_clean_reference(entry) for entry in block.items]
            break
    return blocks, []


def _clean_reference(entry: str) -> str:
    return re.sub(r"^\s*(?:\[\d+\]|\d+[.)])\s*", "", entry).strip()


# ---------------------------------------------------------------- the reader


def read_plaintext(text: str, base_url: str = "") -> Document:
    """With no title in the text, the title stays empty (a file name is not what
    the article is called). Plain text has no links to resolve: ``base_url`` is unused."""
    lines, raw, breaks = _normalise(text)
    doc = _Text(lines=lines, raw=raw)
    _cut_banners(doc)
    _header_block(doc)
    _page_furniture(doc, breaks)
    notes = RstNotes()
    references: list[str] = []
    targets = _rst_markup(doc, notes, references)
    rst = bool(doc.rst_heads) or bool(notes)
    _cut_legal_tail(doc)
    for index, line in enumerate(doc.lines):
        if line is not None and _RULE_LINE.match(line) and index not in doc.rst_heads:
            doc.lines[index] = None  # a separator rule, not text
    wrap = _wrap_width(doc.lines)
    _cards(doc)
    _related_boxes(doc, wrap)
    bio = _chrome_lines(doc, wrap)
    toc = _contents(doc)
    _menu_runs(doc)
    rst_title = _rst_title(doc)
    title, _ = _find_title(doc, rst_title)

    reader = _Reader(doc, wrap, toc, rst, targets)
    reader.read()
    blocks = _context_chrome(reader.blocks, doc.chrome)
    blocks = _drop_front_matter(blocks, doc.chrome)
    blocks = _tidy_headings(blocks, title, doc.chrome)
    _assign_levels(blocks)
    blocks, references = _take_references(blocks, references)

    finder = MarkerFinder(len(references))
    out: list[Block] = []
    for block in blocks:
        match block.kind:
            case "para":
                out.append(Paragraph(_inline(block.text, rst, notes, finder, targets), block.line))
            case "list":
                items = tuple(_inline(item, rst, notes, finder, targets) for item in block.items)
                out.append(ListBlock(items, block.ordered, block.line))
            case "heading":
                heading = _rst_inline(block.text, targets) if rst else escape_text(block.text)
                out.append(Heading(block.level, heading, block.line))
            case "code":
                out.append(Paragraph(block.text, block.line))
            case "caption":
                out.append(Paragraph(f"*{escape_text(block.text)}*", block.line))
            case "figure":
                out.append(Figure(caption=block.text, line=block.line))
    document = Document(
        title=title,
        blocks=out,
        references=references,
        bio=bio,
        chrome=list(dict.fromkeys(doc.chrome)),  # a page header repeated on every page is reported once
        notes=doc.notes,
        source_format="text",
    )
    return shape(document)


def _inline(text: str, rst: bool, notes: RstNotes, finder: MarkerFinder, targets: dict[str, str]) -> str:
    if rst:
        return _rst_inline(notes.mark(text), targets)
    return _plain_inline(finder.mark(text)).replace(_VERSE_BREAK, "  \n")


def _plain_inline(text: str) -> str:
    """Escaped text, keeping plain-text emphasis: _word_ (italics) and *word* (bold)."""
    out: list[str] = []
    last = 0
    for m in _PLAIN_EMPHASIS.finditer(text):
        out.append(escape_text(text[last : m.start()]) if m.start() > last else "")
        mark = "*" if m.group("mark") == "_" else "**"
        # emphasis over several lines of verse: each line on its own (a span stays on one line)
        out.append(_VERSE_BREAK.join(f"{mark}{escape_text(part.strip())}{mark}"
                                     for part in m.group("text").split(_VERSE_BREAK)))  # fmt: skip
        last = m.end()
    out.append(escape_text(text[last:]) if last < len(text) or not out else "")
    return "".join(out)


def _rst_title(doc: _Text) -> int | None:
    """As docutils has it: an RST heading opening the text, in a style used
    only once, is the document's title."""
    if not doc.rst_heads:
        return None
    first = min(doc.rst_heads)
    style = doc.rst_heads[first]
    before = [i for i in doc.live() if i < first]
    if not before and list(doc.rst_heads.values()).count(style) == 1:
        return first
    return None
