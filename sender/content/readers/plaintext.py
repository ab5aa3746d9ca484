"""Reader for plain-text articles: copies of web pages, e-texts, RFCs, PEP sources.

Plain text has no markup, so structure is inferred from layout, in passes:

1. furniture: text around the article that is not the article. E-text
   banners ("*** START OF ... ***", an "End of ..." line before a licence), a
   long legal section after the last content, an RFC-822 style header block
   ("Title: ...") at the top, a memo header set in two columns, page footers
   and headers repeated with page numbers, form feeds;
2. markup: reStructuredText underlined/overlined headings (levels from the
   order the underline styles first appear), ``.. [n]`` notes, ``::``
   literal blocks, and inline roles;
3. chrome: whole lines that are site chrome (chrome.py), columns of menu
   labels, story cards, and contents lists (lines that repeat headings
   further down, possibly with dot leaders and page numbers);
4. the title: a "Title:" field, an overlined RST title, or the title-like
   line before the first paragraph (what stands above it is the site's name
   and menu, short lines under it are its byline);
5. blocks: paragraphs are runs of lines (hard-wrapped lines are joined); a
   heading is a short title-like line followed by content, with or without
   a blank line between (numbered, ALL-CAPS, ``*02.1*`` tags, "Chapter 3:");
   code and tables keep their lines; bullet and numbered lines form lists;
   a caption is a line after a picture marker or a sentence pointing at a
   picture, or one with more blank space after it than before it;
6. context: "Related posts" boxes and menu lines after the article are
   chrome; the reference list and footnote markers (footnotes.py).

This module is the entry point: it runs the passes in order and turns their
blocks into a ``Document``. The passes live in sibling modules:
``plaintext_furniture`` (1, and the front and back matter of the blocks),
``plaintext_rst`` (2), ``plaintext_chrome`` (3 and the chrome of 6),
``plaintext_title`` (4), ``plaintext_blocks`` (5), ``plaintext_headings``
(heading recognition and levels); ``plaintext_lines`` holds the lines and
blocks they share, and the small tests on a line.
"""

from __future__ import annotations

import re

from sender.content.document import Block, Document, Figure, Heading, ListBlock, Paragraph
from sender.content.footnotes import MarkerFinder, RstNotes
from sender.content.inline import escape_text
from sender.content.readers.plaintext_blocks import VERSE_BREAK, BlockReader
from sender.content.readers.plaintext_chrome import (
    chrome_lines,
    context_chrome,
    drop_cards,
    drop_menu_runs,
    drop_related_boxes,
    take_contents,
)
from sender.content.readers.plaintext_furniture import (
    cut_banners,
    cut_legal_tail,
    drop_front_matter,
    header_block,
    normalise,
    page_furniture,
    take_references,
)
from sender.content.readers.plaintext_headings import assign_levels, tidy_headings
from sender.content.readers.plaintext_lines import ArticleText, wrap_width
from sender.content.readers.plaintext_rst import find_rst_title, rst_inline, rst_markup
from sender.content.readers.plaintext_title import find_title
from sender.content.structure import shape

_PLAIN_EMPHASIS = re.compile(
    r"(?<![\w*_\\])(?P<mark>[_*])(?P<text>[^\s_*](?:[^_*]*?[^\s_*])?)(?P=mark)(?![\w*_])"
)
_RULE_LINE = re.compile(r"^\s*([-=~_*#+^.:`'\"<>])\1{3,}\s*$")


def read_plaintext(text: str, base_url: str = "") -> Document:
    """With no title in the text, the title stays empty (a file name is not what
    the article is called). Plain text has no links to resolve: ``base_url`` is unused."""
    lines, raw, breaks = normalise(text)
    doc = ArticleText(lines=list[str | None](lines), raw=raw)
    cut_banners(doc)
    header_block(doc)
    page_furniture(doc, breaks)
    notes = RstNotes()
    references: list[str] = []
    targets = rst_markup(doc, notes, references)
    rst = bool(doc.rst_heads) or bool(notes)
    cut_legal_tail(doc)
    for index, line in enumerate(doc.lines):
        if line is not None and _RULE_LINE.match(line) and index not in doc.rst_heads:
            doc.lines[index] = None  # a separator rule, not text
    wrap = wrap_width(doc.lines)
    drop_cards(doc)
    drop_related_boxes(doc, wrap)
    bio = chrome_lines(doc, wrap)
    toc = take_contents(doc)
    drop_menu_runs(doc)
    rst_title = find_rst_title(doc)
    title, _ = find_title(doc, rst_title)

    reader = BlockReader(doc, wrap, toc, rst, targets)
    reader.read()
    blocks = context_chrome(reader.blocks, doc.chrome)
    blocks = drop_front_matter(blocks, doc.chrome)
    blocks = tidy_headings(blocks, title, doc.chrome)
    assign_levels(blocks)
    blocks, references = take_references(blocks, references)

    finder = MarkerFinder(len(references))
    out: list[Block] = []
    for block in blocks:
        match block.kind:
            case "para":
                out.append(Paragraph(_inline(block.text, rst, notes, finder, targets), block.line))
            case "list":
                items = tuple(_inline(item, rst, notes, finder, targets) for item in block.items)
                out.append(ListBlock(items, block.ordered, block.line))
            case "heading":
                heading = rst_inline(block.text, targets) if rst else escape_text(block.text)
                out.append(Heading(block.level, heading, block.line))
            case "code":
                out.append(Paragraph(block.text, block.line))
            case "caption":
                out.append(Paragraph(f"*{escape_text(block.text)}*", block.line))
            case "figure":
                out.append(Figure(caption=block.text, line=block.line))
    document = Document(
        title=title,
        blocks=out,
        references=references,
        bio=bio,
        chrome=list(dict.fromkeys(doc.chrome)),  # a page header repeated on every page is reported once
        notes=doc.notes,
        source_format="text",
    )
    return shape(document)


def _inline(text: str, rst: bool, notes: RstNotes, finder: MarkerFinder, targets: dict[str, str]) -> str:
    if rst:
        return rst_inline(notes.mark(text), targets)
    return _plain_inline(finder.mark(text)).replace(VERSE_BREAK, "  \n")


def _plain_inline(text: str) -> str:
    """Escaped text, keeping plain-text emphasis: _word_ (italics) and *word* (bold)."""
    out: list[str] = []
    last = 0
    for m in _PLAIN_EMPHASIS.finditer(text):
        out.append(escape_text(text[last : m.start()]) if m.start() > last else "")
        mark = "*" if m.group("mark") == "_" else "**"
        # emphasis over several lines of verse: each line on its own (a span stays on one line)
        out.append(VERSE_BREAK.join(f"{mark}{escape_text(part.strip())}{mark}"
                                     for part in m.group("text").split(VERSE_BREAK)))  # fmt: skip
        last = m.end()
    out.append(escape_text(text[last:]) if last < len(text) or not out else "")
    return "".join(out)
