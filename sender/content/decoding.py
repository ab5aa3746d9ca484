"""Bytes of an article to text, refusing what is not text or cannot be read surely.

Order, from certain to guessed:
1. an encoding the user names (``encoding=``) is used as given;
2. a byte-order mark (UTF-8, UTF-16, UTF-32);
3. valid UTF-8 (legacy text with accented letters is practically never valid UTF-8);
   a file whose accented lines are partly UTF-8 and partly not is refused;
4. a charset the server declared (HTTP ``Content-Type``), when the bytes decode under it;
5. chardet, which honours an HTML ``<meta charset>`` / XML declaration that decodes the
   whole file, and otherwise guesses from byte and letter statistics. A guess is used
   when its confidence is above chardet's own noise floor (``MINIMUM_THRESHOLD``) and
   no reading that gives other letters scores the same; chardet lowers confidence for
   short samples, so a few accented words are not taken as evidence;
6. Windows-1252 for mostly-ASCII Western text too short for a sure guess, as before,
   but only when chardet's likeliest reading is that same text.
Anything else is refused, naming the likeliest encodings and what to do.

chardet 7 rather than charset-normalizer: on ISO-8859-2 Central European text and on
Latin-1 / Windows-1252 Western text charset-normalizer's best guess is often a sibling
code page that decodes to other letters (Windows-1250 for ISO-8859-2 Czech, for example).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import chardet
from chardet.pipeline import DETERMINISTIC_CONFIDENCE

from sender.content.errors import ContentError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# C0 controls other than tab, newlines and form feed, DEL, and C1 controls: text
# editors do not write them, so they mean binary data or a wrong codec.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_MAX_NON_ASCII_LETTERS = 0.10
# Where an ISO code page has C1 controls its Windows sibling has printable characters
# (curly quotes, dashes); text labelled with the ISO name is really in the Windows
# one, which is how the WHATWG Encoding Standard (and so every browser) reads it.
_WINDOWS_SUPERSET = {
    "ascii": "cp1252",
    "iso8859_1": "cp1252",
    "iso8859_9": "cp1254",
    "iso8859_11": "cp874",
    "tis_620": "cp874",
}
_DISPLAY_NAMES = {"utf_8": "UTF-8", "utf_8_sig": "UTF-8", "utf_16": "UTF-16", "utf_32": "UTF-32"}
_CANDIDATES_SHOWN = 4
_MARKUP_TYPES = {"text/html", "text/xml"}  # chardet's mime_type when a declaration decided

How = Literal["forced", "bom", "utf-8", "declared", "detected"]


@dataclass(frozen=True)
class DecodedText:
    """An article's text and how its encoding was found."""

    text: str  # newlines normalised to "\n"
    encoding: str  # e.g. "UTF-8", "ISO-8859-2", "Windows-1252"
    how: How
    declared_but_wrong: str | None = None  # a server charset the bytes did not decode under

    @property
    def note(self) -> str | None:
        """A line for the user when the text was not UTF-8 or named by them, else None."""
        if self.how == "declared":
            return f"read as {self.encoding} (declared)"
        if self.how != "detected":
            return None
        server = (
            f"the server said {self.declared_but_wrong}, but the page is not in it; "
            if self.declared_but_wrong
            else ""
        )
        return (
            f"{server}read as {self.encoding} (detected); if letters look wrong, save the article "
            "as UTF-8 or name its encoding with --encoding"
        )


