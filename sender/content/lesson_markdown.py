"""Lesson → Markdown file text (YAML front matter + CommonMark body)."""

from __future__ import annotations

import yaml

from sender.content.document import Block, Callout, Exercise, Figure, Heading, ListBlock, Paragraph
from sender.content.splitter import Lesson
from sender.naming import slugify

DEFAULT_DELAY_DAYS = 2


def body_markdown(blocks: list[Block]) -> str:
    levels = [b.level for b in blocks if isinstance(b, Heading)]
    # Lesson bodies start at "##": the subject plays the part of the "#" title.
    shift = 2 - min(levels) if levels else 0
    parts: list[str] = []
    for block in blocks:
        match block:
            case Heading(level=level, text=text):
                parts.append(f"{'#' * min(level + shift, 6)} {text}")
            case Paragraph(text=text):
                parts.append(text)
            case ListBlock(items=items, ordered=ordered):
                parts.append(_list(items, ordered))
            case Callout(label=label, text=text):
                lead = f"**{label}:** " if label else ""
                parts.append("\n".join(f"> {line}" for line in f"{lead}{text}".split("\n")))
            case Exercise(fields=fields, cues_label=cues_label, cues=cues):
                parts.extend(f"**{label}:** {value}" for label, value in fields)
                if cues:
                    parts.append(f"**{cues_label}:**" if cues_label else "")
                    parts.append(_list(cues, ordered=False))
            case Figure(caption=caption, src=src, kind=kind, legend=legend):
                # Media the article still links to is kept; lost media is dropped
                # (split reported its caption on the source article). Email
                # clients cannot play video, so a video becomes a link.
                if src and src.startswith(("http://", "https://")):
                    if kind == "video":
                        parts.append(f"[▶ Watch the video{': ' + caption if caption else ''}]({src})")
                    else:
                        parts.append(f"![{caption}]({src})")
                    if legend:  # shown even when it repeats the alt text, which only some clients show
                        parts.append(legend if "*" in legend else f"*{legend}*")
    return "\n\n".join(part for part in parts if part) + "\n"


def _list(items: tuple[str, ...], ordered: bool) -> str:
    return "\n".join(f"{index}. {item}" if ordered else f"- {item}" for index, item in enumerate(items, 1))


def lesson_markdown(lesson: Lesson) -> str:
    front = {
        "subject": lesson.subject,
        "preheader": lesson.preheader,
        "position": lesson.position,
        "delay": 0 if lesson.position == 1 else DEFAULT_DELAY_DAYS,
        "teaser": lesson.teaser,
        "references": lesson.references,
    }
    # width: keep every value on one line so staff can edit it in place
    yaml_text = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=10_000)
    return f"---\n{yaml_text}---\n\n{body_markdown(lesson.blocks)}"


def lesson_filename(lesson: Lesson) -> str:
    width = max(2, len(str(lesson.total)))  # names sort in send order: 001- … 100-
    return f"{lesson.position:0{width}d}-{slugify(lesson.subject)}.md"
