"""The outline and sizing rules of the splitter, on small documents built here."""

from __future__ import annotations

from pathlib import Path

from sender.campaign import load_campaign
from sender.content import split_article
from sender.content.document import Document, Heading, Paragraph
from sender.content.splitter import MAX_LESSONS, SECTION_WORDS_MAX, section_level, split_document


def words(n: int, word: str = "word") -> Paragraph:
    return Paragraph(" ".join([word] * n) + ".")


def doc(*blocks: Heading | Paragraph, title: str = "A Title") -> Document:
    return Document(title=title, blocks=list(blocks))


def subjects(document: Document, lessons: int | None = None) -> list[str]:
    return [lesson.subject for lesson in split_document(document, lessons).lessons]


def test_outline_level_is_the_highest_level_that_repeats() -> None:
    # A lone subtitle heading above the sections does not make the whole article one section.
    article = doc(
        Heading(1, "A subtitle"), words(200),
        Heading(2, "First"), words(300), Heading(2, "Second"), words(300), Heading(2, "Third"), words(300),
    )  # fmt: skip
    assert section_level(article.blocks) == 2
    assert subjects(article) == ["A subtitle", "First", "Second", "Third"]


def test_long_section_is_split_at_its_sub_headings() -> None:
    article = doc(
        words(200),
        Heading(1, "Short one"), words(400),
        Heading(1, "Long one"), words(300),
        Heading(2, "Part A"), words(500), Heading(2, "Part B"), words(500),
    )  # fmt: skip
    got = subjects(article)
    assert got[:2] == ["A Title", "Short one"]
    assert len(got) == 4 and got[2] == "Long one" and got[3].endswith("Part B")
    assert all(lesson.words <= SECTION_WORDS_MAX for lesson in split_document(article).lessons)


def test_a_long_section_gets_as_many_parts_as_its_uneven_sub_headings_need() -> None:
    # 2,350 words would fit two parts by length, but no single cut leaves both under the limit.
    article = doc(
        words(200),
        Heading(1, "Long one"), words(350),
        Heading(2, "Part A"), words(1000), Heading(2, "Part B"), words(1000),
        Heading(1, "Last"), words(400),
    )  # fmt: skip
    plan = split_document(article)
    assert [lesson.subject for lesson in plan.lessons] == [
        "A Title", "Long one", "Long one: Part A", "Long one: Part B", "Last"
    ]  # fmt: skip
    assert all(lesson.words <= SECTION_WORDS_MAX for lesson in plan.lessons)


def test_section_without_sub_headings_is_left_whole_up_to_a_point() -> None:
    one_block = doc(words(200), Heading(1, "A"), words(1300), Heading(1, "B"), words(400))
    assert subjects(one_block) == ["A Title", "A", "B"]
    paragraphs = [words(100) for _ in range(30)]  # 3,000 words, no sub-heading
    long = doc(words(200), Heading(1, "A"), *paragraphs, Heading(1, "B"), words(400))
    got = subjects(long)
    assert got == ["A Title", "A", "A (part 2)", "A (part 3)", "B"]  # never "A, continued"


def test_a_short_section_joins_a_neighbour_but_short_articles_keep_their_outline() -> None:
    stray = doc(
        words(300), Heading(1, "One"), words(400), Heading(1, "Tiny"), words(30),
        Heading(1, "Two"), Heading(2, "Two, first part"), words(500), Heading(1, "Three"), words(400),
    )  # fmt: skip
    # "Two" opens a group of sub-headings, so "Tiny" is no lead-in to it: it joins the smaller neighbour
    assert subjects(stray) == ["A Title", "One — Tiny", "Two", "Three"]
    lesson = split_document(stray).lessons[1]
    assert any(isinstance(b, Heading) and b.text == "Tiny" for b in lesson.blocks)
    short = doc(words(90), *[b for n in range(5) for b in (Heading(1, f"S{n}"), words(90))])
    assert subjects(short) == ["A Title", "S0", "S1", "S2", "S3", "S4"]


def test_a_short_section_leads_into_the_section_after_it() -> None:
    # A flat outline: "Grouped" has a line of lead-in and its sub-topics are headings of the
    # same kind, so it opens the lesson of the section after it rather than closing the one before.
    flat = doc(
        words(300), Heading(1, "One"), words(200), Heading(1, "Grouped"), words(40),
        Heading(1, "Sub-topic"), words(250), Heading(1, "Three"), words(300),
    )  # fmt: skip
    plan = split_document(flat)
    assert [lesson.subject for lesson in plan.lessons] == ["A Title", "One", "Grouped — Sub-topic", "Three"]
    assert Heading(1, "Sub-topic") in plan.lessons[2].blocks
    # ... unless the two would make a section too long for one email: then the smaller neighbour.
    long_next = doc(
        words(300), Heading(1, "One"), words(200), Heading(1, "Grouped"), words(40),
        Heading(1, "Long"), words(SECTION_WORDS_MAX - 20), Heading(1, "Three"), words(300),
    )  # fmt: skip
    assert subjects(long_next) == ["A Title", "One — Grouped", "Long", "Three"]


