"""Reader for articles copied out of a web page as plain text.

Plain text has no markup, so structure is inferred from layout:
- paragraphs are runs of non-blank lines (hard-wrapped lines are joined);
- a *heading* is a short, title-like line standing alone (no final period
  or colon), followed by content; questions ("How do you ...?") are
  sub-headings, and numbered headings ("2.", "2.1") nest by their number;
- a *figure caption* (the picture itself was lost in the copy) is such a
  line right after a sentence pointing at a picture, or one with more blank
  space after it than before it;
- bullet lines ("•", "-", "*") and numbered lines form lists;
- the last list of citations (or a "References" section) is the reference
  list, and numbers glued to sentences are footnote markers (footnotes.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sender.content.chrome import is_bio_marker, is_chrome_line
from sender.content.document import Block, Document, Figure, Heading, ListBlock, Paragraph
from sender.content.footnotes import MarkerFinder
from sender.content.inline import escape_text
from sender.content.structure import (
    REFERENCE_HEADING,
    is_closing_heading,
    looks_like_citation,
    shape,
)

_BULLET = re.compile(r"^\s*[•\-*–·▪◦‣]\s+(\S.*)$")
_NUMBERED_ITEM = re.compile(r"^\s*(?:\d{1,3}[.)]|\[\d{1,3}\])\s+(\S.*)$")
_NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2})+\.?|\d{1,2}[.)])\s+(\S.*)$")
_LABELLED_HEADING = re.compile(r"^\w+ \d{1,2}:\s+\S")  # "Step 3: Breathe", "Myth 2: ..."
_MEDIA_POINTER = re.compile(
    r"\b(?:picture|image|photo|photograph|diagram|illustration|figure|graphic|chart|"
    r"infographic|video)s?\b[^.]{0,40}\b(?:below|above|following)\b|"
    r"\b(?:below|above|following)\b[^.]{0,20}\b(?:picture|image|photo|diagram|illustration|"
    r"figure|graphic|chart|video)s?\b",
    re.I,
)
_SPACES = re.compile(r"[ \t\xa0\u2009\u202f]+")
_MAX_HEADING_CHARS = 90
_MAX_HEADING_WORDS = 14


@dataclass
class _Chunk:
    line: int  # 1-based line of the first line
    lines: list[str]
    blank_before: int
    blank_after: int = 0


def _chunks(lines: list[str | None]) -> list[_Chunk]:
    chunks: list[_Chunk] = []
    blanks = 0
    for number, raw in enumerate(lines, start=1):
        if raw is None:
            continue  # removed chrome
        if not raw.strip():
            blanks += 1
            continue
        if chunks and blanks == 0:
            chunks[-1].lines.append(raw)
        else:
            if chunks:
                chunks[-1].blank_after = blanks
            chunks.append(_Chunk(line=number, lines=[raw], blank_before=blanks))
        blanks = 0
    if chunks:
        chunks[-1].blank_after = blanks
    return chunks


def _title_chunk(chunks: list[_Chunk]) -> int | None:
    """The title: the longest of the title-like lines before the first paragraph."""
    leading = []
    for index, chunk in enumerate(chunks):
        if len(chunk.lines) != 1 or not _heading_like(chunk.lines[0]):
            break
        leading.append(index)
    if not leading:
        return None
    return max(leading, key=lambda i: len(chunks[i].lines[0].strip()))


def _heading_like(text: str) -> bool:
    text = text.strip()
    if len(text) > _MAX_HEADING_CHARS or len(text.split()) > _MAX_HEADING_WORDS:
        return False
    if text[-1] in ".,;:!…" or text.endswith("..."):
        return False
    if ": " in text and not _LABELLED_HEADING.match(text):
        return False
    first = next((ch for ch in text if ch.isalnum()), "")
    return bool(first) and (first.isupper() or first.isdigit())


class _Builder:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        # raw text, kept beside blocks so footnotes are found before escaping
        self.raw: list[list[str]] = []

    def add(self, block: Block, raw: list[str]) -> None:
        self.blocks.append(block)
        self.raw.append(raw)


def _split_list_lines(chunk: _Chunk) -> tuple[list[str], list[str], bool]:
    """Leading prose lines, list items, and whether the items are numbered."""
    lead: list[str] = []
    items: list[str] = []
    ordered = False
    for raw in chunk.lines:
        bullet = _BULLET.match(raw)
        numbered = _NUMBERED_ITEM.match(raw)
        if bullet or (numbered and len(chunk.lines) > 1):
            items.append((bullet or numbered).group(1))  # type: ignore[union-attr]
            ordered = ordered or bool(numbered and not bullet)
        elif items and raw.startswith((" ", "\t")):
            items[-1] += " " + raw.strip()  # wrapped continuation of an item
        elif items:
            items.append(raw.strip())  # an unmarked line inside a list is still an item
        else:
            lead.append(raw.strip())
    return lead, items, ordered


def read_plaintext(text: str, fallback_title: str) -> Document:
    # Non-breaking and repeated spaces are web-page copy noise, not meaning.
    lines: list[str | None] = [_SPACES.sub(" ", line).rstrip() for line in text.split("\n")]
    chrome: list[str] = []
    bio_lines: list[str] = []
    in_bio = False  # everything after "About the author" is the bio
    for index, raw in enumerate(lines):
        if is_chrome_line(raw):
            chrome.append(raw.strip())
        elif in_bio:
            bio_lines.append(raw.strip())
        elif is_bio_marker(raw):
            chrome.append(raw.strip())
            in_bio = True
        else:
            continue
        lines[index] = None  # gone without a trace: it must not widen blank gaps
    bio = " ".join(line for line in bio_lines if line)

    chunks = _chunks(lines)
    title_at = _title_chunk(chunks)
    title = " ".join(chunks[title_at].lines).strip() if title_at is not None else ""
    # Short lines above the title are the site's name or tagline.
    chrome.extend(" ".join(c.lines).strip() for c in chunks[: title_at or 0])
    builder = _Builder()
    headings: list[tuple[int, str, bool]] = []  # block index, numbering, is question
    for position, chunk in enumerate(chunks):
        if title_at is not None and position <= title_at:
            continue
        lead, items, ordered = _split_list_lines(chunk)
        if items:
            if lead:
                builder.add(Paragraph(" ".join(lead), chunk.line), [" ".join(lead)])
            builder.add(ListBlock(tuple(items), ordered, chunk.line), items)
            continue
        joined = " ".join(line.strip() for line in chunk.lines)
        following = chunks[position + 1] if position + 1 < len(chunks) else None
        if len(chunk.lines) == 1 and _heading_like(joined):
            previous = builder.raw[-1][-1] if builder.raw else ""
            caption = bool(_MEDIA_POINTER.search(previous)) or (chunk.blank_after > chunk.blank_before)
            if following is None or caption:
                builder.add(Figure(caption=joined, line=chunk.line), [])
                continue
            numbered = _NUMBERED_HEADING.match(joined)
            label = numbered.group(1) if numbered else ""
            heading_text = numbered.group(2) if numbered else joined
            headings.append((len(builder.blocks), label, joined.endswith("?")))
            builder.add(Heading(1, heading_text, chunk.line), [heading_text])
            continue
        builder.add(Paragraph(joined, chunk.line), [joined])

    _assign_levels(builder, headings)
    references = _take_references(builder)
    finder = MarkerFinder(len(references))
    blocks: list[Block] = []
    for block, raw in zip(builder.blocks, builder.raw, strict=True):
        match block:
            case Paragraph():
                blocks.append(Paragraph(escape_text(finder.mark(raw[0])), block.line))
            case ListBlock():
                items = tuple(escape_text(finder.mark(item)) for item in raw)
                blocks.append(ListBlock(items, block.ordered, block.line))
            case Heading():
                blocks.append(Heading(block.level, escape_text(block.text), block.line))
            case _:
                blocks.append(block)
    doc = Document(
        title=title or fallback_title,
        blocks=blocks,
        references=references,
        bio=bio,
        chrome=chrome,
        source_format="text",
    )
    return shape(doc)


def _assign_levels(builder: _Builder, headings: list[tuple[int, str, bool]]) -> None:
    """Numbered headings nest by their number; questions are sub-headings;
    unnumbered headings between numbered sections belong to those sections."""
    numbered_positions = [index for index, label, _ in headings if label]
    has_statements = any(not question for _, label, question in headings if not label)
    for index, label, question in headings:
        if label:
            level = label.rstrip(".)").count(".") + 1
        elif numbered_positions and (
            numbered_positions[0] < index < numbered_positions[-1]
            or (index > numbered_positions[-1] and not _closing(index, builder))
        ):
            level = 2  # between or after numbered sections: part of one
        elif question and (has_statements or numbered_positions):
            level = 2
        else:
            level = 1
        block = builder.blocks[index]
        assert isinstance(block, Heading)
        builder.blocks[index] = Heading(level, block.text, block.line)


def _closing(index: int, builder: _Builder) -> bool:
    block = builder.blocks[index]
    return isinstance(block, Heading) and (
        is_closing_heading(block.text) or bool(REFERENCE_HEADING.fullmatch(block.text))
    )


def _take_references(builder: _Builder) -> list[str]:
    """Remove the reference list from the blocks and return its entries."""
    blocks = builder.blocks
    # An explicit "References" / "Sources" heading: everything under it.
    for index, block in enumerate(blocks):
        if isinstance(block, Heading) and REFERENCE_HEADING.fullmatch(block.text.strip()):
            end = next(
                (j for j in range(index + 1, len(blocks)) if isinstance(blocks[j], Heading)),
                len(blocks),
            )
            entries = [text for raw in builder.raw[index + 1 : end] for text in raw]
            del blocks[index:end], builder.raw[index:end]
            return [_clean_reference(entry) for entry in entries]
    # Otherwise the last list, when most of its items read like citations.
    for index in range(len(blocks) - 1, -1, -1):
        block = blocks[index]
        if isinstance(block, ListBlock):
            citations = sum(looks_like_citation(item) for item in block.items)
            if citations * 2 >= len(block.items):
                entries = builder.raw[index]
                del blocks[index], builder.raw[index]
                return [_clean_reference(entry) for entry in entries]
            break
    return []


def _clean_reference(entry: str) -> str:
    return re.sub(r"^\s*(?:\[\d+\]|\d+[.)])\s*", "", entry).strip()
