"""Raw HTML blocks inside a Markdown article.

Markdown posts drop into HTML for what Markdown cannot say: a centred
picture (``<p align="center"><img …></p>``), a ``<figure>`` with its
``<figcaption>``, a row of images in a ``<div>``, an embedded video, a
``<details>`` box. Pictures and videos become Figures, text becomes
paragraphs and lists (links and emphasis kept as inline Markdown), and what
an email cannot show (scripts, forms, embeds without a source) is left out
with a note, never silently.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, NavigableString, PageElement, Tag

from sender.content.document import Block, Figure, Heading, ListBlock, Paragraph
from sender.content.inline import escape_text
from sender.content.readers.html_spacing import needs_space

_MEDIA = ("img", "video", "iframe", "embed", "source")
_UNSHOWABLE = ("script", "style", "form", "object", "canvas", "noscript", "template", "input", "button",
               "select", "textarea")  # fmt: skip
_BLOCKS = ("p", "div", "section", "article", "aside", "header", "footer", "center", "blockquote", "details",
           "summary", "figure", "dl", "dt", "dd", "pre", "main", "nav")  # fmt: skip
_SPACE = re.compile(r"\s+")


def html_block(html: str, line: int | None) -> tuple[list[Block], list[str]]:
    """Blocks for one raw HTML block, and notes on what was left out."""
    soup = BeautifulSoup(html, "html.parser")
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    notes: list[str] = []
    for tag in soup.find_all(_UNSHOWABLE):
        if isinstance(tag, Tag) and not tag.decomposed:
            where = f"line {line}: " if line else ""
            notes.append(f"{where}left out an HTML <{tag.name}> block: an email cannot show it")
            tag.decompose()
    blocks: list[Block] = []
    _walk(soup, blocks, line)
    return blocks, notes


def _walk(element: Tag, blocks: list[Block], line: int | None) -> None:
    loose: list[str] = []  # inline content sitting directly in a container

    def flush() -> None:
        text = _clean("".join(loose))
        if text:
            blocks.append(Paragraph(text, line))
        loose.clear()

    previous: PageElement | None = None  # the node before, in the same run of loose content
    for child in element.children:
        if needs_space(previous, child):
            loose.append(" ")
        previous = child
        if isinstance(child, NavigableString):
            loose.append(escape_text(str(child)))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name in _MEDIA or (name in ("a", "picture") and child.find(_MEDIA)):
            flush()
            blocks.extend(_figures(child, line))
        elif name == "figure":
            flush()
            caption_tag = child.find("figcaption")
            caption = _clean(_inline(caption_tag)) if isinstance(caption_tag, Tag) else ""
            figures = _figures(child, line)
            if caption and figures:
                first = figures[0]
                figures[0] = Figure(caption, first.src, first.kind, line)
            blocks.extend(figures)
            if not figures and caption:
                blocks.append(Paragraph(caption, line))
        elif re.fullmatch(r"h[1-6]", name):
            flush()
            if text := _clean(_inline(child)):
                blocks.append(Heading(int(name[1]), text, line))
        elif name in ("ul", "ol"):
            flush()
            items = tuple(t for li in child.find_all("li", recursive=False) if (t := _clean(_inline(li))))
            if items:
                blocks.append(ListBlock(items, name == "ol", line))
        elif name == "table":
            flush()
            if table := _table(child):
                blocks.append(Paragraph(table, line))
        elif name == "pre":
            flush()
            code = child.get_text().strip("\n")
            if code.strip():
                blocks.append(Paragraph(f"```\n{code}\n```", line))
        elif name == "br":
            loose.append(" ")
        elif name in _BLOCKS or child.find(_BLOCKS + _MEDIA + ("ul", "ol", "pre")):
            flush()
            _walk(child, blocks, line)
        else:
            loose.append(_element(child))
    flush()


def _table(table: Tag) -> str:
    """A GitHub-style Markdown table (the lesson renderer has tables on)."""
    rows = [[_clean(_inline(cell)).replace("|", "\\|") for cell in tr.find_all(["td", "th"])]
            for tr in table.find_all("tr")]  # fmt: skip
    rows = [row for row in rows if any(row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + " --- |" * width)
    return "\n".join(lines)


def _figures(tag: Tag, line: int | None) -> list[Figure]:
    media = [tag] if tag.name in _MEDIA else [m for m in tag.find_all(_MEDIA) if isinstance(m, Tag)]
    figures = []
    for item in media:
        if item.name == "source" and item.find_parent("video") is not None:
            continue  # the <video> itself stands for its sources
        src = str(item.get("src") or item.get("data-src") or "")
        if not src and item.name == "video" and isinstance(source := item.find("source"), Tag):
            src = str(source.get("src") or "")
        if src.startswith("//"):
            src = "https:" + src  # protocol-relative: an email has no page protocol to borrow
        kind = "image" if item.name == "img" or (item.name == "source" and item.find_parent("picture")) \
            else "video"  # fmt: skip
        caption = _clean(str(item.get("alt") or item.get("title") or ""))
        figures.append(Figure(escape_text(caption), src or None, kind, line))  # type: ignore[arg-type]
    return figures


def _inline(tag: Tag) -> str:
    """The inline content of ``tag`` as inline Markdown."""
    parts: list[str] = []
    previous: PageElement | None = None
    for child in tag.children:
        if needs_space(previous, child):
            parts.append(" ")
        if isinstance(child, NavigableString):
            parts.append(escape_text(_SPACE.sub(" ", str(child))))
        elif isinstance(child, Tag):
            parts.append(_element(child))
        previous = child
    return "".join(parts)


def _element(tag: Tag) -> str:
    """One inline element as Markdown: links, emphasis and code survive."""
    if tag.name in _MEDIA:
        return ""
    inner = _inline(tag)
    text = inner.strip()
    href = str(tag.get("href") or "")
    if tag.name == "a" and text and href.startswith(("http://", "https://", "mailto:")):
        return f"[{text}]({href})"
    if tag.name in ("strong", "b") and text:
        return f"**{text}**"
    if tag.name in ("em", "i") and text:
        return f"*{text}*"
    if tag.name == "code" and text:
        return f"`{tag.get_text()}`"
    if tag.name == "br":
        return " "
    return inner


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()
