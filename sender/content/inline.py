"""Small helpers for inline Markdown text: escaping plain text, and the
reverse (plain text out of Markdown) used for subjects, preheaders and lint.
"""

from __future__ import annotations

import re

from sender.content.document import FOOTNOTE_MARKER

_JINJA = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})")
_SPECIAL = re.compile(r"([\\`*_\[\]<])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])(?=\s|$)")
# The private-use sentinel lets readers mark footnotes before escaping.
FOOTNOTE_SENTINEL = re.compile("\ue000(\\d+)\ue001")


def footnote_sentinel(number: int) -> str:
    return f"\ue000{number}\ue001"


def escape_text(text: str) -> str:
    """Escape plain text so CommonMark shows it literally.

    Jinja spans (``{{ ... }}``) typed by staff are left untouched, and
    footnote sentinels become ``[^N]`` markers after escaping.
    """
    parts = _JINJA.split(text)
    for i in range(0, len(parts), 2):  # even items are outside Jinja spans
        escaped = _SPECIAL.sub(r"\\\1", parts[i])
        parts[i] = _ENTITY.sub(r"\\&", escaped)
    out = "".join(parts)
    out = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), out)
    return FOOTNOTE_SENTINEL.sub(lambda m: f"[^{m.group(1)}]", out)


_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")
_CODE = re.compile(r"`([^`]*)`")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>&|])")
_LOCAL_MARKER = re.compile(r"\[\d+\]")


def plain_text(markdown: str) -> str:
    """Markdown inline text to plain text (markers and markup removed)."""
    text = FOOTNOTE_MARKER.sub("", markdown)
    text = _LOCAL_MARKER.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _ESCAPE.sub(r"\1", text)
    return re.sub(r"\s+", " ", text).strip()
