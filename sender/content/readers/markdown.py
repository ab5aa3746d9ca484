"""Reader for Markdown articles (CommonMark + tables, optional front matter).

Inline text is taken verbatim from the source (links, emphasis and Jinja
placeholders survive untouched). Footnotes use the common ``[^label]``
extension: definitions (``[^label]: citation``) become the reference list
in order of definition, and uses become ``[^N]`` markers. A paragraph that
is only an image becomes a Figure; a blockquote starting with a bold
capital label ("**PRO TIP:**") becomes a call-out.
"""

from __future__ import annotations

import re

import frontmatter
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from sender.content.document import Block, Callout, Document, Figure, Heading, ListBlock, Paragraph
from sender.content.errors import ContentError
from sender.content.structure import shape, take_reference_section

_DEFINITION = re.compile(r"^\[\^([^\]\s]+)\]:\s*(.*)$")
_USE = re.compile(r"\[\^([^\]\s]+)\](?!:)")
_ONLY_IMAGE = re.compile(r"^!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)$")
_VIDEO = re.compile(r"<(?:iframe|video)\b[^>]*\bsrc=[\"']([^\"']+)", re.I)
_CALLOUT_LEAD = re.compile(r"^\*\*([A-Z][A-Z’' ]{1,24}[A-Z]):?\*\*:?\s*")


def _take_definitions(body: str) -> tuple[str, dict[str, str]]:
    """Remove footnote definitions (blanking their lines keeps line numbers)."""
    lines = body.split("\n")
    definitions: dict[str, str] = {}
    current: str | None = None
    for index, line in enumerate(lines):
        if match := _DEFINITION.match(line):
            current = match.group(1)
            definitions[current] = match.group(2).strip()
            lines[index] = ""
        elif current and line.startswith(("    ", "\t")) and line.strip():
            definitions[current] += " " + line.strip()  # indented continuation
            lines[index] = ""
        else:
            current = None
    return "\n".join(lines), definitions


def _inline(token: Token) -> str:
    return " ".join(part.strip() for part in token.content.split("\n"))


def read_markdown(text: str, fallback_title: str) -> Document:
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        raise ContentError(f"the front matter is not valid YAML: {exc}") from exc
    body, definitions = _take_definitions(post.content)
    # front matter lines are gone from post.content; keep line numbers true to the file
    start = text.find(post.content[:200]) if post.content else 0
    offset = text[: max(start, 0)].count("\n")
    labels = list(definitions)
    numbers = {label: index + 1 for index, label in enumerate(labels)}
    references = [definitions[label] for label in labels]

    def marked(value: str) -> str:
        # unknown labels get a number past the list, so lint reports them
        return _USE.sub(lambda m: f"[^{numbers.get(m.group(1), len(labels) + 1)}]", value)

    tokens = MarkdownIt("commonmark").enable("table").parse(body)
    blocks: list[Block] = []
    lines = body.split("\n")
    i = 0
    while i < len(tokens):
        token = tokens[i]
        line = token.map[0] + 1 + offset if token.map else None
        close = _closing_index(tokens, i)
        if token.type == "heading_open":
            level = int(token.tag[1])
            blocks.append(Heading(level, marked(_inline(tokens[i + 1])), line))
        elif token.type == "paragraph_open":
            content = _inline(tokens[i + 1])
            if image := _ONLY_IMAGE.match(content):
                blocks.append(Figure(caption=image.group(1), src=image.group(2), line=line))
            else:
                blocks.append(Paragraph(marked(content), line))
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            items = _list_items(tokens[i + 1 : close])
            ordered = token.type == "ordered_list_open"
            blocks.append(ListBlock(tuple(marked(item) for item in items), ordered, line))
        elif token.type == "blockquote_open":
            inner = [_inline(t) for t in tokens[i + 1 : close] if t.type == "inline"]
            quote = marked(" ".join(inner))
            lead = _CALLOUT_LEAD.match(quote)
            label = lead.group(1) if lead else ""
            blocks.append(Callout(label, quote[lead.end() :] if lead else quote, line))
        elif token.type in ("fence", "code_block", "table_open") and token.map:
            # Kept as written: the lesson body is Markdown too.
            raw = "\n".join(lines[token.map[0] : token.map[1]]).strip("\n")
            blocks.append(Paragraph(raw, line))
        elif token.type == "html_block" and (video := _VIDEO.search(token.content)):
            blocks.append(Figure(caption="", src=video.group(1), kind="video", line=line))
        i = close + 1

    blocks, references = take_reference_section(blocks, references)
    heading_title, blocks = _title_heading(blocks)
    title = str(post.metadata.get("title") or heading_title)
    doc = Document(
        title=title or fallback_title,
        blocks=blocks,
        references=references,
        bio=str(post.metadata.get("author_bio") or ""),
        source_format="markdown",
    )
    return shape(doc)


def _closing_index(tokens: list[Token], start: int) -> int:
    """Index of the token that closes tokens[start] (itself if not an opener)."""
    if tokens[start].nesting != 1:
        return start
    depth = 0
    for index in range(start, len(tokens)):
        depth += tokens[index].nesting
        if depth == 0:
            return index
    return len(tokens) - 1


def _list_items(tokens: list[Token]) -> list[str]:
    """Text of each top-level item; nested lists are folded into their item."""
    items: list[str] = []
    depth = 0
    for token in tokens:
        if token.type == "list_item_open":
            depth += 1
            if depth == 1:
                items.append("")
        elif token.type == "list_item_close":
            depth -= 1
        elif token.type == "inline" and items:
            items[-1] = f"{items[-1]} {_inline(token)}".strip() if items[-1] else _inline(token)
    return items


def _title_heading(blocks: list[Block]) -> tuple[str, list[Block]]:
    """The first heading is the title when it opens the article and is the
    only heading at the top level (``# Title`` over ``##`` sections)."""
    if blocks and isinstance(blocks[0], Heading):
        first = blocks[0]
        same_level = [b for b in blocks if isinstance(b, Heading) and b.level <= first.level]
        if len(same_level) == 1:
            return first.text, blocks[1:]
    return "", blocks
