"""Headings in plain text: which lines read as headings (numbered, labelled,
ALL-CAPS, Vim help tags), which of the headings read are sections, and the
level of each."""

from __future__ import annotations

import re

from sender.content.readers.plaintext_lines import (
    ABBREVIATION_END,
    TABLE_LINE,
    Head,
    TextBlock,
    clean,
    is_code,
    line_key,
    word_count,
)
from sender.content.structure import REFERENCE_HEADING, is_closing_heading

_NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2})+[.:]?|\d{1,2}[.):])\s+(\S.*)$")
# "Chapter 3: Breathe", "Appendix A. Tables", "Part II: Later", "Step 3: Rest"
_LABELLED_HEADING = re.compile(r"^((?:[A-Z][a-z]+ )?(?:\d{1,3}(?:\.\d{1,3})*|[IVXLC]{1,6}|[A-Z]))[:.]\s+\S")
_TAG_HEADING = re.compile(
    r"^\*(\d{1,2}(?:\.\d{1,2})*)\*\s+(\S.*?)(?:\s+\*[\w.-]+\*)*$"
)  # Vim help: *02.1* Title
_TILDE_HEADING = re.compile(r"^(\S.*?)\s+~$")  # Vim help: "Heading ~"
_MAX_HEADING_CHARS = 90
MAX_HEADING_WORDS = 14
# Sections of a document's back matter: unnumbered, yet top-level after numbered sections.
_BACK_MATTER = re.compile(
    r"(?:acknowledge?ments?|authors?(?:'|’)?s?(?: addresses| information)?|"
    r"(?:full )?copyright(?: statement| notice)?|"
    r"licen[cs]e|appendi(?:x|ces)\b.*|glossary|index|colophon|references?|bibliography|notes|errata|"
    r"about the authors?|contributors|credits|further reading|resources)[:.]?",
    re.I,
)
# Words that title case may leave in lower case.
_SMALL_WORDS = {
    "a", "an", "the", "and", "or", "but", "nor", "for", "of", "on", "in", "at", "to", "by", "with", "from",
    "as", "is", "it", "its", "vs", "via", "per", "into", "onto", "up", "out", "off", "over",
}  # fmt: skip


def heading_like(text: str, *, numbered: bool = False) -> bool:
    text = clean(text).strip("_*").strip()  # "_Emphasis._" is judged by its words
    if not text or len(text) > _MAX_HEADING_CHARS or word_count(text) > MAX_HEADING_WORDS:
        return False
    if not re.search(r"[^\W\d_]", text):
        return False  # a number or a row of symbols
    if is_code(text) or TABLE_LINE.search(text):
        return False
    if text[-1] in ",;:!…" or text.endswith("..."):
        return False
    if text[-1] == "." and not (numbered and word_count(text) <= 8) and not ABBREVIATION_END.search(text):
        return False
    if ": " in text and not _LABELLED_HEADING.match(text):
        prefix = text.split(": ", 1)[0]
        if word_count(prefix) <= 3:
            return False  # "Recommended Repetitions: 10-20" is a field, not a heading
    first = next((ch for ch in text if ch.isalnum()), "")
    return bool(first) and (first.isupper() or first.isdigit())


def head_of(text: str) -> Head | None:
    """The heading a title-like line would be, with its numbering and style."""
    text = clean(text)
    if tag := _TAG_HEADING.match(text):
        return Head(tag.group(2), label=tag.group(1), style="tag")
    if tilde := _TILDE_HEADING.match(text):
        return Head(tilde.group(1), style="tag") if heading_like(tilde.group(1)) else None
    numbered = _NUMBERED_HEADING.match(text)
    if not heading_like(text, numbered=bool(numbered)):
        return None
    if numbered:
        words = numbered.group(2)
        if words.endswith(".") and not ABBREVIATION_END.search(words):
            words = words[:-1]  # "0. Definitions." reads "Definitions"
        return Head(words, label=numbered.group(1), style="numbered")
    if labelled := _LABELLED_HEADING.match(text):
        return Head(text, label=labelled.group(1), style="labelled")
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) >= 4 and all(ch.isupper() for ch in letters):
        return Head(text, style="caps")
    return Head(text)


def tidy_headings(blocks: list[TextBlock], title: str, chrome: list[str]) -> list[TextBlock]:
    """A repeat of the title, or a label with no content before the next heading
    (an address line, a title page's edition), is not a section heading."""
    out: list[TextBlock] = []
    for index, block in enumerate(blocks):
        if block.kind == "heading" and block.head and block.head.style != "rst":
            nxt = next((b for b in blocks[index + 1 :] if b.kind != "figure"), None)
            empty = nxt is None or (nxt.kind == "heading" and not _deeper(nxt, block))
            if title and line_key(block.text) == line_key(title) and empty:
                chrome.append(block.text)
                continue
            if empty and block.head.style in ("plain", "caps"):
                block = TextBlock("para", block.line, block.text)
        out.append(block)
    return out


def _deeper(child: TextBlock, parent: TextBlock) -> bool:
    a, b = child.head, parent.head
    if not a or not b:
        return False
    return bool(a.label and b.label and a.label.startswith(b.label.rstrip(".:")) and a.label != b.label)


def assign_levels(blocks: list[TextBlock]) -> None:
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
            numbered[0] < index < numbered[-1] or (index > numbered[-1] and not back_matter(block.text))
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


def back_matter(text: str) -> bool:
    return (
        is_closing_heading(text)
        or bool(REFERENCE_HEADING.fullmatch(text))
        or bool(_BACK_MATTER.fullmatch(clean(text)))
    )
