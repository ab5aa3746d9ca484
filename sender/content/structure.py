"""Format-independent shaping of the blocks a reader found.

Readers know their syntax (blank lines, ``#``, ``<h2>``); this module knows
articles: call-out boxes ("PRO TIP: ..."), exercise prescriptions
("Recommended Repetitions" + "Coaching Cues" + a list), reference lists,
author bios and heading levels. Every reader ends with ``shape()`` so the
three formats produce the same model.
"""

from __future__ import annotations

import re
from dataclasses import replace

from sender.content.chrome import is_bio_marker, is_chrome_line
from sender.content.document import (
    Block,
    Callout,
    Document,
    Exercise,
    Heading,
    ListBlock,
    Paragraph,
)
from sender.content.inline import plain_text
from sender.content.template_tags import protect_literal_templates

# "PRO TIP: ...", "**NOTE:** ...": a label in capitals followed by a colon.
_CALLOUT = re.compile(r"^(?:\*\*)?([A-Z][A-Z’' ]{1,24}[A-Z])(?::\*\*|\*\*:|:)\s+(\S.*)$", re.S)
# "Recommended Repetitions: Complete 10-20", "**Coaching Cues:**"
_FIELD = re.compile(r"^(?:\*\*)?([A-Z][\w’'-]*(?: [A-Za-z][\w’'-]*){0,3})(?::\*\*|\*\*:|:)\s*(.*)$", re.S)
_EXERCISE_WORDS = re.compile(r"\b(?:reps?|repetitions?|sets?|tempo|rest|hold|duration|load)\b", re.I)
_MAX_FIELD_CHARS = 120

REFERENCE_HEADING = re.compile(
    r"(?:references?|sources?|bibliography|citations?|footnotes|notes|works cited|further reading)[:.]?",
    re.I,
)
_CITATION_HINTS = re.compile(
    r"\(\d{4}\)|\b(?:19|20)\d{2}\b|\bet al\b|\bpp?\.? ?\d|\bjournal\b|\bdoi\b|pubmed|\bvol\b|"
    r"\d+\(\d+\)|:\s*\d+[-–]\d+",
    re.I,
)


# Headings of the wrap-up section that closes the last lesson, and of back matter
# (thanks, the authors' addresses, the licence), which is no lesson of its own.
_CLOSING_HEADING = re.compile(
    r"(?:closing|final|last|concluding) (?:thoughts|words|remarks)|conclusions?|in conclusion|"
    r"summary|in summary|wrap(?:ping)?[- ]up|(?:the )?bottom line|key takeaways?|takeaways?|"
    r"next steps|what(?:'|’)s next\??|"
    r"acknowledge?ments?|thanks|credits|colophon|about the authors?|"
    r"authors?(?:'|’)?s? ?(?:addresses|address|contact(?: information)?|information)|"
    r"(?:full )?copyright(?: statement| notice)?|licen[cs]e",
    re.I,
)


def is_closing_heading(text: str) -> bool:
    return bool(_CLOSING_HEADING.fullmatch(plain_text(text).strip().rstrip(":.")))


def looks_like_citation(text: str) -> bool:
    return bool(_CITATION_HINTS.search(text)) and len(text) >= 25


def _field(text: str) -> tuple[str, str] | None:
    match = _FIELD.match(text)
    if not match or len(text) > _MAX_FIELD_CHARS or match.group(1).isupper():
        return None
    return match.group(1), match.group(2).strip()


def detect_callouts(blocks: list[Block]) -> list[Block]:
    out: list[Block] = []
    for block in blocks:
        if isinstance(block, Paragraph) and (match := _CALLOUT.match(block.text)):
            out.append(Callout(label=match.group(1).strip(), text=match.group(2), line=block.line))
        else:
            out.append(block)
    return out


