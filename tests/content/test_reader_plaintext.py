"""The plain-text reader, one behaviour per test, each on a small article of its own."""

from __future__ import annotations

from pathlib import Path

from sender.content import split_article
from sender.content.document import Document, Figure, Heading, ListBlock, Paragraph
from sender.content.inline import plain_text
from sender.content.readers.plaintext import read_plaintext

PROSE = "Some words of running text that go on for a while, so that this reads like a paragraph."
WRAPPED = (
    "Running text in this article is wrapped at seventy columns, the way\n"
    "plain-text documents and e-texts are, so a heading is the short line.\n"
)


def read(text: str) -> Document:
    return read_plaintext(text, "File name")


def headings(doc: Document) -> list[tuple[int, str]]:
    return [(b.level, plain_text(b.text)) for b in doc.blocks if isinstance(b, Heading)]


def emailed(doc: Document) -> str:
    """Everything that can reach a lesson: title, block texts, references."""
    parts = [doc.title, *doc.references]
    for block in doc.blocks:
        if isinstance(block, Heading | Paragraph):
            parts.append(block.text)
        elif isinstance(block, ListBlock):
            parts.extend(block.items)
    return "\n".join(parts)


def test_heading_directly_above_its_paragraph() -> None:
    # a copied web page: one line a paragraph, no blank line under the heading
    doc = read(f"How to Squat\n\n{PROSE}\n\nWarm up first\n{PROSE}\n\nBrace your core\n{PROSE}\n")
    assert headings(doc) == [(1, "Warm up first"), (1, "Brace your core")]
    # hard-wrapped text
    doc = read(f"How to Squat\n\n{WRAPPED}\nWarm up first\n{WRAPPED}\nBrace your core\n{WRAPPED}")
    assert headings(doc) == [(1, "Warm up first"), (1, "Brace your core")]


def test_sub_heading_is_not_glued_into_the_paragraph_under_it() -> None:
    doc = read(
        "How to Squat\n\n" + WRAPPED + "\nWarm up first\n"
        "Before any heavy set, spend five minutes on light movement so that\n"
        "your joints are ready for the load, then start with the empty bar.\n"
    )
    paragraphs = [b.text for b in doc.blocks if isinstance(b, Paragraph)]
    assert "Warm up first" in [text for _, text in headings(doc)]
    assert paragraphs[-1].startswith("Before any heavy set, spend five minutes")


def test_numbered_heading_over_a_paragraph_is_a_heading_not_a_list() -> None:
    doc = read(
        f"Framing Your Photos\n\n{PROSE}\n\n"
        "0. Definitions.\nA frame is the border of the picture, whatever the camera shows.\n\n"
        "3. Choosing a Frame\nPick the frame that leaves room around the subject.\n\n"
        "4.1. Sub part\nKeep the horizon in the upper or the lower third.\n"
    )
    assert headings(doc) == [(1, "Definitions"), (1, "Choosing a Frame"), (2, "Sub part")]
    assert not any(isinstance(b, ListBlock) for b in doc.blocks)


def test_short_numbered_lines_in_a_row_stay_a_list() -> None:
    doc = read(
        f"Packing for a Trip\n\n{PROSE}\n\n1. A spare battery\n2. A cleaning cloth\n3. A tripod\n\n{PROSE}\n"
    )
    lists = [b for b in doc.blocks if isinstance(b, ListBlock)]
    assert [(lst.ordered, lst.items) for lst in lists] == [
        (True, ("A spare battery", "A cleaning cloth", "A tripod"))
    ]
    # one item per paragraph, numbers in sequence: still one list
    doc = read(
        f"Packing for a Trip\n\n{PROSE}\n\n"
        f"1. A spare battery\n\n2. A cleaning cloth\n\n3. A tripod\n\n{PROSE}\n"
    )
    assert headings(doc) == []
    assert [b.items for b in doc.blocks if isinstance(b, ListBlock)] == [
        ("A spare battery", "A cleaning cloth", "A tripod")
    ]