def decode_text(
    data: bytes,
    source: Path | str,
    *,
    encoding: str | None = None,
    declared: str | None = None,
) -> DecodedText:
    """Decode an article's bytes or raise ContentError naming ``source`` (a path or URL).

    ``encoding`` forces a codec (the user's choice); ``declared`` is a charset the
    transport gave (HTTP Content-Type), used when the bytes decode cleanly under it.
    """
    if not data.strip():
        raise ContentError(f"{source}: the file is empty")
    if encoding is not None:
        return _forced(data, source, encoding)
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                raise ContentError(f"{source}: starts with a {_display(codec)} BOM but {exc.reason}") from exc
            return DecodedText(_checked(text, source), _display(codec), "bom")
    if b"\x00" in data[:8192]:
        raise ContentError(f"{source}: looks like a binary file, not an article (it contains NUL bytes)")
    try:
        return DecodedText(_checked(data.decode("utf-8"), source), "UTF-8", "utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    mixed = _mixed_lines(data)
    if mixed:
        raise ContentError(
            f"{source}: mixes text encodings: line {mixed[0]} is UTF-8 but line {mixed[1]} is not; "
            "save the whole article as UTF-8, or name its encoding with --encoding"
        )
    if declared:
        found = _decode_as(data, declared)
        if found is not None:
            return DecodedText(_checked(found[0], source), found[1], "declared")
    detected = _detected(data, source, utf8_error)
    if declared:
        return DecodedText(detected.text, detected.encoding, detected.how, declared_but_wrong=declared)
    return detected


def _mixed_lines(data: bytes) -> tuple[int, int] | None:
    """(a UTF-8 line, a non-UTF-8 line) when lines with non-ASCII bytes are of both kinds.

    A legacy-encoded line with accented letters is practically never valid UTF-8, so
    such a file was pasted together from two sources, and any one codec garbles part.
    """
    utf8_line = other_line = 0
    for number, line in enumerate(data.split(b"\n"), 1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            other_line = other_line or number
        else:
            utf8_line = utf8_line or number
        if utf8_line and other_line:
            return utf8_line, other_line
    return None


def _forced(data: bytes, source: Path | str, name: str) -> DecodedText:
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ContentError(
            f"{source}: unknown encoding {name!r}; use a name such as utf-8, iso-8859-2, "
            "windows-1251, koi8-r or shift_jis"
        ) from None
    if not getattr(info, "_is_text_encoding", True):  # base64, zlib, rot13: byte codecs, not charsets
        raise ContentError(f"{source}: {name!r} is not a text encoding")
    try:
        text = data.decode(info.name)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ContentError(
            f"{source}: line {line}: byte 0x{data[exc.start]:02x} is not valid {name}; "
            "the article is in another encoding"
        ) from exc
    return DecodedText(_checked(text.removeprefix("\ufeff"), source), _display(info.name), "forced")


def _decode_as(data: bytes, label: str) -> tuple[str, str] | None:
    """(text, display name) when ``data`` decodes under ``label`` without controls, else None."""
    try:
        codec = codecs.lookup(label).name.replace("-", "_")
    except LookupError:
        return None
    for name in (codec, _WINDOWS_SUPERSET.get(codec)):
        if name is None:
            continue
        try:
            text = data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
        if not _CONTROLS.search(text):
            return text, _display(name)
    return None


def _detected(data: bytes, source: Path | str, utf8_error: UnicodeDecodeError) -> DecodedText:
    # The whole file is examined, so chardet validates its answers over every byte.
    results = chardet.detect_all(data, ignore_threshold=True, max_bytes=len(data))
    top = results[0] if results else None
    if top and top["encoding"] and top["confidence"] == DETERMINISTIC_CONFIDENCE:
        declared = _decode_as(data, top["encoding"]) if top["mime_type"] in _MARKUP_TYPES else None
        if declared is not None:
            return DecodedText(_checked(declared[0], source), declared[1], "declared")
    readings = _readings(data, results)
    if readings:
        (text, name, confidence), rivals = readings[0], readings[1:]
        # A tie with a reading that gives other letters: chardet cannot tell them apart.
        tied = any(other[2] >= confidence for other in rivals)
        if confidence > chardet.MINIMUM_THRESHOLD and not tied:
            return DecodedText(_checked(text, source), name, "detected")
        western = _decode_as(data, "cp1252")
        if western is not None and western[0] == text and not tied:
            letters = [ch for ch in text if ch.isalpha()]
            non_ascii = sum(1 for ch in letters if not ch.isascii())
            if letters and non_ascii / len(letters) <= _MAX_NON_ASCII_LETTERS:
                return DecodedText(_checked(text, source), "Windows-1252", "detected")
    line = data[: utf8_error.start].count(b"\n") + 1
    likeliest = ", ".join(name for _, name, _ in readings[:_CANDIDATES_SHOWN]) or "none"
    raise ContentError(
        f"{source}: unknown text encoding: line {line} is not UTF-8, and the encoding cannot be "
        f"told for sure (likeliest: {likeliest}); save the article as UTF-8, "
        "or name its encoding with --encoding"
    )


def _readings(data: bytes, results: list[chardet.DetectionDict]) -> list[tuple[str, str, float]]:
    """(text, encoding, confidence) per distinct text, likeliest first, for codecs that decode it."""
    seen: set[str] = set()
    out: list[tuple[str, str, float]] = []
    for result in results:
        if len(out) >= _CANDIDATES_SHOWN and result["confidence"] < out[0][2]:
            break  # enough to decide and to list; each decode of a big file costs
        read = _decode_as(data, result["encoding"]) if result["encoding"] else None
        if read is not None and read[0] not in seen:
            seen.add(read[0])
            out.append((read[0], read[1], result["confidence"]))
    return out


def _display(codec: str) -> str:
    """A name people recognise: ISO-8859-2, Windows-1251, KOI8-R, SHIFT-JIS."""
    name = codecs.lookup(codec).name.replace("-", "_")
    if name in _DISPLAY_NAMES:
        return _DISPLAY_NAMES[name]
    if name.startswith("iso8859_"):
        return "ISO-8859-" + name.removeprefix("iso8859_")
    if re.fullmatch(r"cp12\d\d", name):
        return "Windows-" + name.removeprefix("cp")
    return name.replace("_", "-").upper()


def _checked(text: str, source: Path | str) -> str:
    if _CONTROLS.search(text):
        raise ContentError(f"{source}: looks like a binary file, not an article (control characters)")
    if not text.strip():
        raise ContentError(f"{source}: the file is empty")
    return text.replace("\r\n", "\n").replace("\r", "\n")
