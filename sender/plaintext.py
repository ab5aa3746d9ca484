"""The plain-text part, written from the lesson's Markdown itself (not by
stripping tags from the HTML), so lists stay lists and links stay readable."""

from __future__ import annotations

import textwrap

from markdown_it import MarkdownIt
from markdown_it.token import Token

_md = MarkdownIt("commonmark").enable("table")


def _inline(token: Token) -> str:
    out: list[str] = []
    href: str | None = None
    link_text: list[str] = []
    for child in token.children or []:
        if child.type == "link_open":
            href = str(child.attrs.get("href", ""))
            link_text = []
        elif child.type == "link_close":
            text = "".join(link_text)
            out.append(f"{text} ({href})" if href and href != text else text)
            href = None
        elif child.type in {"text", "code_inline", "html_inline"}:
            (link_text if href is not None else out).append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            (link_text if href is not None else out).append("\n" if child.type == "hardbreak" else " ")
        elif child.type == "image":
            out.append(f"[{child.content or 'image'}]")
    return "".join(out)


def markdown_to_text(source: str, width: int = 72) -> str:
    """Headings underlined, lists bulleted or numbered, quotes indented."""
    blocks: list[str] = []
    lists: list[list[int]] = []  # stack of [is_ordered, counter, index of its block or -1]
    quote_depth = 0
    pending_bullet: str | None = None
    heading_level = 0
    for token in _md.parse(source):
        kind = token.type
        if kind == "heading_open":
            heading_level = int(token.tag[1])
        elif kind == "heading_close":
            heading_level = 0
        elif kind in {"bullet_list_open", "ordered_list_open"}:
            start = int(str(token.attrs.get("start", 1))) - 1
            lists.append([kind == "ordered_list_open", start, -1])
        elif kind in {"bullet_list_close", "ordered_list_close"}:
            lists.pop()
        elif kind == "list_item_open":
            lists[-1][1] += 1
            pending_bullet = f"{lists[-1][1]}. " if lists[-1][0] else "- "
        elif kind == "blockquote_open":
            quote_depth += 1
        elif kind == "blockquote_close":
            quote_depth -= 1
        elif kind == "hr":
            blocks.append("-" * 20)
        elif kind in {"fence", "code_block"}:
            blocks.append(textwrap.indent(token.content.rstrip("\n"), "    "))
        elif kind == "inline":
            text = _inline(token).strip()
            if heading_level:
                underline = "=" if heading_level <= 2 else "-"
                blocks.append(f"{text}\n{underline * min(len(text), width)}")
                continue
            indent = "  " * max(len(lists) - 1, 0)
            if pending_bullet is not None:
                first, rest = indent + pending_bullet, indent + " " * len(pending_bullet)
                pending_bullet = None
                wrapped = textwrap.fill(text, width, initial_indent=first, subsequent_indent=rest)
                # items of one list sit together, without blank lines between them
                if lists[-1][2] == len(blocks) - 1 >= 0:
                    blocks[-1] += "\n" + wrapped
                    continue
                blocks.append(wrapped)
                lists[-1][2] = len(blocks) - 1
            elif lists:
                blocks.append(textwrap.fill(text, width, initial_indent=indent + "  ",
                                            subsequent_indent=indent + "  "))
            else:
                blocks.append(textwrap.fill(text, width, break_long_words=False,
                                            break_on_hyphens=False))
            if quote_depth:
                blocks[-1] = textwrap.indent(blocks[-1], "> " * quote_depth)
    return "\n\n".join(blocks) + "\n"
