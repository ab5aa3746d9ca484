"""Article bytes to text: legacy encodings detected, declared, forced, or refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from sender.content import ContentError, read_article
from sender.content.decoding import decode_text

CZECH = """Jak správně dýchat při cvičení

Dýchání je základ každého tréninku. Většina začátečníků zadržuje dech ve chvíli, kdy zvedá
těžké břemeno, a pak se diví, že se jim točí hlava.

Proč na dechu záleží

Když vydechujete při námaze, břišní svaly drží páteř pevně a srdce nemusí pracovat tolik.
Nádech patří do fáze, kdy se tělo vrací do výchozí polohy. Zkuste to nejprve s lehkou činkou.
"""
POLISH = """Jak prawidłowo oddychać podczas ćwiczeń

Oddech jest podstawą każdego treningu. Większość początkujących wstrzymuje powietrze w chwili,
gdy podnosi ciężar, a potem dziwi się, że kręci im się w głowie.

Dlaczego oddech ma znaczenie

Kiedy wydychasz powietrze przy wysiłku, mięśnie brzucha mocno trzymają kręgosłup, a serce nie
musi pracować tak ciężko. Spróbuj najpierw z lekkim hantlem, żeby zapamiętać ruch.
"""
RUSSIAN = """Как правильно дышать во время упражнений

Дыхание - основа любой тренировки. Большинство новичков задерживают дыхание в тот момент,
когда поднимают тяжёлый вес, а потом удивляются, что у них кружится голова.

Почему дыхание важно

Когда вы выдыхаете во время усилия, мышцы живота крепко держат позвоночник, и сердцу не
приходится работать так тяжело. Сначала попробуйте с лёгкой гантелью.
"""
GERMAN = """Richtig atmen beim Training

Die Atmung ist die Grundlage jedes Trainings. Die meisten Anfänger halten die Luft an, wenn
sie ein schweres Gewicht heben – und wundern sich dann, dass ihnen schwindlig wird.

Warum die Atmung zählt

Wenn Sie bei der Anstrengung ausatmen, halten die Bauchmuskeln die Wirbelsäule fest. Üben Sie
zuerst mit einer leichten Hantel, so merken Sie sich die „Bewegung“.
"""
JAPANESE = """運動中に正しく呼吸する方法

呼吸はすべてのトレーニングの基本です。ほとんどの初心者は重いものを持ち上げるときに息を止めてしまい、
そのあとでめまいがする理由を不思議に思います。

なぜ大切なのか

