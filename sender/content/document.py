"""The document model every reader produces and the splitter consumes.

Inline text in blocks is CommonMark inline Markdown (readers escape plain
text). Footnote references are written as ``[^N]`` where N is the 1-based
index into ``Document.references``; the lesson writer renumbers them per
lesson as ``[1]``, ``[2]``. A marker whose N exceeds the reference list is
unresolved and is kept as ``[^N]`` so lint can point at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

FOOTNOTE_MARKER = re.compile(r"\[\^(\d+)\]")


@dataclass(frozen=True)
class Heading:
    level: int  # 1 = top-level section, 2 = sub-section, 3 = deeper
    text: str
    line: int | None = None  # 1-based line in the source article, when known


@dataclass(frozen=True)
class Paragraph:
    text: str
    line: int | None = None


@dataclass(frozen=True)
class ListBlock:
    items: tuple[str, ...]
    ordered: bool = False
    line: int | None = None


@dataclass(frozen=True)
class Callout:
    """A boxed aside such as "PRO TIP: ..."; label is "" for a plain quote."""

    label: str
    text: str
    line: int | None = None


@dataclass(frozen=True)
class Exercise:
    """Labelled fields ("Recommended Repetitions: 10-20") plus a list of cues.

    Kept as one block so the splitter can never separate the prescription
    from its coaching cues.
    """

    fields: tuple[tuple[str, str], ...]
    cues_label: str = ""
    cues: tuple[str, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class Figure:
    """A picture or video. ``src`` is None when the article lost the media;
    it may be relative (the pipeline resolves it against ``Document.base_url``)."""

    caption: str  # the alternative text
    src: str | None = None
    kind: Literal["image", "video"] = "image"
    line: int | None = None
    legend: str = ""  # a caption shown under the picture (an HTML <figcaption>)


Block = Heading | Paragraph | ListBlock | Callout | Exercise | Figure


@dataclass
class Document:
    title: str
    blocks: list[Block]
    references: list[str] = field(default_factory=list)
    bio: str = ""
    chrome: list[str] = field(default_factory=list)  # removed site text, for the report only
    notes: list[str] = field(default_factory=list)
    source_format: str = "text"
    # Where the article lives on the web (<base>, canonical URL, --base-url):
    # relative image addresses are resolved against it before lessons are written.
    base_url: str = ""


def block_texts(block: Block) -> list[str]:
    """All inline texts of a block, for word counts and footnote scanning."""
    match block:
        case Heading(text=text) | Paragraph(text=text) | Callout(text=text):
            return [text]
        case ListBlock(items=items):
            return list(items)
        case Exercise(fields=fields, cues=cues):
            return [value for _, value in fields] + list(cues)
        case Figure(src=src, legend=legend):
            return [legend] if src and legend else []  # captions of missing media are not emailed
    return []


_WORD = re.compile(r"[\w’']+")


def word_count(blocks: list[Block]) -> int:
    return sum(len(_WORD.findall(text)) for block in blocks for text in block_texts(block))
