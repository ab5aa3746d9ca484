"""The same splitter on articles in the other formats (fixtures with expectations)."""

from __future__ import annotations

from pathlib import Path

from sender.content import read_article, split_article


def _bodies(report) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(path.read_text("utf-8") for path in report.lesson_files)


def test_markdown_article(fixtures: Path, tmp_path: Path) -> None:
    report = split_article(fixtures / "sleep-habits.md", tmp_path / "sleep")
    assert report.title == "Five Habits That Quietly Fix Your Sleep"
    assert [lesson.subject for lesson in report.lessons] == [
        "Five Habits That Quietly Fix Your Sleep",
        "Keep the Same Wake-Up Time",
        "Get Daylight Before Noon",
        "Cut Caffeine After Lunch",
        "Make the Bedroom Cold and Dark",
    ]
    refs = [[r.split(",")[0] for r in lesson.references] for lesson in report.lessons]
    assert refs == [[], ["Roenneberg"], [], ["Drake"], ["Okamoto-Mizuno"]]
    lessons = [path.read_text("utf-8") for path in report.lesson_files]
    # The caffeine footnote is cited twice: one citation, one number.
    assert lessons[3].count("[1]") == 2 and "[2]" not in lessons[3]
    assert '{{ subscriber.first_name | default("there") }}' in lessons[0]
    assert "## What if you work shifts?" in lessons[1]
    assert "> **PRO TIP:** Switch your afternoon coffee" in lessons[3]
    assert "## Conclusion" in lessons[4] and "free personalised sleep plan" in lessons[4]
    assert "[click here](https://example.com/eye-mask)" in lessons[4]
    assert "thermometer.jpg" not in _bodies(report)  # a picture the article does not ship
    assert "Maya Chen" not in _bodies(report)
    assert report.signoff == "Maya Chen, sleep coach"
    assert not [f for f in report.findings if "has no link" in f.message]  # the link has a URL


def test_html_page_with_site_chrome(fixtures: Path, tmp_path: Path) -> None:
    report = split_article(fixtures / "desk-posture.html", tmp_path / "desk")
    assert [lesson.subject for lesson in report.lessons] == [
        "Why Your Desk Is Wrecking Your Neck",
        "Your Screen Is Too Low",
        "Your Chair Has No Support Where It Counts",
        "You Sit Still for Too Long",
    ]
    text = _bodies(report)
    for chrome in ("555-0199", "Share on Facebook", "Tweet", "Subscribe", "Great article",
                   "Related posts", "All rights reserved", "Popular posts", "Services",
                   "By Sam Okafor", "Thank you! Please check", "gtag", "font-family"):  # fmt: skip
        assert chrome not in text, f"chrome {chrome!r} leaked into a lesson"
    assert any("Great article!" in c for c in report.chrome)
    lessons = [path.read_text("utf-8") for path in report.lesson_files]
    assert "*sitting up straight*" in lessons[0]
    assert "![Screen at eye level versus laptop on a desk](https://cdn.example.com/" in lessons[1]
    assert "*The top of the screen should be at eye level.*" in lessons[1]  # the figcaption, shown
    assert "chair-setup.jpg" not in lessons[2]
    assert "[▶ Watch the video: Desk reset routine](https://www.youtube.com/embed/abc123)" in lessons[3]
    assert "1. Stand up and roll your shoulders back five times." in lessons[3]
    assert "## The Bottom Line" in lessons[3]
    assert "[book a free posture check](https://strongback.example.com/book)" in lessons[3]
    assert report.lessons[1].references[0].startswith("Hansraj, K. K. (2014)")
    assert report.lessons[2].references[0].startswith("O'Sullivan")
    assert "↩" not in "".join(report.lessons[1].references)
    assert report.signoff == "Sam Okafor, registered physiotherapist"


def test_plain_text_with_numbered_headings(fixtures: Path, tmp_path: Path) -> None:
    report = split_article(fixtures / "first-10k.txt", tmp_path / "10k")
    assert report.title == "How to Train for Your First 10K"
    assert [lesson.subject for lesson in report.lessons] == [
        "How to Train for Your First 10K",
        "Build an Easy Base",
        "Add One Quality Session",
        "Protect Your Legs",
        "Taper and Race",
    ]
    lessons = [path.read_text("utf-8") for path in report.lesson_files]
    # unnumbered headings between numbered sections are sub-sections
    assert "## Why easy runs matter?" in lessons[1]
    assert "## A sample week" in lessons[2]
    assert "## Final Words" in lessons[4] and "Book a free 15-minute call" in lessons[4]
    refs = [[r.split(",")[0] for r in lesson.references] for lesson in report.lessons]
    assert refs == [[], ["Seiler"], ["Lauersen"], ["Nigg"], []]
    assert "conversation. Most new runners" in lessons[1]  # hard-wrapped lines joined
    text = _bodies(report)
    for chrome in ("0161 496 0750", "Share this", "Pinterest", "Copyright", "Posted by", "Sources"):
        assert chrome not in text
    assert "RunWell Coaching" in report.chrome  # the site name above the title


def test_article_without_headings_is_split_by_length(fixtures: Path, tmp_path: Path) -> None:
    report = split_article(fixtures / "no-headings.txt", tmp_path / "plain")
    assert report.notes == [
        "no title found in the article; the course is named after its first sentence "
        "('Most people who start strength training quit within three…'); pass --title to name it",
        "no headings found; split by length into 2 lessons of about 267 words",
    ]
    assert report.title == report.lessons[0].subject  # not the file name
    words = [lesson.words for lesson in report.lessons]
    assert len(words) == 2 and abs(words[0] - words[1]) < 60
    assert len({lesson.subject for lesson in report.lessons}) == 2


def test_format_option_overrides_the_extension(fixtures: Path, tmp_path: Path) -> None:
    copy = tmp_path / "article.data"
    copy.write_bytes((fixtures / "sleep-habits.md").read_bytes())
    doc = read_article(copy, "markdown")
    assert doc.title == "Five Habits That Quietly Fix Your Sleep"
    assert len(doc.references) == 3
