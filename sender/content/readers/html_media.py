"""Pictures and videos in HTML pages, including lazy-loaded ones.

Lazy-loading pages put a placeholder in ``src`` (a data: URI, a 1-pixel GIF)
and the real address in ``data-src``, ``data-lazy-src`` or ``srcset``, or
repeat the real ``<img>`` inside ``<noscript>`` for browsers without
JavaScript. Addresses are kept as written, relative ones included: the
pipeline resolves them against ``Document.base_url``.
"""

from __future__ import annotations

import re
from typing import Literal

from bs4 import BeautifulSoup, Tag

from sender.content.document import Figure
from sender.content.inline import escape_text

_LAZY_ATTRS = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-url", "data-hi-res-src")
_SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset", "srcset")
_PLACEHOLDER_NAME = re.compile(
    r"(?:^|/)(?:blank|spacer|pixel|transparent|placeholder|1x1|empty)\.(?:gif|png)\b", re.I
)
_IMAGE_OBJECT = re.compile(r"schema\.org/ImageObject$", re.I)
_MAX_PLACEHOLDER_PX = 2
_MIN_PICTURE_WIDTH = 100  # narrower ones are icons and avatars
_MAX_CAPTION_WORDS = 40
_MAX_CAPTION_LINK_SHARE = 0.5


def _is_placeholder(src: str, img: Tag) -> bool:
    if not src or src.startswith("data:") or _PLACEHOLDER_NAME.search(src):
        return True
    sizes = [str(img.get(name) or "") for name in ("width", "height")]
    return all(size.isdigit() and int(size) <= _MAX_PLACEHOLDER_PX for size in sizes)


def _largest(srcset: str) -> str:
    """The widest candidate of a srcset ("a.jpg 600w, b.jpg 1200w" -> b.jpg)."""
    best, best_size = "", -1.0
    for candidate in srcset.split(","):
        parts = candidate.split()
        if not parts or parts[0].startswith("data:"):
            continue
        size = 1.0
        if len(parts) > 1 and (m := re.fullmatch(r"(\d+(?:\.\d+)?)[wx]", parts[1])):
            size = float(m.group(1))
        if size > best_size:
            best, best_size = parts[0], size
    return best


def media_src(tag: Tag) -> str:
    """The real address of an image or video element ("" when it has none)."""
    if tag.name == "picture":
        img = tag.find("img")
        src = media_src(img) if isinstance(img, Tag) else ""
        source = tag.find("source", srcset=True)
        return src or (_largest(str(source["srcset"])) if isinstance(source, Tag) else "")
    for name in _LAZY_ATTRS:
        value = str(tag.get(name) or "").strip()
        if value and not value.startswith("data:"):
            return value
    src = str(tag.get("src") or "").strip()
    if tag.name == "img" and _is_placeholder(src, tag):
        for name in _SRCSET_ATTRS:
            if value := _largest(str(tag.get(name) or "")):
                return value
        return ""
    if not src and tag.name == "video":
        source = tag.find("source", src=True)
        src = str(source["src"]).strip() if isinstance(source, Tag) else ""
    return src


def image_of(tag: Tag, line: int | None) -> Figure | None:
    """A Figure for an <img>, <picture>, <video>, <iframe> or <embed> with an address."""
    src = media_src(tag)
    if not src:
        return None
    img = tag.find("img") if tag.name == "picture" else tag
    caption = ""
    if isinstance(img, Tag):
        caption = str(img.get("alt") or img.get("title") or "").strip()
    kind: Literal["image", "video"] = "image" if tag.name in ("img", "picture") else "video"
    return Figure(escape_text(re.sub(r"\s+", " ", caption)), src, kind, line)


def figure_of(figure: Tag, line: int | None) -> Figure | None:
    """The media of a <figure> (without its caption), or None when it has none."""
    for media in figure.find_all(["picture", "img", "video", "iframe", "embed"]):
        if media.name == "img" and media.find_parent("picture") is not None:
            continue
        if found := image_of(media, line):
            return found
    # schema.org microdata: an ImageObject whose identifier is the picture's URL
    item_id = str(figure.get("itemid") or "")
    if _IMAGE_OBJECT.search(str(figure.get("itemtype") or "")) and item_id.startswith(
        ("http://", "https://")
    ):
        return Figure("", item_id, "image", line)
    return None


def unwrap_noscript_images(soup: BeautifulSoup) -> None:
    """Keep the real <img> a <noscript> holds, dropping the placeholder beside it;
    drop every other <noscript> ("please enable JavaScript", tracking pixels)."""
    for noscript in soup.find_all("noscript"):
        if noscript.decomposed:
            continue
        images = noscript.find_all("img")
        real = [img for img in images if not _is_placeholder(str(img.get("src") or ""), img)]
        if not real:
            noscript.decompose()
            continue
        ours = {id(img) for img in images}
        # The placeholder sits beside the <noscript> in the picture's own small box.
        holder = noscript.parent
        while isinstance(holder, Tag) and holder.name not in ("body", "html"):
            others = [img for img in holder.find_all("img") if id(img) not in ours]
            if others:
                small = len(holder.get_text(" ", strip=True).split()) <= _MAX_CAPTION_WORDS
                if small and len(others) <= 2 * len(real):
                    for img in others:
                        img.decompose()
                break
            if holder.name in ("figure", "picture"):
                break
            holder = holder.parent
        noscript.unwrap()


def described_pictures(soup: BeautifulSoup) -> list[Tag]:
    """Boxes of a picture and the caption its ``aria-describedby`` names
    (WordPress writes its captions so, without a <figure>)."""
    out: list[Tag] = []
    for img in soup.find_all("img", attrs={"aria-describedby": True}):
        caption = soup.find(id=str(img["aria-describedby"]).split()[0])
        box = img.parent
        while isinstance(caption, Tag) and isinstance(box, Tag) and caption not in box.descendants:
            box = box.parent
        found = isinstance(caption, Tag) and isinstance(box, Tag) and box.name not in ("body", "html")
        if found and isinstance(box, Tag) and len(box.find_all("img")) == 1:
            out.append(box)
    return out


def picture_boxes(soup: BeautifulSoup) -> list[Tag]:
    """Boxes of one sizeable picture and a short text that is not a link (a
    teaser for another page is all link): a picture with its caption."""
    out: list[Tag] = []
    for img in soup.find_all("img"):
        link = img.find_parent("a")
        if not _sizeable(img) or (link is not None and _linked_share(link) > 0):
            continue  # an icon, or a picture inside a link with text (a teaser)
        box: Tag = img
        while (
            isinstance(box.parent, Tag)
            and box.parent.name not in ("body", "html", "figure")
            and len(box.parent.find_all("img")) == 1
            and len(box.parent.get_text(" ", strip=True).split()) <= _MAX_CAPTION_WORDS
        ):
            box = box.parent
        if box is not img and _linked_share(box) < _MAX_CAPTION_LINK_SHARE:
            out.append(box)
    return out


def _sizeable(img: Tag) -> bool:
    """Not an icon or an avatar (judged by the width the page gives, if any)."""
    width = str(img.get("width") or "").removesuffix("px")
    return not width.isdigit() or int(width) >= _MIN_PICTURE_WIDTH


def _linked_share(box: Tag) -> float:
    words = len(box.get_text(" ", strip=True).split())
    linked = sum(len(a.get_text(" ", strip=True).split()) for a in box.find_all("a"))
    if box.name == "a":
        linked = words
    return linked / words if words else 0.0