def test_rst_headings_take_their_levels_from_the_order_of_underline_styles() -> None:
    doc = read(
        "=================\n Tidy Desk Guide\n=================\n\n"
        f"Why bother\n~~~~~~~~~~\n\n{PROSE}\n\nThe first pass\n==============\n\n{PROSE}\n\n"
        f"Small boxes\n-----------\n\n{PROSE}\n\nKeeping it\n~~~~~~~~~~\n\n{PROSE}\n"
    )
    assert doc.title == "Tidy Desk Guide"  # overlined and used once: the document title
    assert headings(doc) == [(1, "Why bother"), (2, "The first pass"), (3, "Small boxes"), (1, "Keeping it")]
    assert "===" not in emailed(doc) and "~~~" not in emailed(doc)


def test_rst_document_has_no_headings_but_its_underlined_ones() -> None:
    doc = read(f"Tidy\n====\n\n{PROSE}\n\n*[Based on an older note]*\n\n{PROSE}\n\nMore\n====\n\n{PROSE}\n")
    assert [text for _, text in headings(doc)] == ["Tidy", "More"]
    assert "*\\[Based on an older note\\]*" in emailed(doc)


def test_tagged_headings_like_vim_help() -> None:
    doc = read(
        "*usr_99.txt*\tFor Vim version 9.0.\n\n\t\t\tTidy editing\n\n"
        f"{PROSE}\n\n{'=' * 78}\n*99.1*\tOpening files\n\n{PROSE}\n\n"
        f"{'=' * 78}\n*99.2*\tClosing files\n\n{PROSE}\n"
    )
    assert headings(doc) == [(1, "Opening files"), (1, "Closing files")]
    assert doc.title == "Tidy editing"


def test_all_caps_and_tab_indented_chapter_headings() -> None:
    caps = read(f"A BOOK OF ORDER\n\n\nTHE FIRST RULE\n\n\n{WRAPPED}\n\nTHE SECOND RULE\n\n\n{WRAPPED}")
    assert caps.title == "A BOOK OF ORDER"
    assert headings(caps) == [(1, "THE FIRST RULE"), (1, "THE SECOND RULE")]
    chapters = read(
        f"\t\tTidy coding style\n\n{WRAPPED}\n\t\tChapter 1: Indentation\n\n{WRAPPED}\n"
        f"\t\tChapter 2: Naming\n\n{WRAPPED}\n\t3.1:  Short names\n\n{WRAPPED}"
    )
    assert chapters.title == "Tidy coding style"
    assert headings(chapters) == [(1, "Chapter 1: Indentation"), (1, "Chapter 2: Naming"), (2, "Short names")]


def test_heading_after_a_picture_caption_does_not_crash() -> None:
    pointer = "The photo below shows the bed after a week of rain and sun, when it looks best."
    water = "Water in the morning so the leaves dry before the evening comes round again."
    for gap in ("\n\n", "\n"):
        doc = read(f"Garden Notes\n\n{pointer}\n\nRaised bed in June{gap}Watering Schedule\n\n{water}\n")
        assert [b.caption for b in doc.blocks if isinstance(b, Figure)] == ["Raised bed in June"]
        assert headings(doc) == [(1, "Watering Schedule")]


def test_title_is_the_line_above_the_text_not_the_site_menu_or_subtitle() -> None:
    doc = read(
        "Jane Doe\nAbout\nSubscribe\n21 September 2020\nDesks\n"
        "Keeping a Tidy Desk in Ten Minutes\nSmall Habits That Add Up Over Weeks\n\n"
        f"{PROSE}\n\nClear the surface\n\n{PROSE}\n"
    )
    assert doc.title == "Keeping a Tidy Desk in Ten Minutes"
    assert "Jane Doe" in doc.chrome and "About" in doc.chrome
    assert "Jane Doe" not in emailed(doc) and "Desks\n" not in emailed(doc)
    assert "Small Habits That Add Up Over Weeks" in emailed(doc)  # the subtitle is kept


