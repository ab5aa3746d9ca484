"""A lesson body's Markdown as email HTML: inline-styled blocks (plain HTML, callouts,
exercise boxes), with the `{{ }}` placeholders staff wrote left for stage 2."""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape

from sender.plaintext import JINJA_SPAN, protect_spans, restore_spans, split_containers

_md = MarkdownIt("commonmark").enable("table")
# A label paragraph of an exercise: **Recommended Repetitions:** 10-20, **Coaching Cues:**
_EXERCISE_WORDS = re.compile(r"\b(?:rep(?:etition)?s?|sets?|cues?|tempo|rest|hold|duration|equipment)\b",
                             re.I)
_LIST_OPEN = {"bullet_list_open", "ordered_list_open"}


@dataclass(frozen=True)
class BodyBlock:
    """A stretch of a lesson body: plain HTML, a callout or an exercise box."""

    kind: str  # "html", "callout" or "exercise"
    html: Markup
    title: str = ""  # Markup when set: escaped staff text



def escape_keep_jinja(text: str) -> Markup:
    """HTML-escape staff text but leave its `{{ ... }}` spans for stage 2."""
    parts = JINJA_SPAN.split(text)
    return Markup("".join(p if i % 2 else str(escape(p)) for i, p in enumerate(parts)))


def _styles(brand: str) -> dict[str, str]:
    # Inline, because several mail apps drop <style> (MRML has no mj-style inline).
    cell = "border:1px solid #d9e2ec;padding:6px 8px;text-align:left;"
    return {
        "h1": "font-size:24px;line-height:1.3;margin:28px 0 8px;",
        "h2": "font-size:21px;line-height:1.3;margin:28px 0 8px;",
        "h3": "font-size:18px;line-height:1.35;margin:24px 0 6px;",
        "h4": "font-size:16px;line-height:1.4;margin:20px 0 6px;",
        "p": "margin:0 0 16px;",
        "ul": "margin:0 0 16px;padding-left:24px;",
        "ol": "margin:0 0 16px;padding-left:24px;",
        "li": "margin:0 0 6px;",
        "blockquote": f"margin:0 0 16px;padding:8px 16px;border-left:4px solid {brand};background:#f4f7f6;",
        "pre": "white-space:pre-wrap;word-break:break-word;background:#f4f5f7;padding:12px;"
               "border-radius:4px;font-size:14px;margin:0 0 16px;",
        "table": "width:100%;border-collapse:collapse;margin:0 0 16px;font-size:14px;",
        "th": cell, "td": cell,
        "a": f"color:{brand};text-decoration:underline;word-break:break-word;",
        "img": "max-width:100%;height:auto;display:block;border:0;",
        "code": "font-size:14px;",
        "hr": "border:0;border-top:1px solid #e4e7eb;margin:24px 0;",
    }


def _add_styles(tokens: list[Token], styles: dict[str, str]) -> None:
    for token in tokens:
        for t in [token, *(token.children or [])]:
            style = styles.get(t.tag) if t.nesting >= 0 else None
            if style:
                own = t.attrGet("style")  # a table cell's text-align
                t.attrSet("style", style + (f"{own};" if own else ""))


def _top_level(tokens: list[Token]) -> list[list[Token]]:
    groups: list[list[Token]] = []
    current: list[Token] = []
    depth = 0
    for token in tokens:
        current.append(token)
        depth += token.nesting
        if depth == 0:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _label(group: list[Token]) -> str | None:
    """The label of a paragraph opening with `**Label:**`, else None."""
    if len(group) < 2 or group[0].type != "paragraph_open" or group[1].type != "inline":
        return None
    kids = [k for k in group[1].children or [] if k.type != "text" or k.content]
    if len(kids) >= 3 and kids[0].type == "strong_open" and kids[1].type == "text" \
            and kids[2].type == "strong_close" and kids[1].content.rstrip().endswith(":"):
        return kids[1].content
    return None


def _exercise_end(groups: list[list[Token]], i: int) -> int:
    """Where the exercise starting at groups[i] ends: a run of two or more label paragraphs
    (each maybe followed by its list) with an exercise word among the labels; i if none."""
    j, labels = i, []
    while j < len(groups) and ((label := _label(groups[j])) is not None
                               or (j > i and groups[j][0].type in _LIST_OPEN)):
        labels.append(label or "")
        j += 1
    return j if j - i >= 2 and any(_EXERCISE_WORDS.search(label) for label in labels) else i


def markdown_blocks(source: str, brand_colour: str = "#0b7a5a") -> list[BodyBlock]:
    """A lesson body as blocks: `::: callout`/`::: exercise` containers, and runs of
    exercise labels (`**Recommended Repetitions:** …` then `**Coaching Cues:**` and a list)
    boxed as exercises; the rest plain HTML. `{{ }}` spans come through untouched."""
    protected, spans = protect_spans(source)
    styles = _styles(brand_colour)
    blocks: list[BodyBlock] = []

    def html_of(tokens: list[Token]) -> Markup:
        return Markup(restore_spans(_md.renderer.render(tokens, _md.options, {}), spans))

    for region in split_containers(protected):
        tokens = _md.parse(region.source)
        _add_styles(tokens, styles)
        if region.kind != "text":
            title = escape_keep_jinja(restore_spans(region.title, spans))
            blocks.append(BodyBlock(region.kind, html_of(tokens), title))
            continue
        groups, i = _top_level(tokens), 0
        plain: list[Token] = []
        while i < len(groups):
            j = _exercise_end(groups, i)
            if j > i:
                if plain:
                    blocks.append(BodyBlock("html", html_of(plain)))
                    plain = []
                blocks.append(BodyBlock("exercise", html_of([t for g in groups[i:j] for t in g])))
                i = j
                continue
            plain.extend(groups[i])
            i += 1
        if plain:
            blocks.append(BodyBlock("html", html_of(plain)))
    return blocks
