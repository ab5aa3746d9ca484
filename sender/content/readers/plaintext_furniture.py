"""What surrounds the article in a text file: e-text banners and licences, a
header block at the top, page headers and footers, a long legal tail (pass 1
of the plain-text reader); and, once blocks are read, the front matter before
an abstract and the reference list at the end."""

from __future__ import annotations

import re
from collections import Counter

from sender.content.readers.plaintext_headings import back_matter, heading_like
from sender.content.readers.plaintext_lines import (
    SENTENCE_END,
    TABLE_LINE,
    ArticleText,
    TextBlock,
    clean,
    indent_of,
    split_chunks,
    word_count,
)
from sender.content.structure import REFERENCE_HEADING, looks_like_citation

_BANNER = re.compile(r"^\s*(?:\*{3,}|={3,}|#{3,})\s*(.*?)\s*(?:\*{3,}|={3,}|#{3,})\s*$")
_END_MARKER = re.compile(r"^\W*end of (?:the |this )?\w.{0,90}$", re.I)
_HEADER_FIELD = re.compile(r"^([A-Z][A-Za-z0-9-]*(?: [A-Za-z][a-z0-9-]*){0,2}):\s+(\S.*)$")
_COLUMN_GAP = re.compile(r"\S {3,}\S")
_PAGE_NUMBER = re.compile(
    r"\[\s*page \d+\s*\]|\bpage \d+(?: of \d+)?\b|^\s*[-–]?\s*\d{1,4}\s*[-–]?\s*$", re.I
)
_LEGAL_WORDS = re.compile(
    r"\b(?:licen[cs]e[sd]?|licensor|copyright|trademarks?|warrant(?:y|ies)|liab(?:le|ility)|damages|"
    r"disclaim\w*|redistribut\w*|indemni\w*|merchantability|royalt(?:y|ies)|infring\w*|jurisdiction|"
    r"hereby|terms of (?:use|this)|agreement)\b",
    re.I,
)


def normalise(text: str) -> tuple[list[str], list[str], set[int]]:
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


def cut_banners(doc: ArticleText) -> None:
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
                doc.fields.setdefault(field_match.group(1).lower(), clean(field_match.group(2)))
            doc.drop(index, report=word_count(doc.text(index)) <= 20)
    for index in range(max(start, total // 2), total):
        text = doc.text(index).strip()
        banner = _BANNER.match(text)
        if banner and re.search(r"\bend\b", banner.group(1), re.I):
            _cut_from(doc, index, text)
            return
        if _END_MARKER.match(text) and word_count(text) <= 16:
            after = [doc.text(j) for j in range(index + 1, total) if doc.text(j).strip()]
            banner_follows = any(_BANNER.match(line) for line in after[:5])
            legal_lines = sum(bool(_LEGAL_WORDS.search(line)) for line in after)
            if banner_follows or (after and legal_lines * 10 >= len(after)):
                _cut_from(doc, index, text)
                return


def _cut_from(doc: ArticleText, index: int, marker: str) -> None:
    removed = sum(1 for j in range(index, len(doc.lines)) if doc.text(j).strip())
    doc.chrome.append(clean(marker))
    for j in range(index, len(doc.lines)):
        doc.drop(j, report=False)
    doc.notes.append(f"left out {removed} lines of back matter from {clean(marker)!r} on (line {index + 1})")


def cut_legal_tail(doc: ArticleText) -> None:
    """A long legal section after the last content (a licence with its own
    numbered clauses) would become a dozen lessons: leave it out. A short
    copyright statement stays, as the end of the last lesson."""
    chunks = split_chunks(doc.lines)
    first_legal = None
    legal_words = 0
    for position in range(len(chunks) - 1, -1, -1):
        chunk = chunks[position]
        text = " ".join(doc.text(i) for i in chunk.rows)
        if _legal(text) or (len(chunk.rows) == 1 and heading_like(text, numbered=True)):
            first_legal = position
            legal_words += word_count(text)
            continue
        break
    if first_legal is None:
        return
    before = sum(word_count(doc.text(i)) for chunk in chunks[:first_legal] for i in chunk.rows)
    # Longer than a long lesson, after an article of its own: it is not the article.
    if legal_words >= 1000 and before >= 300:
        start = chunks[first_legal].start
        _cut_from(doc, start, doc.text(start))


def header_block(doc: ArticleText) -> None:
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
                doc.fields[key] = clean(m.group(2))
            elif key:
                doc.fields[key] += " " + clean(doc.text(index))
            doc.drop(index)
        return
    columns = [i for i in block if _COLUMN_GAP.search(doc.text(i).strip()) or indent_of(doc.text(i)) >= 30]
    if len(block) >= 2 and len(columns) == len(block):
        for index in block:
            doc.drop(index)


def page_furniture(doc: ArticleText, breaks: set[int]) -> None:
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
        re.sub(r"\d+", "#", clean(line))
        for line in lines
        if line and len(re.findall(r"[A-Za-z]{2,}", line)) >= 2
    )
    furniture: set[int] = set()
    for index, line in enumerate(lines):
        if (
            line
            and shaped(line)
            and len(re.findall(r"[A-Za-z]{2,}", line)) >= 2
            and not TABLE_LINE.search(line)
        ):
            isolated = not (lines[index - 1] or "").strip() if index else True
            isolated = isolated or index + 1 == len(lines) or not (lines[index + 1] or "").strip()
            if isolated and digitless[re.sub(r"\d+", "#", clean(line))] >= 3:
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
        if (
            not SENTENCE_END.search(head)
            and tail.strip()[:1].islower()
            and indent_of(head) == indent_of(tail)
        ):
            for j in range(before + 1, after):
                lines[j] = None


# ---------------------------------------------------------------- once the blocks are read


def drop_front_matter(blocks: list[TextBlock], chrome: list[str]) -> list[TextBlock]:
    """Sections between the title and an "Abstract" (a memo's status, its
    copyright notice) are front matter, when nothing but headed sections
    stand there. The abstract itself is the article's lead: it opens the
    first lesson."""
    for index, block in enumerate(blocks):
        if block.kind == "heading" and clean(block.text).lower().rstrip(":.") == "abstract":
            labelled = any(b.kind == "heading" and b.head and b.head.label for b in blocks[:index])
            if labelled or (index and blocks[0].kind != "heading"):
                break
            chrome.extend(b.text for b in blocks[:index] if b.kind == "heading")
            return blocks[index:]
    return blocks


def take_references(blocks: list[TextBlock], from_markup: list[str]) -> tuple[list[TextBlock], list[str]]:
    """Remove the reference list from the blocks and return its entries.

    A "References" heading is the list when it is the last section or only
    back matter follows it; in the middle of the document it is a section."""
    for index, block in enumerate(blocks):
        if block.kind == "heading" and REFERENCE_HEADING.fullmatch(block.text.strip()):
            end = next((j for j in range(index + 1, len(blocks)) if blocks[j].kind == "heading"), len(blocks))
            later = [b for b in blocks[end:] if b.kind == "heading"]
            if any(not back_matter(b.text) and b.level <= block.level for b in later):
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