def test_a_lesson_joining_two_sections_is_named_after_both_when_that_fits() -> None:
    # Each section's name stays findable in the subjects; pointers and a wrap-up at the end are not named.
    article = doc(
        words(300), Heading(1, "Setting up"), words(300), Heading(1, "A short aside"), words(40),
        Heading(1, "Next"), words(300), Heading(1, "Last"), words(300), Heading(1, "See also"), words(20),
    )  # fmt: skip
    assert subjects(article) == ["A Title", "Setting up", "A short aside — Next", "Last"]
    too_long = doc(
        words(300), Heading(1, "Setting up"), words(300), Heading(1, "A short aside"), words(40),
        Heading(1, "A section whose name is long enough to fill a subject line"), words(300),
        Heading(1, "Last"), words(300),
    )  # fmt: skip
    assert subjects(too_long) == ["A Title", "Setting up", "A short aside", "Last"]


def test_a_short_introduction_is_joined_before_any_short_section() -> None:
    # The introduction can only open the lesson after it; once it has, that lesson is not a
    # short section to be carried on into the next one (which would swallow its heading too).
    article = doc(
        words(70), Heading(1, "Background"), words(50),
        *[b for n in range(4) for b in (Heading(1, f"S{n}"), words(200))],
    )  # fmt: skip
    assert subjects(article)[1:] == ["S0", "S1", "S2", "S3"]


def test_short_introduction_names_the_first_lesson_by_its_section() -> None:
    article = doc(words(60), Heading(1, "Getting started"), words(400), Heading(1, "Next"), words(400))
    plan = split_document(article)
    assert [lesson.subject for lesson in plan.lessons] == ["Getting started", "Next"]
    assert plan.lessons[0].blocks[0] == words(60)  # the introduction still opens the lesson


def test_an_introduction_joined_to_a_section_as_long_names_both() -> None:
    # The lesson is as much the introduction as the section: neither name alone says what is in it,
    # and the section's boundary must not disappear under the article's title.
    article = doc(words(100), Heading(1, "Getting started"), words(120), Heading(1, "Next"), words(400),
                  Heading(1, "Last"), words(400))  # fmt: skip
    assert subjects(article) == ["A Title: Getting started", "Next", "Last"]
    long_title = doc(words(100), Heading(1, "Getting started"), words(120), Heading(1, "Next"), words(400),
                     title="A title long enough that the two would not fit in a subject line")  # fmt: skip
    first = subjects(long_title)[0]
    assert first.startswith("A title long enough") and "Getting started" not in first


def test_asked_count_prefers_higher_headings() -> None:
    article = doc(
        Heading(1, "A"), words(500), Heading(3, "A deep"), words(100), Heading(2, "A mid"), words(400)
    )
    # Cutting at "A deep" balances the halves exactly; "A mid", one level higher, wins anyway.
    assert subjects(article, 2) == ["A", "A: A mid"]


def test_subjects_are_headings_without_trailing_colons_or_cut_words() -> None:
    article = doc(
        words(200),
        Heading(1, "Usage:"), words(400),
        Heading(1, "A heading that goes on and on well past what any phone shows in a subject"), words(400),
    )  # fmt: skip
    got = subjects(article)
    assert got[1] == "Usage" and "::" not in " ".join(got)
    assert got[2].endswith("…") and len(got[2]) <= 60
    assert "A heading that goes on and on well past what any phone shows".startswith(got[2][:-1])


def test_never_more_than_max_lessons(tmp_path: Path) -> None:
    blocks: list[Heading | Paragraph] = []
    for n in range(MAX_LESSONS + 20):
        blocks += [Heading(1, f"Section {n}"), words(200)]
    plan = split_document(doc(*blocks))
    assert len(plan.lessons) == MAX_LESSONS
    assert "made 100 lessons" in plan.notes[0]


def test_lesson_files_of_long_courses_load_in_send_order(tmp_path: Path) -> None:
    text = "My Course\n\nIntro paragraph with enough words to be a lesson of its own here.\n\n" + "".join(
        f"Section number {n}\n\n" + " ".join(["text"] * 160) + ".\n\n" for n in range(1, 101)
    )
    article = tmp_path / "long.txt"
    article.write_text(text, "utf-8")
    report = split_article(article, tmp_path / "campaigns" / "long")
    names = [path.name for path in report.lesson_files]
    assert len(names) == MAX_LESSONS and names[0].startswith("001-") and names[99].startswith("100-")
    loaded = load_campaign(tmp_path / "campaigns" / "long")
    assert [lesson.subject for lesson in loaded.lessons] == [lesson.subject for lesson in report.lessons]


def test_a_first_section_is_not_taken_for_an_introduction() -> None:
    # 100 words would be a short introduction, but here it is a section of its own.
    article = doc(
        Heading(1, "First"), words(100), *[b for n in range(3) for b in (Heading(1, f"S{n}"), words(400))]
    )
    assert subjects(article) == ["First", "S0", "S1", "S2"]
    with_intro = doc(words(100), *[b for n in range(3) for b in (Heading(1, f"S{n}"), words(400))])
    assert subjects(with_intro) == ["S0", "S1", "S2"]  # a short introduction opens the first lesson


def test_long_articles_of_short_paragraphs_still_split_evenly() -> None:
    # Thousands of cut candidates: the search keeps the cheapest in each stretch of words.
    article = doc(*[Paragraph(f"Line {n} of the article goes here.") for n in range(4000)])
    plan = split_document(article, 10)
    sizes = [lesson.words for lesson in plan.lessons]
    assert len(sizes) == 10 and max(sizes) - min(sizes) <= 0.1 * sum(sizes) / 10
