"""Footnotes in HTML pages: the note list and the markers that cite it.

Pages mark a footnote with a small link to the note (``<sup><a href="#fn3">
3</a></sup>``); the note links back to the marker. The note list is found
from those links (the elements they point at), or from the conventional
footnote containers that Markdown renderers and CMS plugins write
(``class="footnotes"``, ``role="doc-endnotes"``), whose entries may be list
items or paragraphs. Markers are then numbered by the note they point at,
so a page whose notes start at 22, or that has two note lists, still cites
the right text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, Tag

MARKER_TEXT = re.compile(r"^\[?(\d{1,3}|[a-z])\]?$")
_CONTAINER_CLASS = re.compile(r"^(?:footnotes?|references|endnotes|citations)$", re.I)
_CONTAINER_ROLE = re.compile(r"^doc-(?:endnotes|footnotes|bibliography)$")
_BACKLINK_TEXT = re.compile(r"^(?:↩\ufe0e?|\^|↑|⤴|back|return)?$", re.I)
_LEAD_NUMBER = re.compile(r"^\s*(?:\[\d{1,3}\]|\d{1,3}[.)]|\^)\s*")
_SPACE = re.compile(r"\s+")
_ENTRY_BLOCKS = ("li", "p", "div", "dd", "tr")
_MAX_NOTE_WORDS = 300


@dataclass
class Notes:
    """The page's notes: texts in order, and which element ids they own."""

    texts: list[str] = field(default_factory=list)
    by_id: dict[str, int] = field(default_factory=dict)  # element id -> 1-based note number

    def number_for(self, href: str) -> int | None:
        return self.by_id.get(href[1:]) if href.startswith("#") else None


def is_container(tag: Tag) -> bool:
    classes = " ".join(tag.get("class") or [])  # type: ignore[arg-type]
    return bool(
        any(_CONTAINER_CLASS.match(c) for c in classes.split())
        or _CONTAINER_ROLE.match(str(tag.get("role") or ""))
    )


def _marker_links(soup: BeautifulSoup) -> list[Tag]:
    links = []
    for link in soup.find_all("a", href=re.compile(r"^#.")):
        text = link.get_text(strip=True)
        in_sup = link.find_parent("sup") is not None or link.find("sup") is not None
        if MARKER_TEXT.match(text) and (in_sup or text.startswith("[")):
            links.append(link)
    return links


def _entry_of(target: Tag) -> Tag:
    node: Tag = target
    while node.name not in _ENTRY_BLOCKS and isinstance(node.parent, Tag) and node.parent.name != "body":
        node = node.parent
    return node


def _entries(container: Tag) -> list[Tag]:
    items = [li for li in container.find_all("li") if not _inside(li.find_parent("li"), container)]
    if items:
        return items
    # paragraphs (or divs) that hold no further blocks, one note each
    blocks = container.find_all(["p", "div"])
    return [p for p in blocks if p.get_text(strip=True) and not p.find(["p", "div"])]


def _inside(tag: Tag | None, container: Tag) -> bool:
    return tag is not None and container in tag.parents


def _looks_like_note(entry: Tag, marker_ids: set[str]) -> bool:
    """A short element that links back to a marker, or an item of a list."""
    if len(entry.get_text(" ", strip=True).split()) > _MAX_NOTE_WORDS:
        return False
    backlinks = (str(a["href"])[1:] for a in entry.find_all("a", href=re.compile(r"^#.")))
    return entry.name == "li" or any(target in marker_ids for target in backlinks)


def _text(entry: Tag, marker_ids: set[str]) -> str:
    for link in entry.find_all("a", href=re.compile(r"^#")):
        target = str(link["href"])[1:]
        if target in marker_ids or _BACKLINK_TEXT.match(link.get_text(strip=True)):
            link.decompose()  # links back to the citing markers
    # no separator: inline pieces join as the browser shows them ("Title". Site.)
    text = _SPACE.sub(" ", entry.get_text()).replace(" ↩", "").replace("↩", "").strip()
    return _LEAD_NUMBER.sub("", text).strip(" ^")


def take_notes(soup: BeautifulSoup) -> Notes:
    """Find the note lists, remove them from the page and return their notes."""
    links = _marker_links(soup)
    anchors: dict[str, Tag] = {}  # id or <a name> -> element, looked up once per marker
    for tag in soup.find_all(True, attrs={"name": True}):
        if tag.name == "a":
            anchors.setdefault(str(tag["name"]), tag)
    for tag in soup.find_all(id=True):
        anchors[str(tag["id"])] = tag
    marker_ids = {str(a.get("id")) for a in links if a.get("id")}
    marker_ids |= {str(s.get("id")) for a in links if (s := a.find_parent("sup")) and s.get("id")}
    containers = [tag for tag in soup.find_all(True) if is_container(tag)]
    entries: list[Tag] = []
    for container in containers:
        if not any(container in e.parents for e in entries):
            entries.extend(_entries(container))
    # Notes that markers point at, outside any conventional container.
    for link in links:
        target = anchors.get(str(link["href"])[1:])
        if target is None or target.find_parent("sup") or target in entries:
            continue
        entry = _entry_of(target)
        overlaps = any(entry in e.parents or e in entry.parents or e is entry for e in entries)
        if not overlaps and _looks_like_note(entry, marker_ids):
            entries.append(entry)
    notes = Notes()
    for entry in entries:
        ids = [str(entry.get(key)) for key in ("id", "name") if entry.get(key)]
        ids += [str(t["id"]) for t in entry.find_all(id=True)]
        ids += [str(t["name"]) for t in entry.find_all("a", attrs={"name": True})]
        text = _text(entry, marker_ids)
        if not text:
            continue
        notes.texts.append(text)
        for element_id in ids:
            notes.by_id.setdefault(element_id, len(notes.texts))
    for container in containers:
        if not container.decomposed:
            container.decompose()
    for entry in entries:
        if not entry.decomposed:
            entry.decompose()
    return notes
