"""Article readers: one module per input format, all producing a Document."""

from __future__ import annotations

from pathlib import Path

from sender.content.decoding import decode_article
from sender.content.document import Document
from sender.content.errors import ContentError
from sender.content.readers.html import read_html
from sender.content.readers.markdown import read_markdown
from sender.content.readers.plaintext import read_plaintext

FORMATS = {
    "text": ("text", "txt", "plain"),
    "markdown": ("markdown", "md"),
    "html": ("html", "htm"),
}
_EXTENSIONS = {
    ".txt": "text", ".text": "text",
    ".md": "markdown", ".markdown": "markdown", ".mdown": "markdown", ".mkd": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
}  # fmt: skip


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        for name, aliases in FORMATS.items():
            if fmt.lower() in aliases:
                return name
        raise ContentError(f"{path}: unknown format {fmt!r}; use text, markdown or html")
    try:
        return _EXTENSIONS[path.suffix.lower()]
    except KeyError:
        raise ContentError(
            f"{path}: cannot tell the format from the extension {path.suffix or '(none)'!r}; "
            "use --format text, markdown or html"
        ) from None


def fallback_title(path: Path) -> str:
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize() or "Untitled"


def read_article(path: Path, fmt: str | None = None) -> Document:
    """Read an article file into the document model (raises ContentError)."""
    kind = detect_format(path, fmt)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ContentError(f"{path}: cannot read the file: {exc.strerror}") from exc
    text = decode_article(data, path)
    read = {"markdown": read_markdown, "html": read_html, "text": read_plaintext}[kind]
    try:
        return read(text, fallback_title(path))
    except ContentError as exc:
        raise ContentError(f"{path}: {exc}") from exc
