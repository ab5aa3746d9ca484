"""Article readers: one module per input format, all producing a Document."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sender.content.decoding import decode_text
from sender.content.document import Document, block_texts
from sender.content.errors import ContentError
from sender.content.headlines import sentences, subject_from
from sender.content.inline import plain_text
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
SUFFIXES = {"text": ".txt", "markdown": ".md", "html": ".html"}


def format_name(fmt: str, where: str) -> str:
    for name, aliases in FORMATS.items():
        if fmt.lower() in aliases:
            return name
    raise ContentError(f"{where}: unknown format {fmt!r}; use text, markdown or html")


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        return format_name(fmt, str(path))
    try:
        return _EXTENSIONS[path.suffix.lower()]
    except KeyError:
        raise ContentError(
            f"{path}: cannot tell the format from the extension {path.suffix or '(none)'!r}; "
            "use --format text, markdown or html"
        ) from None


@dataclass(frozen=True)
class Source:
    """An article to read: the bytes of a local file or of a fetched page."""

    name: str  # the path or URL, for messages
    data: bytes
    fmt: str  # "text", "markdown" or "html"
    suffix: str  # of the copy kept in the campaign folder
    charset: str | None = None  # declared by the server, if any
    base_url: str = ""  # where it was fetched from
    encoding: str | None = None  # named by the user (--encoding): no detection

    @classmethod
    def from_file(cls, path: Path, fmt: str | None = None, encoding: str | None = None) -> Source:
        kind = detect_format(path, fmt)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ContentError(f"{path}: cannot read the file: {exc.strerror}") from exc
        return cls(str(path), data, kind, path.suffix.lower() or SUFFIXES[kind], encoding=encoding)


def read_source(source: Source, base_url: str = "") -> Document:
    """Decode and read an article into the document model (raises ContentError).

    ``base_url`` (the user's --base-url) is where the article lives when the
    article itself does not say; a fetched page's own address comes next."""
    decoded = decode_text(source.data, source.name, encoding=source.encoding, declared=source.charset)
    read = {"markdown": read_markdown, "html": read_html, "text": read_plaintext}[source.fmt]
    try:
        doc = read(decoded.text, base_url or source.base_url)
    except ContentError as exc:
        raise ContentError(f"{source.name}: {exc}") from exc
    if decoded.note:
        doc.notes.insert(0, decoded.note)
    if not doc.title:
        doc.title = _first_sentence(doc)
        doc.notes.append(
            f"no title found in the article; the course is named after its first sentence "
            f"({doc.title!r}); pass --title to name it"
        )
    doc.base_url = doc.base_url or base_url or source.base_url
    return doc


def _first_sentence(doc: Document) -> str:
    opening = next((text for block in doc.blocks for text in block_texts(block) if text.strip()), "")
    first = sentences(plain_text(opening))
    return subject_from(first[0]) if first else "Untitled"


def read_article(path: Path, fmt: str | None = None) -> Document:
    """Read an article file into the document model (raises ContentError)."""
    return read_source(Source.from_file(path, fmt))
