"""Names on disk that several layers read: the send order of lesson files, and the
slug a file name is made from (lesson files from `drip split`, newsletter files from
the console), so one title gives one name whichever layer writes it."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

_NUMBER = re.compile(r"\d+")
_WORD = re.compile(r"[a-z0-9]+")


def lesson_order(path: Path) -> tuple[int, str]:
    """Send order: by the number the file name starts with ("9-" before "10-"), then by name."""
    number = _NUMBER.match(path.name)
    return (int(number.group()) if number else 0, path.name)


def slugify(text: str, limit: int = 48, fallback: str = "lesson") -> str:
    """`text` as a file-name slug: ASCII lowercase words joined by "-" ("Café Été news"
    is "cafe-ete-news"), at most `limit` characters, or `fallback` if no word is left.

    Accents are folded rather than dropped so a title in French or Portuguese still
    reads in its file name; apostrophes join ("don't" is "dont", not "don-t"); only
    whole words are kept, so a long title is never cut mid-word."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = ""
    for word in _WORD.findall(ascii_text.lower().replace("'", "")):
        if len(slug) + len(word) + 1 > limit:
            break
        slug = f"{slug}-{word}" if slug else word
    return slug or fallback
