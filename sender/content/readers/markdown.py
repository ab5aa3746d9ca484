"""Reader for Markdown articles (CommonMark + tables + footnotes).

The source is read the way a site generator would: front matter (YAML,
TOML or JSON, ``front_matter``) gives the title and is never emailed;
template tags (Liquid, Hugo, Zola, ``template_tags``) become Markdown or
are left out with a note; markdown-it parses the rest.

Inline text is taken verbatim from the source (emphasis, code and the
lesson's own ``{{ subscriber… }}`` placeholders survive untouched), except
that reference-style links become inline links and footnote references
``[^label]`` become ``[^N]`` markers into the reference list
(``markdown_inline``): each lesson then carries the links and notes it
cites. A paragraph that is only images becomes Figures, as do raw HTML
image blocks (``html_fragments``); a blockquote starting with a bold
capital label ("**PRO TIP:**") becomes a call-out.

The title is the front-matter title, or the one top-level heading; a first
heading that repeats the title, and the byline lines (author, "Follow",
date) above the first paragraph, are not lesson text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import replace
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import normalizeReference, unescapeAll
from markdown_it.token import Token

from sender.content.document import (
    Block,
    Callout,
    Document,
    Exercise,
    Figure,
    Heading,
    ListBlock,
    Paragraph,
)
from sender.content.inline import escape_text, plain_text
from sender.content.readers.front_matter import split_front_matter
from sender.content.readers.html_fragments import html_block
from sender.content.readers.markdown_inline import inline_markdown, markdown_parser
from sender.content.structure import shape, take_reference_section
from sender.content.template_tags import (
    CODE_SPAN,
    SITE_PAGE,
    convert_template_tags,
    protect_literal_templates,
)

_CALLOUT_LEAD = re.compile(r"^\*\*([A-Z][A-Z’' ]{1,24}[A-Z]):?\*\*:?\s*")
_EMPTY_ANCHOR = re.compile(r"<a\s+(?:name|id)\s*=\s*[\"'][^\"']*[\"']\s*>\s*</a>", re.I)
# A line that is only a link reference definition: "[label]: url" and maybe a title.
_DEFINITION_LINE = re.compile(
    r"^[ ]{0,3}\[(?!\^)([^\]\n]{1,999})\]:[ \t]*(<[^>\n]*>|\S+)"
    r"(?:[ \t]+(\"[^\"\n]*\"|'[^'\n]*'|\([^)\n]*\)))?[ \t]*$",
    re.M,
)
_IN_PAGE_HTML_LINK = re.compile(r"<a\s[^>]*?href\s*=\s*[\"']#[^\"']*[\"'][^>]*>(.*?)</a\s*>", re.I | re.S)
_HTML_LINK = re.compile(r"<a\s[^>]*?href\s*=\s*[\"']([^\"']+)[\"'][^>]*>", re.I)
# Byline lines: short, and not a sentence (no closing punctuation).
_BYLINE_MAX_WORDS = 8
_BYLINE_MAX_LINES = 6  # author, follow, read time, date, claps: more is a list of the article's own
_SENTENCE_END = re.compile(r"[.!?…:;,][\"”’')\]*_]*$")

_md = markdown_parser()
# Where the code is, before tags are read: block structure only, no inline parsing.
_blocks_only = MarkdownIt("commonmark").enable("table").disable("inline")


def read_markdown(text: str, base_url: str = "") -> Document:
    front = split_front_matter(text.replace("\r\n", "\n").replace("\r", "\n"))
    offset = front.body_line - 1
    templates = convert_template_tags(front.body, _code_ranges, front.metadata, front.body_line)
    body, definitions = _take_link_definitions(templates.text)
    env: dict[str, Any] = {"references": definitions}
    tokens = _md.parse(body, env)
    reader = _Reader(env, body.split("\n"), offset)
    blocks = reader.read(tokens)
    references = reader.references(tokens)
    notes = templates.notes + reader.notes

    blocks, references = take_reference_section(blocks, references)
    meta_title = front.text("title")
    heading_title, blocks, chrome = _title_and_byline(blocks, escape_text(meta_title))
    title = escape_text(meta_title) or heading_title
    doc = Document(
        # the title and bio reach the email too (subject, sign-off)
        title=protect_literal_templates(title),
        blocks=[_literal(block) for block in blocks],
        references=[protect_literal_templates(r) for r in references],
        bio=protect_literal_templates(front.text("author_bio")),
        chrome=chrome,
        notes=notes,
        source_format="markdown",
        base_url=front.base_url,
    )
    return shape(doc)


@lru_cache(maxsize=4)  # asked again for the same text by the next step
def _code_ranges(text: str) -> list[tuple[int, int]]:
    """Character ranges of code blocks and code spans (tags there are examples)."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)] + [len(text)]
    ranges = [
        (starts[token.map[0]], starts[min(token.map[1], len(starts) - 1)])
        for token in _blocks_only.parse(text)
        if token.type in ("fence", "code_block") and token.map
    ]
    firsts = [start for start, _ in ranges]
    for match in CODE_SPAN.finditer(text):
        index = bisect_right(firsts, match.start()) - 1
        inside = index >= 0 and match.start() < ranges[index][1]
        if not inside and "\n\n" not in match.group(0):
            ranges.append((match.start(), match.end()))
    return sorted(ranges)


