"""Bad input: a clear error naming the file, and no campaign folder at all."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from sender.content import ContentError, read_article, split_article


def _split_fails(article: Path, tmp_path: Path, match: str) -> None:
    target = tmp_path / "campaigns" / "course"
    with pytest.raises(ContentError, match=match) as error:
        split_article(article, target)
    assert str(article) in str(error.value)
    assert not target.exists()
    leftovers = list(target.parent.iterdir()) if target.parent.exists() else []
    assert leftovers == [], f"partial output left behind: {leftovers}"


def test_empty_file(tmp_path: Path) -> None:
    article = tmp_path / "empty.txt"
    article.write_bytes(b"")
    _split_fails(article, tmp_path, "is empty")


def test_whitespace_only_file(tmp_path: Path) -> None:
    article = tmp_path / "blank.md"
    article.write_text("\n   \n\t\n")
    _split_fails(article, tmp_path, "is empty")


def test_binary_file(tmp_path: Path) -> None:
    article = tmp_path / "photo.txt"
    article.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    _split_fails(article, tmp_path, "binary")


def test_unknown_encoding(tmp_path: Path) -> None:
    # Too little text for any detector to tell ISO-8859-2 from its sibling code pages.
    article = tmp_path / "short.txt"
    article.write_bytes("Zażółć gęślą jaźń\n\nZażółć gęślą jaźń.".encode("iso-8859-2"))
    _split_fails(article, tmp_path, "unknown text encoding")


def test_only_site_chrome(tmp_path: Path) -> None:
    article = tmp_path / "chrome.txt"
    article.write_text("Richmond: 604.271.7181\nGet our latest advice straight to your email!\n")
    _split_fails(article, tmp_path, "no text left")


def test_unknown_extension(tmp_path: Path) -> None:
    article = tmp_path / "article.docx"
    article.write_text("Hello")
    _split_fails(article, tmp_path, "--format")


def test_unknown_format_option(tmp_path: Path) -> None:
    article = tmp_path / "article.txt"
    article.write_text("Hello")
    with pytest.raises(ContentError, match="unknown format 'pdf'"):
        read_article(article, "pdf")


@pytest.mark.parametrize(
    ("encoded", "why"),
    [
        (codecs.BOM_UTF8 + "Café culture\n\nA paragraph about café.".encode(), "UTF-8 with BOM"),
        ("Café culture\n\nA paragraph about café.".encode("utf-16"), "UTF-16 with BOM"),
        ("Café culture\n\nA paragraph about café – “quoted”.".encode("cp1252"), "Windows-1252"),
    ],
)
def test_accepted_encodings(tmp_path: Path, encoded: bytes, why: str) -> None:
    article = tmp_path / "cafe.txt"
    article.write_bytes(encoded)
    doc = read_article(article)
    assert doc.title == "Café culture", why
