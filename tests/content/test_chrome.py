"""Line-level site chrome rules (chrome.py), shared by every reader."""

from __future__ import annotations

import pytest

from sender.content.chrome import (
    is_bio_marker,
    is_chrome_line,
    is_date_line,
    is_menu_item,
    is_related_heading,
    is_soft_chrome,
)


@pytest.mark.parametrize(
    "line",
    [
        # nav bars and breadcrumbs
        "Home | Services | Blog | Contact",
        "About • Courses • Shop",
        "Blog › Category",
        "Recipes » Breakfast » Pancakes",
        "Home / Blog / Post",
        # phone and opening hours
        "Call us: (555) 010-0199",
        "Mon–Fri 9am–5pm",
        "Open Monday to Friday, 9:00 - 17:00",
        # booking and subscribe calls to action
        "Book a free consultation",
        "Schedule a 15-minute call today",
        "Book now!",
        "Subscribe to our newsletter for weekly tips",
        "Want me to send you an email when I publish something new?",
        "Never miss a post!",
        "Join 4,000+ readers who get the weekly digest",
        # share lines
        "Share this post",
        "Facebook Twitter LinkedIn",
        "Share on Mastodon",
        # back to top, notices, accounts
        "↑ Top",
        "Back to top",
        "This website uses cookies to improve your experience. Accept",
        "Accept all cookies",
        "Please enable JavaScript to view this page.",
        "JavaScript is required for this site to work properly.",
        "log in sign up",
        "Log In",
        "Sign in / Register",
        "Skip to content",
        "Skip to contentSkip to site index",
        "Site Index",
        "Go to Home Page »",
        # advertising labels and site footers
        "Advertisement",
        "Supported by",
        "Sponsored content",
        "Privacy Policy",
        "Terms of Service",
        "Your Ad Choices",
        "© 2024 Example Media Ltd",
        # bylines, dates, credits
        "By Jane Doe | March 3, 2024",
        "21 September 2020",
        "Photo by Sam Lee on Unsplash",
        "Produced by volunteers at an e-text archive.",
        'Author of "Another Book"',
    ],
)
def test_chrome_lines(line: str) -> None:
    assert is_chrome_line(line)


@pytest.mark.parametrize(
    "line",
    [
        # sentences that mention the same things are article text
        "If you sign up for a newsletter, read its privacy policy before you give your email address.",
        "We booked a free consultation and learned a lot from it about our habits and our routines.",
        "Share your results with a friend: it keeps you honest.",
        "By Monday, the swelling had gone down and the knee moved freely again.",
        "JavaScript is a language that runs in the browser and on servers too.",
        "The clinic is open late on Thursdays for people who work during the day.",
        # code and tables are not nav bars
        "cat access.log | grep 404 | sort | uniq -c",
        "| Name | Size | Kind |",
        "a / b / c",
        # headings of real sections
        "Related work",
        "Further reading",
        "Top tips for beginners",
    ],
)
def test_article_lines_are_not_chrome(line: str) -> None:
    assert not is_chrome_line(line)


@pytest.mark.parametrize(
    ("line", "related"),
    [
        ("Related posts", True),
        ("Similar articles", True),
        ("You may also like", True),
        ("You might also enjoy:", True),
        ("More from the blog", True),
        ("Read next", True),
        ("Related work", False),
        ("Similar results were found in older studies.", False),
    ],
)
def test_related_headings(line: str, related: bool) -> None:
    assert is_related_heading(line) is related


def test_menu_items_are_short_labels_without_sentences() -> None:
    for label in ("About", "Press and Youtube", "U.S.", "op-ed Contributors", "video: opinion"):
        assert is_menu_item(label), label
    for text in (
        "Done.",
        "Step 3",
        "Mix the flour and the water",
        "SELECT *",
        "Load map\t\t",
        "春の庭で遊ぶ子供たちの声が聞こえる",
    ):
        assert not is_menu_item(text), text


def test_soft_chrome_is_chrome_only_in_context() -> None:
    # share and follow prompts are judged by the reader, where they stand
    assert is_soft_chrome("Share to show you care")
    assert is_soft_chrome("Follow me on Mastodon")
    assert not is_chrome_line("Share to show you care")
    assert not is_soft_chrome("Share the load evenly between both legs.")


def test_dates_and_bio_markers() -> None:
    assert is_date_line("Feb. 21, 2019") and is_date_line("2019-02-15") and is_date_line("3rd March 2024")
    assert not is_date_line("In March 2024 we moved")
    assert is_bio_marker("About the author") and is_bio_marker("About me:")
    assert not is_bio_marker("About the authority of the court")