def group_exercises(blocks: list[Block]) -> list[Block]:
    """Fold "Label: value" paragraphs and their cue list into one Exercise."""
    out: list[Block] = []
    i = 0
    while i < len(blocks):
        fields: list[tuple[str, str]] = []
        j = i
        while j < len(blocks) and isinstance(blocks[j], Paragraph):
            parsed = _field(blocks[j].text)  # type: ignore[union-attr]
            if not parsed or not parsed[1]:
                break
            fields.append(parsed)
            j += 1
        cues_label, cues = "", tuple[str, ...]()
        if fields and j + 1 < len(blocks) and isinstance(blocks[j], Paragraph):
            parsed = _field(blocks[j].text)  # type: ignore[union-attr]
            following = blocks[j + 1]
            if parsed and not parsed[1] and isinstance(following, ListBlock):
                cues_label, cues = parsed[0], following.items
        vocabulary = any(_EXERCISE_WORDS.search(label) for label, _ in fields)
        if fields and (cues or (len(fields) >= 2 and vocabulary)):
            out.append(Exercise(fields=tuple(fields), cues_label=cues_label, cues=cues, line=blocks[i].line))
            i = j + 2 if cues else j
        else:
            out.append(blocks[i])
            i += 1
    return out


def split_off_bio(blocks: list[Block]) -> tuple[list[Block], str, list[str]]:
    """Cut an "About the author" box (marker + what follows) off the end."""
    for index, block in enumerate(blocks):
        text = block.text if isinstance(block, Heading | Paragraph) else ""
        if text and is_bio_marker(plain_text(text)):
            bio_parts: list[str] = []
            for rest in blocks[index + 1 :]:
                if isinstance(rest, Heading):
                    break
                bio_parts.extend(plain_text(t) for t in _texts(rest))
            return blocks[:index], " ".join(bio_parts).strip(), [plain_text(text)]
    return blocks, "", []


def _texts(block: Block) -> list[str]:
    if isinstance(block, Paragraph | Callout | Heading):
        return [block.text]
    if isinstance(block, ListBlock):
        return list(block.items)
    return []


def drop_chrome(blocks: list[Block]) -> tuple[list[Block], list[str]]:
    kept: list[Block] = []
    removed: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph | Heading) and is_chrome_line(plain_text(block.text)):
            removed.append(plain_text(block.text))
        else:
            kept.append(block)
    return kept, removed


def normalize_levels(blocks: list[Block]) -> list[Block]:
    """Renumber heading levels so the shallowest one in use is 1."""
    levels = sorted({b.level for b in blocks if isinstance(b, Heading)})
    mapping = {level: rank + 1 for rank, level in enumerate(levels)}
    return [replace(b, level=mapping[b.level]) if isinstance(b, Heading) else b for b in blocks]


def take_reference_section(blocks: list[Block], references: list[str]) -> tuple[list[Block], list[str]]:
    """A "References" heading with a list under it, when there are no
    footnote definitions, is the reference list."""
    for index, block in enumerate(blocks):
        if isinstance(block, Heading) and REFERENCE_HEADING.fullmatch(block.text.strip()):
            end = next(
                (j for j in range(index + 1, len(blocks)) if isinstance(blocks[j], Heading)
                 and blocks[j].level <= block.level),  # type: ignore[union-attr]
                len(blocks),
            )  # fmt: skip
            if not references:
                for item in blocks[index + 1 : end]:
                    if isinstance(item, ListBlock):
                        references.extend(item.items)
                    elif isinstance(item, Paragraph):
                        references.append(item.text)
            return blocks[:index] + blocks[end:], references
    return blocks, references


def _literal_templates(block: Block) -> Block:
    """Template syntax an article carries (code samples, site tags) must not reach the
    lesson renderer's Jinja as code; lesson placeholders like {{ subscriber.first_name }} do."""
    match block:
        case Paragraph() | Heading() | Callout():
            return replace(block, text=protect_literal_templates(block.text))
        case ListBlock():
            return replace(block, items=tuple(protect_literal_templates(i) for i in block.items))
        case Exercise():
            fields = tuple((label, protect_literal_templates(value)) for label, value in block.fields)
            return replace(block, fields=fields, cues=tuple(protect_literal_templates(c) for c in block.cues))
    return block


def shape(doc: Document) -> Document:
    """Apply the shared article rules to what a reader produced."""
    blocks, removed = drop_chrome(doc.blocks)
    blocks, bio, marker = split_off_bio(blocks)
    blocks = group_exercises(detect_callouts(blocks))
    blocks = [_literal_templates(block) for block in normalize_levels(blocks)]
    while blocks and isinstance(blocks[-1], Heading):  # a heading with nothing under it
        blocks.pop()
    doc.blocks = blocks
    doc.chrome.extend(removed + marker)
    doc.bio = doc.bio or bio
    return doc
