"""The title of a plain-text article: a "Title:" field, an RST title, or the
title-like line before the first paragraph; the site's name and menu above it
and the byline under it are dropped with it."""

from __future__ import annotations

import re

from sender.content.chrome import is_menu_item
from sender.content.readers.plaintext_lines import (
    ABBREVIATION_END,
    SENTENCE_END,
    ArticleText,
    clean,
    followed_by_prose,
    is_code,
    is_prose,
    line_key,
    word_count,
)

# Names of ordinary sections, never an article's title.
_SECTION_NAMES = re.compile(
    r"(?:introduction|abstract|overview|summary|background|foreword|preface|contents|table of contents|"
    r"prologue|motivation|conclusions?)[:.]?",
    re.I,
)


def find_title(doc: ArticleText, rst_title: int | None) -> tuple[str, int | None]:
    """The article's title, and the line it stands on (None when not in the text).

    Lines above the title are the site's name and menu; short labels between
    it and the first paragraph (a byline split over lines) go with them."""
    live = doc.live()
    first_prose = next((i for i in live if _opens_text(doc, i)), len(doc.lines))
    leading = [i for i in live if i < first_prose]
    title = doc.fields.get("title", "")
    at: int | None = None
    if title:
        at = next((i for i in leading if line_key(doc.text(i)) == line_key(title)), None)
    elif rst_title is not None:
        title, at = clean(doc.text(rst_title)), rst_title
    else:
        # an RST section title is the document's title only by the rule of find_rst_title
        candidates = [i for i in leading if title_like(doc.text(i)) and i not in doc.rst_heads]
        at = _pick_title(doc, candidates)
        title = clean(doc.text(at)) if at is not None else ""
    if at is not None:
        for index in leading:
            if index < at:
                doc.drop(index)
        doc.lines[at] = None
        doc.rst_heads.pop(at, None)
        under = at + 1
        if under < len(doc.lines) and title_like(doc.text(under)) and not is_prose(doc.text(under)):
            doc.plain_lines.add(under)  # a subtitle set directly under the title: text, not a section
        after = [i for i in leading if i > at]
        for position, index in enumerate(after):
            if doc.lines[index] is None:
                continue
            if re.fullmatch(r"by:?", clean(doc.text(index)), re.I) and position + 1 < len(after):
                doc.drop(index)  # a byline set over two lines: "BY" / the author's name
                doc.drop(after[position + 1])
            elif is_menu_item(doc.text(index)) and not followed_by_prose(doc, index):
                doc.drop(index)
    return title, at


def _opens_text(doc: ArticleText, index: int) -> bool:
    """The first line of the article's running text (a long title standing
    alone on its line is not)."""
    text = doc.text(index)
    if index in doc.rst_heads or not is_prose(text) or re.search(r"\S(?:\t| {3,})\S", text.strip()):
        return False  # a line set in columns is a page or file header
    alone = not (doc.lines[index + 1] or "").strip() if index + 1 < len(doc.lines) else True
    ends = bool(SENTENCE_END.search(text.strip())) and not ABBREVIATION_END.search(text.strip())
    return not (alone and title_like(text) and not ends)


def title_like(text: str) -> bool:
    text = clean(text).strip("_*").strip()
    if not text or _SECTION_NAMES.fullmatch(text) or word_count(text) > 20 or len(text) > 160:
        return False
    if text[-1] in ",;!…" or (text[-1] == "." and not ABBREVIATION_END.search(text)):
        return False
    first = next((ch for ch in text if ch.isalnum()), "")
    return bool(first) and (first.isupper() or first.isdigit()) and not is_code(text)


def _pick_title(doc: ArticleText, candidates: list[int]) -> int | None:
    """The first line of the last group of long (4+ word) candidates: a site's
    name and menu come before the title, a subtitle after it."""
    if not candidates:
        return None
    long = [i for i in candidates if word_count(doc.text(i)) >= 4]
    if not long:
        several = [i for i in candidates if word_count(doc.text(i)) >= 2]
        if several:
            return several[-1]
        # a one-word title: only the document's first line, standing alone
        first = candidates[0]
        alone = first + 1 >= len(doc.lines) or not (doc.lines[first + 1] or "").strip()
        return first if first == doc.live()[0] and alone else None
    start = long[-1]
    for index in reversed(long[:-1]):
        between = [j for j in range(index + 1, start) if (doc.lines[j] or "").strip()]
        if between:
            break
        start = index
    return start
