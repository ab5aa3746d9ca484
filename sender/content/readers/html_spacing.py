"""Where two runs of inline text meet with no space between them in the markup.

Pages often set two runs of text side by side, each in an element of its own
with nothing between them, and let the stylesheet keep them apart (a margin, a
hidden label, a block display): a caption and its credit, a label and its
value, a sentence and the next span. Read without the stylesheet, the words run
together ("PhotoJane Doe", "said.Then", "1Introduction"). A word split
across tags for styling ("<b>W</b>ord", "un<em>believ</em>able",
"H<sub>2</sub>O", "O'<b>B</b>rien") never puts a capital straight after the
end of a sentence, nor after a small letter or a digit in an element of its
own, so those joins, and only those, get a space.
"""

from __future__ import annotations

from bs4 import NavigableString, PageElement, Tag

INLINE_TAGS = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "big", "br", "cite", "code", "data", "del", "dfn", "em", "font", "i",
     "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "time",
     "tt", "u", "var", "wbr"}
)  # fmt: skip
# Closing a sentence or a clause; an apostrophe is left out ("O'<b>Brien</b>").
_CLOSERS = frozenset(".!?:;,)]”")


def _first_char(node: PageElement) -> str:
    if isinstance(node, Tag):
        return next((text[0] for text in node.strings if text), "")
    return str(node)[:1] if isinstance(node, NavigableString) else ""


def _last_char(node: PageElement) -> str:
    if isinstance(node, Tag):
        return node.get_text()[-1:]
    return str(node)[-1:] if isinstance(node, NavigableString) else ""


def needs_space(left: PageElement | None, right: PageElement) -> bool:
    """Whether a reader should put a space between sibling nodes ``left`` and ``right``."""
    if left is None or not (isinstance(left, Tag) or isinstance(right, Tag)):
        return False  # text runs side by side in one text node are the author's own spelling
    if not _first_char(right).isupper():
        return False  # the common case, decided without reading the left side's text
    last = _last_char(left)
    if not last:
        return False
    if last in _CLOSERS:
        return True
    # A small letter or a digit then a capital is two words only when both
    # sides are elements of their own (a section number and its heading, a
    # label and its value): text that runs into a tag ("i<b>Phone</b>",
    # "H<sub>2</sub>O") may be one word styled in part.
    return (last.islower() or last.isdigit()) and isinstance(left, Tag) and isinstance(right, Tag)
