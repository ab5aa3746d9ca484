"""Finding the article in a saved web page.

An established main-content extractor (trafilatura) decides which text on
the page is the article. It returns flat text, so this module maps that
decision back onto the page's own tree: the article container is the
smallest element holding nearly all of the extracted text, and boxes inside
it that hold almost none of it (share bars, related posts, newsletter
forms, comment threads, bylines) are removed as chrome. The HTML reader then
converts the page's own markup, so inline links, emphasis, figures, tables,
code and footnotes survive, which the extractors' flat output would lose.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator

import trafilatura
from bs4 import BeautifulSoup, NavigableString, Tag

from sender.content.readers.html_spacing import INLINE_TAGS

# Form controls and dialogs are never article text.
CONTROL_TAGS = frozenset({"button", "input", "select", "option", "textarea", "dialog", "label"})
_FIELD_TAGS = ["form", "input", "select", "textarea"]
_MAX_FORM_BOX_WORDS = 60  # a sign-up box is a heading and a sentence or two
_TOKEN = re.compile(r"\w+")
_HEADING = re.compile(r"^h[1-6]$")
# Kept whole when kept: an item of an article's list is article too, even a
# bare list of links that the extractor left out ("In progress: <links>").
_UNITS = frozenset({"ul", "ol", "dl", "table", "pre"})
_SHINGLE = 5  # words in a run that must match the extracted text (3 matches by chance)
_CONTAINER_SHARE = 0.9  # the container holds at least this share of the extracted words
_KEEP_SHARE = 0.2  # a box with less of its words in the extracted text is chrome
_MAX_CHROME_TEXT = 200
_ADDRESS = re.compile(r"^(?:https?://|www\.)\S+$", re.I)
_MIN_ADDRESS_ITEMS = 2  # one bare link is as likely a footer's "example.com"


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def extracted_text(html: str) -> str:
    """The article text according to the extractor ("" when it finds none)."""
    text = trafilatura.extract(
        html,
        include_comments=False,  # reader comments are not lesson material
        include_tables=True,
        favor_recall=True,  # the tree walk below still drops what is not kept
        deduplicate=False,
    )
    return text or ""


def _shingles(words: list[str]) -> Iterator[tuple[str, ...]]:
    return (tuple(words[i : i + _SHINGLE]) for i in range(len(words) - _SHINGLE + 1))


class _Tally:
    """Words and extractor-kept words in every element's subtree.

    The page's words are laid out in document order and a word counts as
    kept when it is part of a run of ``_SHINGLE`` words that the extracted
    text also has. Runs cross element borders, so short cells, list items
    and headings are judged together with their neighbours. Words are read
    across inline tags ("<b>W</b>ord" is one word, as the extractor reads
    it) and belong to the element they start in.
    """

    def __init__(self, root: Tag, extracted: str, keep: set[int]) -> None:
        known = set(_shingles(_tokens(extracted)))
        pieces: list[str] = []
        length = 0
        chars: dict[int, tuple[int, int]] = {}
        start: dict[int, int] = {id(root): 0}
        stack: list[Tag] = [root]
        skipping: Tag | None = None  # inside a kept element: its text decides nothing

        def close(done: Tag) -> None:
            nonlocal length, skipping
            chars[id(done)] = (start[id(done)], length)
            if _breaks_words(done):
                pieces.append(" ")
                length += 1
            if done is skipping:
                skipping = None

        for node in root.descendants:
            while stack and node.parent is not stack[-1]:
                close(stack.pop())
            if isinstance(node, Tag):
                if _breaks_words(node):
                    pieces.append(" ")
                    length += 1
                stack.append(node)
                start[id(node)] = length
                if skipping is None and id(node) in keep:
                    skipping = node
            elif isinstance(node, NavigableString) and skipping is None:
                pieces.append(str(node))
                length += len(node)
        while stack:
            close(stack.pop())
        starts: list[int] = []
        words: list[str] = []
        for match in _TOKEN.finditer("".join(pieces)):
            starts.append(match.start())
            words.append(match.group().lower())
        self.span = {
            key: (bisect.bisect_left(starts, begin), bisect.bisect_left(starts, end))
            for key, (begin, end) in chars.items()
        }
        kept = [False] * len(words)
        for i, shingle in enumerate(_shingles(words)):
            if shingle in known:
                kept[i : i + _SHINGLE] = [True] * _SHINGLE
        self.prefix = [0]
        for flag in kept:
            self.prefix.append(self.prefix[-1] + flag)

    def span_of(self, tag: Tag) -> tuple[int, int]:
        return self.span.get(id(tag), (0, 0))

    def first_kept(self, tag: Tag) -> int:
        """The position of the first kept word inside ``tag``."""
        begin, end = self.span_of(tag)
        for index in range(begin, end):
            if self.prefix[index + 1] > self.prefix[index]:
                return index
        return end

    def of(self, tag: Tag) -> tuple[float, float]:
        begin, end = self.span.get(id(tag), (0, 0))
        return float(end - begin), float(self.prefix[end] - self.prefix[begin])


def _breaks_words(tag: Tag) -> bool:
    return tag.name not in INLINE_TAGS or tag.name == "br"


def _children(tag: Tag) -> Iterator[Tag]:
    return (child for child in tag.children if isinstance(child, Tag))


def record(tag: Tag, chrome: list[str]) -> None:
    """Remove ``tag`` from the page, keeping its text for the split report."""
    text = re.sub(r"\s+", " ", tag.get_text(" ", strip=True)).strip()
    if text:
        chrome.append(text if len(text) <= _MAX_CHROME_TEXT else text[: _MAX_CHROME_TEXT - 1] + "…")
    tag.decompose()


def _container(root: Tag, tally: _Tally) -> Tag:
    node = root
    total = tally.of(root)[1]
    while True:
        rich = [child for child in _children(node) if tally.of(child)[1] >= _CONTAINER_SHARE * total]
        if not rich:
            return node
        node = rich[0]


def _is_chrome(tag: Tag, tally: _Tally) -> bool:
    words, kept = tally.of(tag)
    return bool(words) and kept < _KEEP_SHARE * words


def _is_heading(tag: Tag) -> bool:
    """A heading, or a wrapper holding nothing but one."""
    heading = tag if _HEADING.match(tag.name) else tag.find(_HEADING)
    return isinstance(heading, Tag) and heading.get_text(strip=True) == tag.get_text(strip=True)


def _drop_form_boxes(container: Tag, tally: _Tally, chrome: list[str]) -> None:
    """A form field and the short box around it (its heading, its pitch) is a
    call to action: "Subscribe", "Get the free checklist", "Try it now"."""
    for control in container.find_all(_FIELD_TAGS):
        if control.decomposed or tally.of(control)[0] > _MAX_FORM_BOX_WORDS:
            continue  # a form around the whole page (ASP.NET) is layout; its fields go one by one
        box: Tag = control
        while (
            isinstance(box.parent, Tag)
            and box.parent is not container
            and tally.of(box.parent)[0] <= _MAX_FORM_BOX_WORDS
        ):
            box = box.parent
        record(box, chrome)


def _prune(tag: Tag, tally: _Tally, keep: set[int], holders: set[int], chrome: list[str]) -> None:
    children = list(_children(tag))
    for index, child in enumerate(children):
        if id(child) in keep or child.decomposed:
            continue
        if child.name in CONTROL_TAGS:
            record(child, chrome)
        elif not _is_chrome(child, tally) or id(child) in holders:
            if child.name not in _UNITS:
                _prune(child, tally, keep, holders, chrome)
        elif _is_heading(child):
            # Extractors often drop headings; one over kept content is the article's.
            section = itertools.takewhile(lambda c: not _is_heading(c), children[index + 1 :])
            if all(_is_chrome(c, tally) and id(c) not in keep for c in section):
                record(child, chrome)
        else:
            record(child, chrome)


def _address_lists(container: Tag) -> list[Tag]:
    """Lists whose every item is a link spelled out as its address: an article's
    sources. Extractors drop them as link lists, but site chrome (menus, related
    posts, share bars) names its links in words, never by their addresses."""
    out: list[Tag] = []
    for listing in container.find_all(["ul", "ol"]):
        items = listing.find_all("li", recursive=False)
        if len(items) >= _MIN_ADDRESS_ITEMS and all(_is_address_item(item) for item in items):
            out.append(listing)
    return out


def _is_address_item(item: Tag) -> bool:
    links = item.find_all("a")
    text = item.get_text(" ", strip=True)
    return len(links) == 1 and links[0].get_text(" ", strip=True) == text and bool(_ADDRESS.match(text))


def _lead_figure(container: Tag, tally: _Tally) -> list[Tag]:
    """The picture above the article's first kept words (a story's lead image,
    in a header box with the headline and byline that is otherwise chrome)."""
    start = tally.first_kept(container)
    for figure in container.find_all("figure"):
        if tally.span_of(figure)[1] > start:
            break
        if figure.find(["img", "picture", "video", "iframe"]) or figure.get("itemid"):
            return [figure]
    return []


def main_content(
    soup: BeautifulSoup,
    html: str,
    keep: set[int],
    tables: list[Tag],
    pictures: list[Tag],
    standfirst: Tag | None = None,
) -> tuple[Tag, list[str]]:
    """The element holding the article, with the chrome inside it removed.

    ``keep`` holds ids of elements inside the article that the extractor may
    have dropped but the reader still wants (figures and their captions);
    ``tables`` are data tables, kept even inside a layout table that is not;
    ``pictures`` are boxes of a picture and a short text, kept when they sit
    in the body of the article (above it they are bylines with a headshot);
    ``standfirst`` is the summary under the headline, kept like a lead picture.
    Returns the container and the removed chrome texts (everything outside
    the container too).
    """
    root = soup.body or soup
    chrome: list[str] = []
    text = extracted_text(html)
    if not _tokens(text):
        return root, chrome
    tally = _Tally(root, text, keep | {id(t) for t in tables})
    if not tally.of(root)[1]:
        return root, chrome  # the extracted text is not on the page: decide nothing
    container = _container(root, tally)
    story = container.find_parent("article")
    lead = _lead_figure(story, tally) if isinstance(story, Tag) else []
    header = lead + ([standfirst] if standfirst is not None else [])
    if isinstance(story, Tag) and any(story in t.parents and container not in t.parents for t in header):
        container = story  # to take in the lead picture or the standfirst of the story's header
    keep = keep | ({id(standfirst)} if standfirst is not None else set())
    # Everything beside the path from <body> to the container is site chrome.
    node: Tag = container
    while node is not root and isinstance(node.parent, Tag):
        for sibling in list(_children(node.parent)):
            if sibling is not node:
                record(sibling, chrome)
        node = node.parent
    _drop_form_boxes(container, tally, chrome)
    anchors = tables + (lead or _lead_figure(container, tally))
    holders = {id(parent) for tag in anchors for parent in tag.parents}
    body_start = tally.first_kept(container)
    keep = keep | {id(t) for t in anchors} | {id(p) for p in pictures if tally.span_of(p)[0] > body_start}
    keep |= {id(listing) for listing in _address_lists(container)}
    _prune(container, tally, keep, holders, chrome)
    return container, chrome
