"""Reader for saved web pages (HTML).

A saved page is mostly not the article: navigation, sidebars, share
buttons, newsletter boxes, comments and footers surround it. The reader
takes the footnotes out first (``html_notes``), lets a main-content
extractor find the article and remove the chrome (``html_main``), then
converts the page's own markup to blocks with inline Markdown (links,
bold, italics, code) preserved; tables are handled by ``html_tables``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Comment, NavigableString, PageElement, Tag

from sender.content.document import (
    Block,
    Callout,
    Document,
    Figure,
    Heading,
    ListBlock,
    Paragraph,
    word_count,
)
from sender.content.inline import escape_text, plain_text
from sender.content.readers import html_tables
from sender.content.readers.html_main import CONTROL_TAGS, main_content, record
from sender.content.readers.html_media import (
    described_pictures,
    figure_of,
    image_of,
    media_src,
    picture_boxes,
    unwrap_noscript_images,
)
from sender.content.readers.html_notes import MARKER_TEXT, Notes, take_notes
from sender.content.readers.html_spacing import INLINE_TAGS, needs_space
from sender.content.structure import REFERENCE_HEADING, looks_like_citation, shape

_BIO_CLASS = re.compile(r"author[-_]?(?:bio|box|info|card|about)|about[-_]?(?:the[-_])?author", re.I)
_NOISE_TAGS = ["script", "style", "template", "svg", "link", "canvas", "object", "map", "head"]
_MEDIA_TAGS = ("img", "picture", "iframe", "video", "embed")
_CALLOUT_LEAD = re.compile(r"^(?:\*\*)?([A-Z][A-Z’' ]{1,24}[A-Z])(?::\*\*|\*\*:|:)\s*")
_SPACE = re.compile(r"\s+")
# A heading's own permalink ("¶", "#", "§") and wiki edit links ("[edit]") are page furniture.
_PERMALINK_TEXT = re.compile(r"^[¶#§🔗¤⚓]?$")
_UNLINKED_MARKER = re.compile("\ue002(\\d+)\ue003")
_TITLE_SEPARATORS = re.compile(r"\s+[|–—·:»-]\s+|\s+\[[^\]]+\]$")
_SITE_SUFFIX = re.compile(r"^(.*\S)\s+(?:[|–—·»-]\s+(.+)|\[([^\]]+)\])$")  # greedy: the last part
_MAX_SITE_NAME_WORDS = 5
_MIN_BODY_WORDS = 12  # a paragraph this long is article text, not a byline or a date


@dataclass
class _Context:
    notes: Notes
    base_url: str
    references: list[str] = field(default_factory=list)


def read_html(text: str, base_url: str = "") -> Document:
    """``base_url``: where the page was found, when it names no address of its own."""
    soup = BeautifulSoup(text, "html.parser")
    base_url = _base_url(soup) or base_url
    page_title = _page_title(soup)
    description = _page_description(soup)
    for tag in soup.find_all(_NOISE_TAGS):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    unwrap_noscript_images(soup)
    chrome: list[str] = []
    bio = _take_bio(soup, chrome)
    notes = take_notes(soup)
    # Content the extractors tend to drop: figures and their captions, data tables.
    keep = {id(tag) for tag in soup.find_all(["figure", "picture"]) + described_pictures(soup)}
    tables = [table for table in soup.find_all("table") if html_tables.is_data(table)]
    standfirst = _standfirst(soup, description)
    container, removed = main_content(soup, text, keep, tables, picture_boxes(soup), standfirst)
    chrome.extend(removed)
    for tag in container.find_all(CONTROL_TAGS):
        if not tag.decomposed:
            record(tag, chrome)

    context = _Context(notes, base_url, list(notes.texts))
    blocks: list[Block] = []
    _walk(container, blocks, context)
    blocks = _resolve_unlinked_markers(blocks, len(context.references))
    title, blocks = _take_title(blocks, page_title)
    doc = Document(
        title=title or escape_text(_without_site_name(page_title)),
        blocks=blocks,
        references=context.references,
        bio=bio,
        chrome=chrome,
        source_format="html",
        base_url=base_url,
    )
    return shape(doc)


# --------------------------------------------------------------------------- page metadata


def _base_url(soup: BeautifulSoup) -> str:
    """Where the page lives: <base href>, else the canonical URL, else og:url."""
    canonical = soup.find("link", rel="canonical", href=True)
    og_url = soup.find("meta", attrs={"property": "og:url", "content": True})
    page = str(canonical["href"]) if isinstance(canonical, Tag) else ""
    page = page or (str(og_url["content"]) if isinstance(og_url, Tag) else "")
    page = page if page.startswith(("http://", "https://")) else ""
    base = soup.find("base", href=True)
    if isinstance(base, Tag):
        href = str(base["href"]).strip()
        if href.startswith(("http://", "https://")) or page:
            return urljoin(page, href)
    return page.strip()


def _page_title(soup: BeautifulSoup) -> str:
    meta = soup.find("meta", attrs={"property": "og:title"})
    if isinstance(meta, Tag) and meta.get("content"):
        return _SPACE.sub(" ", str(meta["content"])).strip()
    if soup.title and soup.title.string:
        return _SPACE.sub(" ", soup.title.string).strip()
    return ""


def _page_description(soup: BeautifulSoup) -> str:
    for attrs in ({"property": "og:description"}, {"name": "description"}, {"name": "twitter:description"}):
        meta = soup.find("meta", attrs={**attrs, "content": True})
        if isinstance(meta, Tag):
            return _SPACE.sub(" ", str(meta["content"])).strip()
    return ""


def _standfirst(soup: BeautifulSoup, description: str) -> Tag | None:
    """The paragraph under the headline that the page gives as its description
    (a news story's dek). Extractors take it for header furniture, but it is
    the author's own summary, so it opens the article."""
    wanted = _normal(description)
    if len(wanted.split()) < _MIN_BODY_WORDS:
        return None  # a site name or a tag line, not a summary of the article
    for tag in soup.find_all(["p", "h2", "h3", "div"]):
        if tag.find_parent("a") is None and _normal(_text(tag)) == wanted:
            return tag
    return None


def _without_site_name(title: str) -> str:
    """ "Post title | Site name" -> "Post title" (one short trailing part only)."""
    match = _SITE_SUFFIX.match(title)
    if match and len((match.group(2) or match.group(3)).split()) <= _MAX_SITE_NAME_WORDS:
        return match.group(1)
    return title


def _normal(text: str) -> str:
    return " ".join(re.findall(r"\w+", plain_text(text).lower()))


def _same_title(heading: str, page_title: str) -> bool:
    """The page title is the heading, possibly with the site name around it."""
    wanted, page = _normal(heading), _normal(page_title)
    if not wanted or not page:
        return False
    if wanted == page:
        return True
    parts = [_normal(p) for p in _TITLE_SEPARATORS.split(page_title)]
    return wanted in parts or (len(wanted) >= 12 and (page.startswith(wanted) or page.endswith(wanted)))


def _take_title(blocks: list[Block], page_title: str) -> tuple[str, list[Block]]:
    headings = [b for b in blocks if isinstance(b, Heading)]
    if not headings:
        return "", blocks
    # Headings above the first real paragraph (bylines and dates are shorter).
    body_start = next(
        (i for i, b in enumerate(blocks) if isinstance(b, Paragraph | ListBlock | Callout)
         and word_count([b]) >= _MIN_BODY_WORDS),
        len(blocks),
    )  # fmt: skip
    leading = [b for b in blocks[:body_start] if isinstance(b, Heading)]
    # The article's own heading that the page's title names (twice when a
    # page header repeats it): the page title confirms it is the title.
    named = [h for h in leading if _same_title(h.text, page_title)]
    if named:
        return named[0].text, [b for b in blocks if not any(b is h for h in named)]
    # A leading heading that is the only one of the shallowest level is the
    # title: an h1 over h2 sections, or an h2 over h3 sections.
    first = headings[0]
    shallowest = min(h.level for h in headings)
    alone = sum(h.level == shallowest for h in headings) == 1
    if leading and first is leading[0] and first.level == shallowest and alone:
        return first.text, [b for b in blocks if b is not first]
    return "", blocks


def _take_bio(soup: BeautifulSoup, chrome: list[str]) -> str:
    bio_box = soup.find(class_=_BIO_CLASS) or soup.find(id=_BIO_CLASS)
    if not isinstance(bio_box, Tag):
        return ""
    for heading in bio_box.find_all(re.compile(r"^h[1-6]$")):
        chrome.append(_text(heading))
        heading.decompose()
    bio = _text(bio_box)
    bio_box.decompose()
    return bio


# --------------------------------------------------------------------------- blocks


def _text(tag: Tag) -> str:
    return _SPACE.sub(" ", tag.get_text(" ", strip=True)).strip()


def _is_inline(tag: Tag) -> bool:
    return tag.name in INLINE_TAGS and tag.find(_BLOCK_NAMES) is None


_BLOCK_NAMES = re.compile(
    r"^(?:p|div|h[1-6]|ul|ol|dl|table|pre|blockquote|figure|section|article|header|footer|aside|nav|main|hr)$"
)


def _walk(element: Tag, blocks: list[Block], context: _Context) -> None:
    loose: list[str] = []  # inline content sitting directly in a block container
    figures: list[Block] = []  # pictures found inside that inline content

    def flush() -> None:
        text = _clean("".join(loose))
        if text:
            blocks.append(Paragraph(text, element.sourceline))
        blocks.extend(figures)
        loose.clear()
        figures.clear()

    previous: PageElement | None = None  # the node before, in the same run of loose content
    for child in element.children:
        if isinstance(child, NavigableString | Tag) and needs_space(previous, child):
            loose.append(" ")
        if isinstance(child, NavigableString):
            loose.append(escape_text(_SPACE.sub(" ", str(child))))
            previous = child
            continue
        if not isinstance(child, Tag):
            continue
        if _is_inline(child):
            figures.extend(f for f, _ in _inline_figures(child))
            loose.append(_inline_node(child, context))
            previous = child
            continue
        flush()
        previous = None
        _block(child, blocks, context)
    flush()


def _block(child: Tag, blocks: list[Block], context: _Context) -> None:
    name = child.name
    line = child.sourceline
    if re.fullmatch(r"h[1-6]", name):
        text = _heading_text(child, context)
        if text:
            if REFERENCE_HEADING.fullmatch(plain_text(text)) and _take_reference_list(child, context):
                return
            blocks.append(Heading(int(name[1]), text, line))
    elif name == "p":
        # pictures stay on their side of the text ("the photo below")
        pictures = _inline_figures(child)
        before = [f for f, media in pictures if not _text_before(media, child)]
        blocks.extend(before)
        text = _clean(_inline(child, context))
        if text:
            blocks.append(Paragraph(text, line))
        blocks.extend(f for f, media in pictures if f not in before)
    elif name in ("ul", "ol"):
        items: list[str] = []
        item_pictures: list[Figure] = []
        for li in child.find_all("li", recursive=False):
            item = _clean(_inline(li, context))
            if item:
                items.append(item)
            item_pictures.extend(f for f, _ in _inline_figures(li))
        if items:
            blocks.append(ListBlock(tuple(items), name == "ol", line))
        blocks.extend(item_pictures)
    elif name == "blockquote":
        _quote(child, blocks, context)
    elif name == "figure":
        _figure_block(child, blocks, context)
    elif name in _MEDIA_TAGS:
        if figure := image_of(child, line):
            blocks.append(figure)
    elif name == "pre":
        blocks.append(Paragraph(_code_block(child), line))
    elif name == "table":
        _table(child, blocks, context)
    elif name in ("hr", "br"):
        return  # rules carry no text
    else:
        _walk(child, blocks, context)


def _quote(quote: Tag, blocks: list[Block], context: _Context) -> None:
    """A quotation (or a boxed tip) as one Callout; lists inside it stay lists."""
    inner: list[Block] = []
    _walk(quote, inner, context)
    parts: list[str] = []
    multiline = False
    for block in inner:
        match block:
            case Paragraph(text=text) | Callout(text=text):
                parts.append(text)
                multiline = multiline or "\n" in text  # a code block
            case Heading(text=text):
                parts.append(f"**{text}**")
            case ListBlock(items=items, ordered=ordered):
                marks = [f"{i}." if ordered else "-" for i in range(1, len(items) + 1)]
                parts.append("\n".join(f"{mark} {item}" for mark, item in zip(marks, items, strict=True)))
                multiline = True
    # Plain paragraphs of a quote read as one; lists and code need their lines.
    text = "\n\n".join(parts) if multiline else _clean(" ".join(parts))
    if text:
        lead = _CALLOUT_LEAD.match(text)
        label = lead.group(1) if lead else ""
        blocks.append(Callout(label, text[lead.end() :] if lead else text, quote.sourceline))
    blocks.extend(b for b in inner if isinstance(b, Figure))


def _figure_block(figure: Tag, blocks: list[Block], context: _Context) -> None:
    found = figure_of(figure, figure.sourceline)
    caption_tag = figure.find("figcaption")
    caption = _clean(_inline(caption_tag, context)) if isinstance(caption_tag, Tag) else ""
    if found is None and figure.find(["pre", "table", "blockquote", "p", "ul", "ol"]):
        # a figure holding a code listing, a table or a quote: its content, then the caption
        if isinstance(caption_tag, Tag):
            caption_tag.extract()
        _walk(figure, blocks, context)
        if caption:
            blocks.append(Paragraph(f"*{caption}*" if "*" not in caption else caption, figure.sourceline))
        return
    if found is None:
        found = Figure("", line=figure.sourceline)  # the media is lost; the caption stays
    if caption:
        found = Figure(found.caption or caption, found.src, found.kind, found.line, legend=caption)
    if found.src or found.caption:
        blocks.append(found)


def _table(table: Tag, blocks: list[Block], context: _Context) -> None:
    if html_tables.is_layout(table):
        for cell in html_tables.layout_cells(table):
            _walk(cell, blocks, context)
        return
    text = html_tables.markdown_table(table, lambda cell: _cell_inline(cell, context))
    if text:
        blocks.append(Paragraph(text, table.sourceline))


def _take_reference_list(heading: Tag, context: _Context) -> bool:
    """A "References"/"Notes" heading directly over a list of citations: the
    list is the reference list (only the list: what follows it stays)."""
    following = heading.find_next_sibling(True)
    if not isinstance(following, Tag) or following.name not in ("ol", "ul"):
        return False
    items = following.find_all("li", recursive=False)
    texts = [_clean(li.get_text()) for li in items]
    cited = sum(looks_like_citation(t) or li.find("a", href=re.compile(r"^https?://")) is not None
                for t, li in zip(texts, items, strict=True))  # fmt: skip
    if not texts or cited * 2 < len(texts) or context.references:
        return False
    context.references.extend(t for t in texts if t)
    following.decompose()
    return True


def _resolve_unlinked_markers(blocks: list[Block], count: int) -> list[Block]:
    """``<sup>3</sup>`` is a footnote marker only when there is a note 3."""

    def fix(text: str) -> str:
        def marker(m: re.Match[str]) -> str:
            return f"[^{m.group(1)}]" if int(m.group(1)) <= count else m.group(1)

        return _UNLINKED_MARKER.sub(marker, text)

    out: list[Block] = []
    for block in blocks:
        match block:
            case Heading(text=text) | Paragraph(text=text) | Callout(text=text) if "\ue002" in text:
                out.append(_with_text(block, fix(text)))
            case ListBlock(items=items) if any("\ue002" in item for item in items):
                out.append(ListBlock(tuple(fix(i) for i in items), block.ordered, block.line))
            case _:
                out.append(block)
    return out


def _with_text(block: Heading | Paragraph | Callout, text: str) -> Block:
    if isinstance(block, Heading):
        return Heading(block.level, text, block.line)
    if isinstance(block, Callout):
        return Callout(block.label, text, block.line)
    return Paragraph(text, block.line)


# --------------------------------------------------------------------------- inline


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _code_block(pre: Tag) -> str:
    code = pre.get_text().strip("\n")
    fence = "```"
    while fence in code:
        fence += "`"
    return f"{fence}\n{code}\n{fence}"


def _heading_text(heading: Tag, context: _Context) -> str:
    for link in heading.find_all("a"):
        href = str(link.get("href") or "")
        if href.startswith("#") and _PERMALINK_TEXT.match(link.get_text(strip=True)):
            link.decompose()
    for group in heading.find_all(True):
        if not group.decomposed and group.find("a") and _is_link_group(group):
            group.decompose()
    return _clean(_inline(heading, context))


def _is_link_group(tag: Tag) -> bool:
    """ "[edit]", "[ edit | edit source ]": bracketed links, nothing else."""
    text = tag.get_text("", strip=True)
    if not (text.startswith("[") and text.endswith("]")):
        return False
    for link in tag.find_all("a"):
        text = text.replace(link.get_text("", strip=True), "", 1)
    return bool(re.fullmatch(r"[\[\]|·,\s]*", text))


def _inline_figures(tag: Tag) -> list[tuple[Figure, Tag]]:
    """Pictures inside a paragraph or list item (as blocks of their own), with their element."""
    found = [tag] if tag.name in _MEDIA_TAGS else tag.find_all(_MEDIA_TAGS)
    out: list[tuple[Figure, Tag]] = []
    for media in found:
        if media.name == "img" and media.find_parent("picture") is not None:
            continue  # the <picture> is the figure
        if figure := image_of(media, media.sourceline):
            out.append((figure, media))
    return out


def _text_before(media: Tag, paragraph: Tag) -> bool:
    for node in media.previous_elements:
        if node is paragraph:
            return False
        if isinstance(node, NavigableString) and node.strip():
            return True
    return False


def _url(href: str, context: _Context) -> str:
    href = href.strip()
    if href.startswith(("http://", "https://", "mailto:")):
        return href
    if context.base_url and href and not href.startswith(("#", "javascript:", "data:")):
        return urljoin(context.base_url, href)
    return ""


def _inline(tag: Tag, context: _Context) -> str:
    """The inline content of ``tag`` as inline Markdown (pictures left out)."""
    parts: list[str] = []
    previous: PageElement | None = None
    for child in tag.children:
        if needs_space(previous, child):
            parts.append(" ")
        if isinstance(child, NavigableString):
            parts.append(escape_text(_SPACE.sub(" ", str(child))))
        elif isinstance(child, Tag):
            parts.append(_inline_node(child, context))
        previous = child
    return "".join(parts)


def _inline_node(child: Tag, context: _Context) -> str:
    name = child.name
    if name in _MEDIA_TAGS or name in CONTROL_TAGS:
        return ""
    if name in ("ul", "ol"):
        return " " + "; ".join(_clean(_inline(li, context)) for li in child.find_all("li"))
    if name == "br":
        return " "
    href = str(child.get("href") or "")
    marker = MARKER_TEXT.match(child.get_text(strip=True))
    if marker and name in ("a", "sup"):
        link = child if name == "a" else child.find("a", href=True)
        number = context.notes.number_for(str(link.get("href") or "")) if isinstance(link, Tag) else None
        if number:
            return f"[^{number}]"
        if name == "sup" and marker.group(1).isdigit() and link is None:
            return f"\ue002{marker.group(1)}\ue003"
    inner = _inline(child, context)
    text = _clean(inner)
    if not text:
        return " " if inner else ""
    if name == "a" and (url := _url(href, context)):
        return _wrap(inner, "[", f"]({_link_target(url)})")
    if name in ("strong", "b"):
        return _wrap(inner, "**", "**")
    if name in ("em", "i", "cite", "dfn"):
        return _wrap(inner, "*", "*")
    if name in ("code", "kbd", "samp", "tt"):
        return _code_span(child.get_text())
    return inner


def _cell_inline(cell: Tag, context: _Context) -> str:
    """A table cell's inline Markdown; its pictures stay inline (an icon table
    without them says nothing)."""
    parts: list[str] = []
    for node in cell.descendants:
        if isinstance(node, Tag) and node.name == "img":
            src = media_src(node)
            url = _url(src, context) if src else ""
            alt = escape_text(_clean(str(node.get("alt") or "")))
            parts.append(f"![{alt}]({_link_target(url)})" if url else alt)
    return (_inline(cell, context) + " " + " ".join(parts)).strip()


def _code_span(code: str) -> str:
    code = _SPACE.sub(" ", code)
    ticks = "`"
    while ticks in code:
        ticks += "`"
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{ticks}{pad}{code}{pad}{ticks}"


def _link_target(url: str) -> str:
    # CommonMark link destinations may not hold spaces or unbalanced parentheses.
    if re.search(r"[\s<>]", url) or url.count("(") != url.count(")"):
        return "<" + url.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20") + ">"
    return url


def _wrap(inner: str, left: str, right: str) -> str:
    """Wrap keeping edge spaces outside the markup ("** x**" is not bold)."""
    core = inner.strip()
    lead = " " if inner[:1].isspace() else ""
    trail = " " if inner[-1:].isspace() else ""
    return f"{lead}{left}{core}{right}{trail}"