def _take_link_definitions(text: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """Link reference definitions on lines of their own, wherever they are.

    CommonMark does not let a definition interrupt a paragraph, so one written
    right under a paragraph (or a footnote) is read as more of its text; blog
    engines (kramdown, Python-Markdown) take it as a definition, and so do we.
    The lines are blanked (line numbers stay) and the definitions given to
    markdown-it, which resolves the links by its own rules."""
    if "]:" not in text:
        return text, {}
    code = _code_ranges(text)
    firsts = [start for start, _ in code]
    definitions: dict[str, dict[str, Any]] = {}

    def take(match: re.Match[str]) -> str:
        index = bisect_right(firsts, match.start()) - 1
        if index >= 0 and match.start() < code[index][1]:
            return match.group(0)  # an example in a code block
        label = normalizeReference(match.group(1))
        if not label.strip():
            return match.group(0)
        href = match.group(2).removeprefix("<").removesuffix(">")
        title = unescapeAll(match.group(3)[1:-1]) if match.group(3) else ""
        definitions.setdefault(label, {"href": _md.normalizeLink(unescapeAll(href)), "title": title})
        return ""

    return _DEFINITION_LINE.sub(take, text), definitions


class _Reader:
    def __init__(self, env: dict[str, Any], lines: list[str], offset: int) -> None:
        self.env = env
        self.lines = lines
        self.offset = offset
        self.notes: list[str] = []
        notes = env.get("footnotes", {}).get("list", {})
        self.note_count = len(notes)

    def inline(self, token: Token) -> str:
        # unknown labels get a number past the list, so lint reports them
        text = inline_markdown(token.content, self.env, lambda _: f"[^{self.note_count + 1}]", _dead_link)
        text = _IN_PAGE_HTML_LINK.sub(r"\1", text)
        return " ".join(part.strip() for part in text.split("\n")).strip()

    def line(self, token: Token) -> int | None:
        return token.map[0] + 1 + self.offset if token.map else None

    def read(self, tokens: list[Token]) -> list[Block]:
        blocks: list[Block] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            close = _closing_index(tokens, i)
            line = self.line(token)
            if token.type == "footnote_block_open":
                break  # the notes: read by references()
            if token.type == "heading_open":
                text = _unwrapped(self.inline(tokens[i + 1]), tokens[i + 1])
                if plain_text(text):
                    blocks.append(Heading(int(token.tag[1]), text, line))
            elif token.type == "paragraph_open":
                blocks.extend(self.paragraph(tokens[i + 1], line))
            elif token.type in ("bullet_list_open", "ordered_list_open"):
                items = tuple(self.list_items(tokens[i + 1 : close]))
                if items:
                    blocks.append(ListBlock(items, token.type == "ordered_list_open", line))
            elif token.type == "blockquote_open":
                quote = " ".join(self.inline(t) for t in tokens[i + 1 : close] if t.type == "inline")
                lead = _CALLOUT_LEAD.match(quote)
                label = lead.group(1) if lead else ""
                if quote:
                    blocks.append(Callout(label, quote[lead.end() :] if lead else quote, line))
            elif token.type in ("fence", "code_block") and token.map:
                # Kept as written: the lesson body is Markdown too.
                blocks.append(Paragraph(self.source(token).strip("\n"), line))
            elif token.type == "table_open" and token.map:
                blocks.append(Paragraph(self.table(tokens[i : close + 1], token), line))
            elif token.type == "html_block":
                found, notes = html_block(token.content, line)
                blocks.extend(found)
                self.notes.extend(notes)
            i = close + 1
        return blocks

    def source(self, token: Token) -> str:
        start, end = token.map  # type: ignore[misc]
        return "\n".join(self.lines[start:end])

    def paragraph(self, token: Token, line: int | None) -> list[Block]:
        figures = _figures(token)
        if figures is not None:
            return [replace(figure, line=line) for figure in figures]
        text = _EMPTY_ANCHOR.sub("", self.inline(token)).strip()
        if not text or not re.sub(r"<[^>]+>", "", text).strip():
            return []  # only empty HTML (in-page anchors): nothing to read
        return [Paragraph(text, line)]

    def table(self, tokens: list[Token], opener: Token) -> str:
        raw = self.source(opener).strip("\n")
        for cell in (t for t in tokens if t.type == "inline"):
            rewritten = self.inline(cell)
            if rewritten != cell.content and cell.content:
                raw = raw.replace(cell.content, rewritten, 1)
        return raw

    def list_items(self, tokens: list[Token]) -> list[str]:
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
                text = self.inline(token)
                items[-1] = f"{items[-1]} {text}".strip() if items[-1] else text
        return [item for item in items if item]

    def references(self, tokens: list[Token]) -> list[str]:
        """The footnotes, numbered as markdown-it numbers them (order of first use)."""
        notes = [""] * self.note_count
        current: int | None = None
        for token in tokens:
            if token.type == "footnote_open":
                current = int(token.meta["id"])
            elif token.type == "footnote_close":
                current = None
            elif token.type == "inline" and current is not None and current < len(notes):
                text = _note_text(token)
                notes[current] = f"{notes[current]} {text}".strip()
        return notes


def _note_text(inline: Token) -> str:
    """A footnote as the plain text lessons print references in, each link's
    address after its text."""
    parts: list[str] = []
    links: list[tuple[str, int]] = []  # (address, where its text starts)
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append("".join(c.content for c in child.children or [] if c.type == "text"))
        elif child.type == "link_open" or (child.type == "html_inline" and _HTML_LINK.match(child.content)):
            found = _HTML_LINK.match(child.content)
            links.append((str(child.attrs.get("href") or "") if not found else found.group(1), len(parts)))
        elif (child.type == "link_close" or re.fullmatch(r"</a\s*>", child.content, re.I)) and links:
            address, start = links.pop()
            label = "".join(parts[start:]).strip()
            if address.startswith(("http://", "https://")) and address != label:
                parts.append(f" ({address})")
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _dead_link(href: str) -> bool:
    """Links an email cannot follow: to a place on the article's page (the lesson
    holds only part of it), or to a site page only the generator could name."""
    return href.startswith("#") or href == SITE_PAGE


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


def _meaningful(children: list[Token]) -> list[Token]:
    return [c for c in children if not (c.type in ("text", "softbreak") and not c.content.strip())]


def _unwrapped(text: str, inline: Token) -> str:
    """``## __Bold heading__``: the emphasis is the heading's look, not its text."""
    children = _meaningful(inline.children or [])
    if len(children) < 3 or not children[0].type.endswith("_open"):
        return text
    opener, kind = children[0], children[0].type.removesuffix("_open")
    depth = 0
    for position, child in enumerate(children):
        if child.type == f"{kind}_open":
            depth += 1
        elif child.type == f"{kind}_close":
            depth -= 1
            if depth == 0 and position != len(children) - 1:
                return text  # "**Bold** and more": only part of it is emphasised
    markup = opener.markup
    core = text.strip()
    if markup and core.startswith(markup) and core.endswith(markup) and len(core) > 2 * len(markup):
        return core[len(markup) : -len(markup)].strip()
    return text


def _figures(inline: Token) -> list[Figure] | None:
    """The pictures of a paragraph that holds nothing else (links around them allowed)."""
    figures: list[Figure] = []
    for child in _meaningful(inline.children or []):
        if child.type == "image":
            src = str(child.attrs.get("src") or "")
            alt = "".join(c.content for c in child.children or [] if c.type in ("text", "code_inline"))
            figures.append(Figure(escape_text(alt.strip()), None if src in ("", SITE_PAGE) else src))
        elif child.type not in ("link_open", "link_close", "hardbreak") and not (
            child.type == "html_inline" and re.fullmatch(r"<br\s*/?>", child.content, re.I)
        ):
            return None
    return figures or None


def _literal(block: Block) -> Block:
    """Block text the renderer's Jinja shows as written (only lesson placeholders stay live)."""
    match block:
        case Heading(text=text) | Paragraph(text=text) | Callout(text=text):
            return replace(block, text=protect_literal_templates(text))
        case ListBlock(items=items):
            return replace(block, items=tuple(protect_literal_templates(item) for item in items))
        case Exercise() | Figure():
            return block
    return block


# -- title and byline ----------------------------------------------------------------


def _same_title(a: str, b: str) -> bool:
    def norm(text: str) -> str:
        return re.sub(r"[\W_]+", " ", plain_text(text)).strip().casefold()

    return bool(norm(a)) and norm(a) == norm(b)


def _is_byline(block: Block) -> bool:
    """A short line that is not a sentence: author, "Follow", "5 min read", a date."""
    if not isinstance(block, Paragraph) or "\n" in block.text or "[^" in block.text:
        return False
    text = plain_text(block.text)
    return len(text.split()) <= _BYLINE_MAX_WORDS and not _SENTENCE_END.search(text)


def _lone_byline(block: Block) -> bool:
    """Alone, a short line is chrome only when it is no words (a rule of dashes)
    or a figure with a word or two (a date, "5 min read")."""
    text = plain_text(block.text) if isinstance(block, Paragraph) else ""
    words = text.split()
    return not re.search(r"[^\W\d_]", text) or (len(words) <= 4 and bool(re.search(r"\d", text)))


def _strip_byline(blocks: list[Block], before_title: bool) -> tuple[list[Block], list[str]]:
    """Byline lines at the top: a run of them (or one alone that is clearly not
    text) before the first real paragraph; before a title heading, any of them."""
    end = 0
    while end < min(len(blocks), _BYLINE_MAX_LINES) and _is_byline(blocks[end]):
        end += 1
    run = blocks[:end]
    reaches_text = end < len(blocks) and isinstance(blocks[end], Paragraph | ListBlock | Callout)
    if before_title or (run and reaches_text and (len(run) >= 2 or _lone_byline(run[0]))):
        return blocks[end:], [plain_text(b.text) for b in run if isinstance(b, Paragraph)]
    return blocks, []


def _title_and_byline(blocks: list[Block], meta_title: str) -> tuple[str, list[Block], list[str]]:
    """The heading title (if a heading is the title), the blocks without it and
    without the byline, and the byline lines removed."""
    headings = [i for i, b in enumerate(blocks) if isinstance(b, Heading)]
    title, chrome = "", list[str]()
    if headings:
        first = headings[0]
        heading = blocks[first]
        assert isinstance(heading, Heading)
        top = min(blocks[i].level for i in headings)  # type: ignore[union-attr]
        tops = [i for i in headings if blocks[i].level == top]  # type: ignore[union-attr]
        before = blocks[:first]
        preamble = all(_is_byline(b) for b in before)
        deeper = len(headings) > len(tops)
        repeats = bool(meta_title) and _same_title(heading.text, meta_title)
        only_top = tops == [first] and (preamble or (deeper and not meta_title))
        if repeats or only_top:
            title = heading.text
            kept, chrome = _strip_byline(before, before_title=True)
            blocks = kept + blocks[first + 1 :]
    blocks, more = _strip_byline(blocks, before_title=False)
    return title, blocks, chrome + more