def test_long_title_with_a_colon_and_an_abbreviation() -> None:
    doc = read(f"Sections\nLog In\n\nBurst Pipes: How Winter Wrecks What Lies Under N.Y.C.\n\n{PROSE}\n")
    assert doc.title == "Burst Pipes: How Winter Wrecks What Lies Under N.Y.C."


def test_without_a_title_the_file_name_is_not_used(tmp_path: Path) -> None:
    article = tmp_path / "my-article.txt"
    article.write_text(f"{PROSE}\n\nMost people quit within three months. {PROSE}\n\n{PROSE}\n", "utf-8")
    doc = read(article.read_text("utf-8"))
    assert doc.title == ""
    report = split_article(article, tmp_path / "campaigns" / "course")
    assert "My article" not in [lesson.subject for lesson in report.lessons]
    assert report.lessons[0].subject.startswith("Some words of running text")


def test_header_block_gives_the_title_and_is_not_emailed() -> None:
    doc = read(
        "PEP: 9999\nTitle: A Tidier Desk for Everyone\nAuthor: Jane Doe <jane@example.org>,\n"
        "        John Roe <john@example.org>\nStatus: Draft\nCreated: 01-Jan-2024\n\n\n"
        f"Rationale\n=========\n\n{PROSE}\n"
    )
    assert doc.title == "A Tidier Desk for Everyone"
    text = emailed(doc)
    assert "Status: Draft" not in text and "john@example.org" not in text and "PEP: 9999" not in text


MEMO_TEXT = (
    "   words of running text that go on for a while so that this reads\n   as a paragraph of the memo.\n"
)
MEMO = (
    "Tidy Working Group                                              J. Doe\n"
    "Request for Comments: 9999                                  Example Inc.\n"
    "Category: Informational                                       May 2024\n\n\n"
    "                      Keeping a Tidy Desk at Work\n\n"
    "Status of this Memo\n\n   This memo provides information for the community.  It does not\n"
    "   specify a standard of any kind.\n\n"
    "Abstract\n\n   This memo describes how to keep a desk tidy.\n\n"
    "Table of Contents\n\n"
    "   1. Introduction ................................................ 2\n"
    "   2. Clearing the Surface ........................................ 2\n"
    "   3. Filing ...................................................... 3\n\n"
    f"1. Introduction\n\n   These{MEMO_TEXT}\n"
    "   The first paragraph of the introduction goes on to the next page\n"
    "   because the page ended in the middle of this\n\n\n\n"
    "Doe                          Informational                      [Page 1]\n"
    "\fRFC 9999                  Keeping a Tidy Desk                   May 2024\n\n\n"
    "   sentence, which is joined again.\n\n"
    f"2. Clearing the Surface\n\n   Clear{MEMO_TEXT}\n\n\n"
    "Doe                          Informational                      [Page 2]\n"
    "\fRFC 9999                  Keeping a Tidy Desk                   May 2024\n\n\n"
    f"3. Filing\n\n   File{MEMO_TEXT}\n\n\n"
    "Doe                          Informational                      [Page 3]\n"
)


def test_memo_title_header_pages_and_contents() -> None:
    doc = read(MEMO)
    assert doc.title == "Keeping a Tidy Desk at Work"  # centred over the abstract
    # The abstract opens the article; the memo's status before it is front matter.
    assert headings(doc) == [(1, "Abstract"), (1, "Introduction"), (1, "Clearing the Surface"), (1, "Filing")]
    text = emailed(doc)
    for furniture in ("[Page", "RFC 9999", "Request for Comments", "J. Doe", "....", "Table of Contents"):
        assert furniture not in text, furniture
    assert "Status of this Memo" not in text
    assert doc.blocks[1] == Paragraph("This memo describes how to keep a desk tidy.", doc.blocks[1].line)
    # the paragraph cut by the page break is whole again
    assert "ended in the middle of this sentence, which is joined again." in text


