"""Bytes of an article file to text, refusing what is not text.

Accepted encodings, tried in this order:
1. UTF-8 with or without a BOM, and UTF-16 / UTF-32 with a BOM;
2. Windows-1252, only when the bytes decode cleanly, contain no control
   characters, and at most 10% of the letters are non-ASCII. Western
   articles saved by older Windows tools are mostly ASCII; text in another
   legacy encoding (Shift-JIS, KOI8-R, ...) decodes to mostly non-ASCII
   mojibake and is refused instead of being silently garbled.
Anything else is an error that names the file.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from sender.content.errors import ContentError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f"}
_MAX_NON_ASCII_LETTERS = 0.10


def _has_controls(text: str) -> bool:
    return any((ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0) and ch not in _ALLOWED_CONTROLS for ch in text)


def decode_article(data: bytes, path: Path) -> str:
    """Return the text of ``data`` read from ``path`` or raise ContentError."""
    if not data.strip():
        raise ContentError(f"{path}: the file is empty")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise ContentError(f"{path}: starts with a {encoding} BOM but {exc.reason}") from exc
            return _checked(text, path)
    if b"\x00" in data[:8192]:
        raise ContentError(f"{path}: looks like a binary file, not an article (it contains NUL bytes)")
    try:
        return _checked(data.decode("utf-8"), path)
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = ""
    letters = [ch for ch in text if ch.isalpha()]
    non_ascii = sum(1 for ch in letters if ord(ch) > 127)
    if text and not _has_controls(text) and letters and non_ascii / len(letters) <= _MAX_NON_ASCII_LETTERS:
        return _checked(text, path)
    raise ContentError(
        f"{path}: unknown text encoding (not UTF-8, UTF-16 with a BOM, or Windows-1252); "
        "save the article as UTF-8 and try again"
    )


def _checked(text: str, path: Path) -> str:
    if _has_controls(text):
        raise ContentError(f"{path}: looks like a binary file, not an article (control characters)")
    if not text.strip():
        raise ContentError(f"{path}: the file is empty")
    return text.replace("\r\n", "\n").replace("\r", "\n")