力を入れるときに息を吐くと、おなかの筋肉が背骨をしっかり支えます。まずは軽いダンベルで試しましょう。
"""
# Too short for any statistics: ISO-8859-2 and Windows-1250 read it equally well,
# with different letters (ą or ±, ś or ¶).
SHORT_POLISH = "Zażółć gęślą jaźń"


@pytest.mark.parametrize(
    ("text", "codec", "shown"),
    [
        (CZECH, "iso-8859-2", "ISO-8859-2"),
        (POLISH, "iso-8859-2", "ISO-8859-2"),
        (CZECH, "cp1250", "Windows-1250"),
        (RUSSIAN, "cp1251", "Windows-1251"),
        (RUSSIAN, "koi8-r", "KOI8-R"),
        (GERMAN, "cp1252", "Windows-1252"),
        (JAPANESE, "shift_jis", "CP932"),
    ],
)
def test_legacy_encoding_is_detected_and_named(text: str, codec: str, shown: str) -> None:
    decoded = decode_text(text.encode(codec), "article.txt")
    assert decoded.text == text
    assert decoded.encoding == shown
    assert decoded.how == "detected"
    assert decoded.note is not None and f"read as {shown}" in decoded.note


def test_iso_8859_2_file_reads_with_its_letters(tmp_path: Path) -> None:
    article = tmp_path / "dychani.txt"
    article.write_bytes(CZECH.encode("iso-8859-2"))
    doc = read_article(article)
    assert doc.title == "Jak správně dýchat při cvičení"


def test_utf8_and_bom_need_no_note() -> None:
    assert decode_text(POLISH.encode(), "a.txt").note is None
    assert decode_text(b"\xef\xbb\xbf" + POLISH.encode(), "a.txt").how == "bom"


def test_legacy_line_endings_are_normalised() -> None:
    decoded = decode_text(GERMAN.replace("\n", "\r\n").encode("cp1252"), "a.txt")
    assert decoded.text == GERMAN


def test_too_little_evidence_is_refused_with_the_file_name(tmp_path: Path) -> None:
    article = tmp_path / "krotki.txt"
    article.write_bytes(f"{SHORT_POLISH}\n\n{SHORT_POLISH}.\n".encode("iso-8859-2"))
    with pytest.raises(ContentError) as error:
        read_article(article)
    message = str(error.value)
    assert str(article) in message
    assert "unknown text encoding" in message
    assert "ISO-8859-2" in message and "Windows-1250" in message  # the encodings considered
    assert "save the article as UTF-8" in message and "--encoding" in message


def test_bytes_no_encoding_reads_as_text_are_refused(tmp_path: Path) -> None:
    article = tmp_path / "noise.txt"
    article.write_bytes(bytes(range(0x80, 0x100)) * 4)
    with pytest.raises(ContentError, match="unknown text encoding") as error:
        read_article(article)
    assert str(article) in str(error.value)


def test_file_mixing_utf8_and_a_legacy_encoding_is_refused() -> None:
    data = GERMAN.encode("utf-8") + b"\n" + GERMAN.encode("cp1252")
    with pytest.raises(ContentError, match=r"mixed\.txt: mixes text encodings: line 3 is UTF-8 but line 13"):
        decode_text(data, "mixed.txt")


def test_html_meta_charset_is_honoured() -> None:
    page = f'<html><head><meta charset="iso-8859-2"><title>{SHORT_POLISH}</title></head></html>'
    decoded = decode_text(page.encode("iso-8859-2"), "page.html")
    assert SHORT_POLISH in decoded.text
    assert (decoded.encoding, decoded.how) == ("ISO-8859-2", "declared")
    assert decoded.note == "read as ISO-8859-2 (declared)"


def test_http_equiv_content_type_is_honoured() -> None:
    page = (
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        "<h1>Привет</h1><p>Коротко.</p>"
    )
    decoded = decode_text(page.encode("cp1251"), "page.html")
    assert "Привет" in decoded.text and decoded.how == "declared"


def test_xml_declaration_is_honoured() -> None:
    page = '<?xml version="1.0" encoding="koi8-r"?><html><body><p>Привет, мир.</p></body></html>'
    decoded = decode_text(page.encode("koi8-r"), "page.xhtml")
    assert "Привет, мир." in decoded.text and decoded.encoding == "KOI8-R"


def test_declared_charset_the_bytes_contradict_is_ignored() -> None:
    page = f'<html><head><meta charset="utf-8"></head><body><pre>{RUSSIAN}</pre></body></html>'
    decoded = decode_text(page.encode("cp1251"), "page.html")
    assert RUSSIAN in decoded.text
    assert (decoded.encoding, decoded.how) == ("Windows-1251", "detected")


def test_declared_latin1_with_windows_quotes_reads_as_windows_1252() -> None:
    # What browsers do: pages that say ISO-8859-1 use Windows-1252's curly quotes.
    page = '<meta charset="iso-8859-1"><p>She said “breathe out” – twice.</p>'
    decoded = decode_text(page.encode("cp1252"), "page.html")
    assert "“breathe out” – twice" in decoded.text and decoded.encoding == "Windows-1252"


def test_server_charset_is_used_when_it_fits() -> None:
    data = SHORT_POLISH.encode("iso-8859-2")
    decoded = decode_text(data, "https://example.test/a", declared="ISO-8859-2")
    assert (decoded.text, decoded.how) == (SHORT_POLISH, "declared")


def test_server_charset_that_does_not_fit_is_ignored_with_a_note() -> None:
    decoded = decode_text(RUSSIAN.encode("koi8-r"), "https://example.test/a", declared="utf-8")
    assert decoded.text == RUSSIAN
    assert decoded.note is not None and decoded.note.startswith("the server said utf-8, but")


def test_forced_encoding_reads_what_detection_cannot_tell() -> None:
    data = SHORT_POLISH.encode("iso-8859-2")
    decoded = decode_text(data, "a.txt", encoding="iso-8859-2")
    assert (decoded.text, decoded.encoding, decoded.how, decoded.note) == (
        SHORT_POLISH,
        "ISO-8859-2",
        "forced",
        None,
    )


def test_forced_encoding_wins_over_detection() -> None:
    # Any byte is valid Latin-1, so forcing it reads ISO-8859-2 bytes as other letters: the user's call.
    decoded = decode_text(POLISH.encode("iso-8859-2"), "a.txt", encoding="latin-1")
    assert decoded.encoding == "ISO-8859-1" and "¿" in decoded.text


def test_forced_unknown_encoding_name_is_refused() -> None:
    with pytest.raises(ContentError, match=r"a\.txt: unknown encoding 'latin-two'"):
        decode_text(b"text", "a.txt", encoding="latin-two")


def test_forced_codec_that_is_not_a_charset_is_refused() -> None:
    with pytest.raises(ContentError, match="'base64' is not a text encoding"):
        decode_text(b"dGV4dA==", "a.txt", encoding="base64")


def test_forced_encoding_the_bytes_do_not_fit_names_the_line() -> None:
    data = RUSSIAN.encode("cp1251")
    with pytest.raises(ContentError, match=r"a\.txt: line 1: byte 0x\w\w is not valid utf-8"):
        decode_text(data, "a.txt", encoding="utf-8")


def test_forced_encoding_keeps_the_binary_refusal() -> None:
    with pytest.raises(ContentError, match="binary"):
        decode_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.txt", encoding="latin-1")