def test_contents_list_is_not_emailed_and_tells_which_lines_are_headings() -> None:
    doc = read(
        f"Tidy Desks\n\n{PROSE}\n\nTable of Contents\nClear the Surface\nFile the Paper\nKeep It Up\n\n"
        f"Clear the Surface\n\n{PROSE}\n\nA photo of my desk\n\n{PROSE}\n\n"
        f"File the Paper\n\n{PROSE}\n\nKeep It Up\n\n{PROSE}\n"
    )
    assert [text for _, text in headings(doc)] == ["Clear the Surface", "File the Paper", "Keep It Up"]
    assert emailed(doc).count("File the Paper") == 1
    assert "Table of Contents" in doc.chrome


def test_contents_list_without_a_heading_of_its_own() -> None:
    doc = read(
        f"ORDER AND CALM\n\n\nORDER\n\nCALM IN THE HOME\n\nREST\n\n\n\nORDER\n\n\n{WRAPPED}\n\n"
        f"CALM IN THE HOME\n\n\n{WRAPPED}\n\nREST\n\n\n{WRAPPED}"
    )
    assert [text for _, text in headings(doc)] == ["ORDER", "CALM IN THE HOME", "REST"]
    assert emailed(doc).count("REST") == 1


def test_rst_footnotes_become_references_and_markers() -> None:
    doc = read(
        "Tidy\n====\n\nDesks get messy [1]_ and people lose things [3]_ daily.\n\n"
        "Notes\n=====\n\n.. [1] https://example.org/messy\n"
        ".. [3] A study of lost things, with\n       a second line, after [1]_.\n"
    )
    assert doc.references == [
        "https://example.org/messy",
        "A study of lost things, with a second line, after [1].",
    ]
    paragraphs = [b.text for b in doc.blocks if isinstance(b, Paragraph)]
    assert paragraphs == ["Desks get messy[^1] and people lose things[^2] daily."]
    assert "Notes" not in [text for _, text in headings(doc)]


def test_rst_inline_markup_and_literal_blocks() -> None:
    doc = read(
        "Tidy\n====\n\nCall ``tray.fill()`` as :pep:`8` says, see `the guide <https://example.org/g>`_\n"
        "and *Functional API*::\n\n    tray = Tray()\n    tray.fill()\n\nDone.\n"
    )
    texts = [b.text for b in doc.blocks if isinstance(b, Paragraph)]
    assert texts[0] == (
        "Call `tray.fill()` as PEP 8 says, see [the guide](<https://example.org/g>) and *Functional API*:"
    )
    assert texts[1] == "```\ntray = Tray()\ntray.fill()\n```"


def test_copied_page_chrome_before_the_title_and_after_the_article() -> None:
    doc = read(
        "Jane's Tidy Blog\nHome\nAbout\nServices\nContact\nBlog › Desks\n"
        "Keeping a Tidy Desk in Ten Minutes a Day\nBy Jane Doe\nMarch 3, 2024\n\n"
        f"{PROSE}\n\nClear the surface\n\n{PROSE}\n\nFile the paper\n\n{PROSE}\n\n"
        "Share to show you care\nRelated posts\nTen Minutes of Filing\nA short guide to filing\n"
        "Cleaning Your Keyboard\nWhy crumbs matter\n\n"
        "About the author\n\nJane Doe writes about tidy desks.\n© 2024 Jane's Tidy Blog\nPrivacy Policy\n"
    )
    assert doc.title == "Keeping a Tidy Desk in Ten Minutes a Day"
    assert headings(doc) == [(1, "Clear the surface"), (1, "File the paper")]
    text = emailed(doc)
    left_out = [
        "Services",
        "Blog ›",
        "By Jane Doe",
        "Share to show",
        "Related posts",
        "Ten Minutes of Filing",
    ]
    left_out += ["Why crumbs", "About the author", "©", "Privacy"]
    for chrome in left_out:
        assert chrome not in text, chrome
    assert doc.bio == "Jane Doe writes about tidy desks."


