"""Reader for saved blog pages (HTML).

A saved page is mostly not the article: navigation, sidebars, share
buttons, newsletter boxes, comments and footers surround it. The reader
picks the element that holds the article (the ``<article>`` or ``<main>``
with the most paragraph text, or a WordPress-style ``entry-content``),
records everything outside it and every chrome-looking element inside it
as removed chrome, and converts what is left to blocks with inline
Markdown (links, bold, italics) preserved.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

from sender.content.document import Block, Callout, Document, Figure, Heading, ListBlock, Paragraph
from sender.content.inline import escape_text
from sender.content.structure import shape, take_reference_section

_CHROME_CLASS = re.compile(
    r"(?:^|[-_\s])(?:nav|navbar|navigation|menu|sidebar|share|sharing|social|comments?|respond|"
    r"related|newsletter|subscribe|subscription|signup|sign-up|optin|widget|breadcrumbs?|cookie|"
    r"advert|ads?|promo|popup|modal|footer|site-header|masthead|banner|tags|post-meta|entry-meta|"
    r"byline)(?:$|[-_\s])",
    re.I,
)
_CHROME_TAGS = {"nav", "aside", "footer", "form", "button", "input", "select", "textarea", "dialog"}
_BIO_CLASS = re.compile(r"author[-_]?(?:bio|box|info|card|about)|about[-_]?(?:the[-_])?author", re.I)
_FOOTNOTES_CLASS = re.compile(r"^(?:footnotes?|references|citations|endnotes|sources)$", re.I)
_CONTENT_CLASS = re.compile(r"(?:entry|post|article|story)[-_](?:content|body|text)|content[-_]body", re.I)
_NOISE_TAGS = ["script", "style", "noscript", "template", "svg", "link", "canvas"]
_MARKER_TEXT = re.compile(r"^\[?(\d{1,3})\]?$")
_CALLOUT_LEAD = re.compile(r"^(?:\*\*)?([A-Z][A-Z’' ]{1,24}[A-Z])(?::\*\*|\*\*:|:)\s*")
_SPACE = re.compile(r"\s+")
_MAX_CHROME_TEXT = 200


def _classes(tag: Tag) -> str:
    return " ".join([*tag.get("class", []), str(tag.get("id", ""))])  # type: ignore[list-item]


def _is_chrome(tag: Tag) -> bool:
    return tag.name in _CHROME_TAGS or bool(_CHROME_CLASS.search(_classes(tag)))


def _text(tag: Tag) -> str:
    return _SPACE.sub(" ", tag.get_text(" ", strip=True)).strip()


def _record(tag: Tag, chrome: list[str]) -> None:
    text = _text(tag)
    if text:
        chrome.append(text if len(text) <= _MAX_CHROME_TEXT else text[: _MAX_CHROME_TEXT - 1] + "…")
    tag.decompose()


def _paragraph_chars(tag: Tag) -> int:
    return sum(len(p.get_text()) for p in tag.find_all("p"))


def _container(soup: BeautifulSoup) -> Tag:
    candidates = [
        tag
        for tag in soup.find_all(["article", "main"])
        + soup.find_all(attrs={"role": "main"})
        + soup.find_all(class_=_CONTENT_CLASS)
        if isinstance(tag, Tag) and not _is_chrome(tag)
    ]
    if candidates:
        # the innermost of the richest: entry-content inside article inside main
        richest = max(_paragraph_chars(tag) for tag in candidates)
        best = [tag for tag in candidates if _paragraph_chars(tag) >= 0.9 * richest]
        return min(best, key=lambda tag: len(list(tag.descendants)))
    return soup.body or soup


def _page_title(soup: BeautifulSoup) -> str:
    meta = soup.find("meta", attrs={"property": "og:title"})
    if isinstance(meta, Tag) and meta.get("content"):
        return str(meta["content"]).strip()
    if soup.title and soup.title.string:
        return re.split(r"\s+[|–—-]\s+", soup.title.string.strip())[0]
    return ""


def read_html(text: str, fallback_title: str) -> Document:
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup.find_all(_NOISE_TAGS):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    page_title = _page_title(soup)
    chrome: list[str] = []
    bio = ""
    bio_box = soup.find(class_=_BIO_CLASS) or soup.find(id=_BIO_CLASS)
    if isinstance(bio_box, Tag):
        for heading in bio_box.find_all(re.compile(r"^h[1-6]$")):
            chrome.append(_text(heading))
            heading.decompose()
        bio = _text(bio_box)
        bio_box.decompose()

    container = _container(soup)
    # Everything beside the path from <body> to the container is site chrome.
    node: Tag = container
    while isinstance(node.parent, Tag) and node.name not in ("body", "[document]"):
        for sibling in list(node.parent.children):
            if sibling is not node and isinstance(sibling, Tag):
                _record(sibling, chrome)
        node = node.parent
    for tag in container.find_all(True):
        if not tag.decomposed and _is_chrome(tag):
            _record(tag, chrome)

    references: list[str] = []
    blocks: list[Block] = []
    _walk(container, blocks, references)
    blocks, references = take_reference_section(blocks, references)
    title = ""
    if blocks and isinstance(blocks[0], Heading) and blocks[0].level == 1:
        title, blocks = blocks[0].text, blocks[1:]
    else:
        first_h1 = next((b for b in blocks if isinstance(b, Heading) and b.level == 1), None)
        if first_h1 and sum(isinstance(b, Heading) and b.level == 1 for b in blocks) == 1:
            title = first_h1.text
            blocks = [b for b in blocks if b is not first_h1]
    doc = Document(
        title=title or escape_text(page_title) or fallback_title,
        blocks=blocks,
        references=references,
        bio=bio,
        chrome=chrome,
        source_format="html",
    )
    return shape(doc)


def _walk(element: Tag, blocks: list[Block], references: list[str]) -> None:
    loose: list[str] = []  # text sitting directly in a <div>

    def flush() -> None:
        text = _SPACE.sub(" ", "".join(loose)).strip()
        if text:
            blocks.append(Paragraph(text, element.sourceline))
        loose.clear()

    for child in element.children:
        if isinstance(child, NavigableString):
            loose.append(escape_text(str(child)))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name in ("a", "strong", "b", "em", "i", "span", "code", "sup", "br", "small", "mark"):
            loose.append(_inline(child))
            continue
        flush()
        line = child.sourceline
        if _FOOTNOTES_CLASS.match(_classes(child).strip()) and child.find("li"):
            references.extend(_reference_text(li) for li in child.find_all("li"))
        elif re.fullmatch(r"h[1-6]", name):
            text = _clean(_inline(child))
            if text:
                blocks.append(Heading(int(name[1]), text, line))
        elif name == "p":
            for image in child.find_all("img"):
                blocks.append(_figure(image, line))
            text = _clean(_inline(child))
            if text:
                blocks.append(Paragraph(text, line))
        elif name in ("ul", "ol"):
            items = tuple(_clean(_inline(li)) for li in child.find_all("li", recursive=False))
            if any(items):
                blocks.append(ListBlock(tuple(i for i in items if i), name == "ol", line))
        elif name == "blockquote":
            text = _clean(" ".join(_inline(p) for p in child.find_all("p")) or _inline(child))
            lead = _CALLOUT_LEAD.match(text)
            blocks.append(Callout(lead.group(1) if lead else "", text[lead.end() :] if lead else text, line))
        elif name == "figure":
            media = child.find(["img", "iframe", "video", "embed"])
            caption = child.find("figcaption")
            figure = _figure(media, line) if isinstance(media, Tag) else Figure("", line=line)
            if isinstance(caption, Tag):
                figure = Figure(_clean(_inline(caption)), figure.src, figure.kind, line)
            blocks.append(figure)
        elif name in ("img", "iframe", "video", "embed"):
            blocks.append(_figure(child, line))
        elif name == "pre":
            blocks.append(Paragraph(f"```\n{child.get_text().strip(chr(10))}\n```", line))
        elif name in ("hr", "table"):
            continue  # rules carry no text; tables do not survive email clients well
        else:
            _walk(child, blocks, references)
    flush()


def _figure(tag: Tag, line: int | None) -> Figure:
    kind = "image" if tag.name == "img" else "video"
    caption = str(tag.get("alt") or tag.get("title") or "").strip()
    src = str(tag.get("src") or "") or None
    return Figure(escape_text(caption), src, kind, line)  # type: ignore[arg-type]


def _reference_text(li: Tag) -> str:
    for backlink in li.find_all("a", href=re.compile(r"^#")):
        if not _text(backlink) or _text(backlink) in ("↩", "^", "↑", "back"):
            backlink.decompose()
    return _SPACE.sub(" ", li.get_text(" ", strip=True)).replace(" ↩", "").strip()


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _inline(tag: Tag) -> str:
    """Inline HTML to inline Markdown."""
    parts: list[str] = []
    for child in tag.children:
        if isinstance(child, NavigableString):
            parts.append(escape_text(_SPACE.sub(" ", str(child))))
            continue
        if not isinstance(child, Tag) or child.name in ("img", "ul", "ol"):
            if isinstance(child, Tag) and child.name in ("ul", "ol"):
                parts.append(" " + "; ".join(_clean(_inline(li)) for li in child.find_all("li")))
            continue
        inner = _inline(child)
        text = _clean(inner)
        name = child.name
        href = str(child.get("href") or "")
        marker = _MARKER_TEXT.match(_text(child))
        if (name == "sup" and marker) or (name == "a" and marker and href.startswith("#")):
            parts.append(f"[^{marker.group(1)}]")
        elif name == "a" and href.startswith(("http://", "https://", "mailto:")) and text:
            parts.append(_wrap(inner, "[", f"]({href})"))
        elif name in ("strong", "b") and text:
            parts.append(_wrap(inner, "**", "**"))
        elif name in ("em", "i") and text:
            parts.append(_wrap(inner, "*", "*"))
        elif name == "code" and text:
            parts.append(f"`{child.get_text()}`")
        elif name == "br":
            parts.append(" ")
        else:
            parts.append(inner)
    return "".join(parts)


def _wrap(inner: str, left: str, right: str) -> str:
    """Wrap keeping edge spaces outside the markup ("** x**" is not bold)."""
    core = inner.strip()
    lead = " " if inner[:1].isspace() else ""
    trail = " " if inner[-1:].isspace() else ""
    return f"{lead}{left}{core}{right}{trail}"