def test_column_of_menu_labels_inside_the_page_is_chrome_but_a_short_heading_is_not() -> None:
    index = "\n".join(["news", "world", "U.S.", "politics", "business", "tech", "Live Events", "Site Map"])
    doc = read(f"Tidy Desks\n\n{PROSE}\n\nTools\n\n{PROSE}\n\nAdvertisement\n\n{index}\n\n{PROSE}\n")
    assert headings(doc) == [(1, "Tools")]
    text = emailed(doc)
    assert "politics" not in text and "Live Events" not in text and "Advertisement" not in text


def test_story_card_after_the_article_is_chrome() -> None:
    doc = read(
        f"Tidy Desks\n\n{PROSE}\n\nWhy Are Desks Always Messy?\nAug. 18, 2016\n\n"
        "Jane Doe is a reporter who covers offices and the people who work in them.\n"
    )
    assert "Why Are Desks Always Messy" not in emailed(doc)
    assert "covers offices" in emailed(doc)


def test_ebook_banners_and_licence_are_left_out() -> None:
    licence = "\n\n".join(
        f"1.{letter}.  By using this work you agree to the license terms, the copyright and the warranty."
        for letter in "ABCDEFGH"
    )
    doc = read(
        "The EBook of Order, by A. Writer\n\nTitle: Order\n\nAuthor: A. Writer\n\n"
        "*** START OF THIS EBOOK ORDER ***\n\nProduced by volunteers.\n\n\n\nORDER\n\nBY\n\nA. WRITER\n\n\n"
        f"THE FIRST RULE\n\n\n{WRAPPED}\n\nTHE SECOND RULE\n\n\n{WRAPPED}\n\n\n"
        "End of the EBook of Order, by A. Writer\n\n*** END OF THIS EBOOK ORDER ***\n\n"
        f"THE FULL LICENSE\n\nSection 1.  General Terms of Use\n\n{licence}\n"
    )
    assert doc.title == "Order"
    assert headings(doc) == [(1, "THE FIRST RULE"), (1, "THE SECOND RULE")]
    text = emailed(doc)
    for chrome in (
        "START OF",
        "End of the EBook",
        "Produced by",
        "A. WRITER",
        "Section 1",
        "1.A.",
        "license",
    ):
        assert chrome not in text, chrome
    assert doc.notes and "back matter" in doc.notes[0]


def test_long_legal_section_after_the_article_is_left_out_but_a_short_one_stays() -> None:
    clause = (
        "The licensee may redistribute copies under the terms of this licence agreement, without warranty "
        "of any kind, and the copyright holder accepts no liability for damages arising from its use."
    )
    body = "\n\n".join(
        f"Part {n}\n\n{PROSE} {PROSE} {PROSE}\n\n{PROSE} {PROSE} {PROSE}" for n in ("One", "Two", "Three")
    )
    long_tail = "\n\n".join(f"{n}. Terms\n\n{clause} {clause}" for n in range(1, 19))
    doc = read(f"Tidy Desks\n\n{PROSE}\n\n{body}\n\nLicence\n\n{long_tail}\n")
    assert "redistribute" not in emailed(doc)
    assert [text for _, text in headings(doc)] == ["Part One", "Part Two", "Part Three"]
    short = read(f"Tidy Desks\n\n{PROSE}\n\n{body}\n\nCopyright Statement\n\n{clause}\n")
    assert "redistribute" in emailed(short)


def test_code_and_tables_keep_their_lines() -> None:
    doc = read(
        f"Finding Outliers in SQL\n\n{PROSE}\n\n"
        "SELECT avg(n)\nFROM unnest(array[2, 3, 12]) AS n;\n\n"
        "       avg\n────────────────────\n5.6666666666666667\n\n"
        f"{PROSE}\n\nint main(void)\n{{\n\treturn 0;\n}}\n"
    )
    code = [b.text for b in doc.blocks if isinstance(b, Paragraph) and b.text.startswith("```")]
    assert code[0] == (
        "```\nSELECT avg(n)\nFROM unnest(array[2, 3, 12]) AS n;\n\n"
        "       avg\n────────────────────\n5.6666666666666667\n```"
    )
    assert code[1] == "```\nint main(void)\n{\n\treturn 0;\n}\n```"
    assert headings(doc) == []


def test_copied_page_caption_is_kept_and_the_lost_picture_reported() -> None:
    doc = read(
        f"Tidy Desks\n\n{PROSE}\n\nImage\nA clean desk in a bright room.CreditJane Doe for The Daily\n"
        f"Clear the surface first\n\n{PROSE}\n"
    )
    kinds = [type(b).__name__ for b in doc.blocks]
    assert kinds == ["Paragraph", "Figure", "Paragraph", "Heading", "Paragraph"]
    assert doc.blocks[2].text == "*A clean desk in a bright room.*"  # type: ignore[union-attr]
    assert "Credit" not in emailed(doc)


def test_plain_text_emphasis_and_verse() -> None:
    doc = read(
        f"Order\n\n  _Mind is the master power that moulds,\n  And man is mind._\n\n"
        f"I won't _force_ my views, but *do* read this. {PROSE}\n"
    )
    texts = [b.text for b in doc.blocks if isinstance(b, Paragraph)]
    assert texts[0] == "*Mind is the master power that moulds,*  \n*And man is mind.*"
    assert texts[1].startswith("I won't *force* my views, but **do** read this.")


def test_questions_are_sub_headings_only_when_written_unlike_the_other_headings() -> None:
    sub = read(
        f"Knees\n\n{PROSE}\n\nKnee Pain\n\n{PROSE}\n\nHow do you fix it?\n\n{PROSE}\n\nHip Pain\n\n{PROSE}\n"
    )
    assert headings(sub) == [(1, "Knee Pain"), (2, "How do you fix it?"), (1, "Hip Pain")]
    peers = read(
        f"Streets\n\n{PROSE}\n\nSalt on icy streets causes mayhem\n\n{PROSE}\n\n"
        f"So, where do people learn to fix pipes?\n\n{PROSE}\n"
    )
    assert headings(peers) == [
        (1, "Salt on icy streets causes mayhem"),
        (1, "So, where do people learn to fix pipes?"),
    ]


def test_text_in_a_script_without_spaces_is_kept() -> None:
    doc = read("臀筋を活性化できない四つの理由\n\nお尻の筋肉は体で最大の筋肉です。\n")
    assert "お尻の筋肉は体で最大の筋肉です。" in emailed(doc)


def test_title_repeated_over_the_first_chapter_and_address_lines_are_not_headings() -> None:
    doc = read(
        f"Title: Order\nAuthor: A. Writer\n\n\nFOREWORD\n\n{WRAPPED}\n"
        "A. WRITER.\n\nLONDON,\n\nENGLAND\n\n\n\nORDER\n\n\n\n"
        f"THE FIRST RULE\n\n\n{WRAPPED}"
    )
    assert headings(doc) == [(1, "FOREWORD"), (1, "THE FIRST RULE")]
    assert "ENGLAND" in emailed(doc)
    assert doc.title == "Order" and "ORDER" not in emailed(doc)


def test_text_under_a_table_is_read_as_text_again() -> None:
    doc = read(
        f"Release Notes\n\n{PROSE}\n\nScreens\n\n{PROSE}\n\n"
        "\tDraft\tReview\tDone\nLoad map\t\t\t\nSave map\t\t\t\n"
        "* Finished since the last update.\nThe hand\n\n"
        f"{PROSE}\n"
    )
    code = [b.text for b in doc.blocks if isinstance(b, Paragraph) and b.text.startswith("```")]
    assert code == ["```\n\tDraft\tReview\tDone\nLoad map\nSave map\n```"]
    assert [b.items for b in doc.blocks if isinstance(b, ListBlock)] == [("Finished since the last update.",)]
    assert headings(doc) == [(1, "Screens"), (1, "The hand")]
