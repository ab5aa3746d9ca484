"""Segments as tag expressions (issue 16): the parser, its condition on a real store
(SQLite and PostgreSQL), and newsletters that reach exactly the segment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sender.segments import And, Not, Or, SegmentError, Tag, parse
from sender.store import Store
from sender.subscribers import add_subscriber
from tests.test_cli import drip
from tests.test_newsletters import START, run_until, schedule, setup


@pytest.mark.parametrize(("text", "expr"), [
    ("vip", Tag("vip")),
    ("  vip ", Tag("vip")),
    ("early bird", Tag("early bird")),  # a tag with a space, as segments were before expressions
    ("rock and roll", Tag("rock and roll")),  # operators are upper case: this is still one tag
    ("vip AND NOT churned", And((Tag("vip"), Not(Tag("churned"))))),
    ("(beta OR vip) AND en", And((Or((Tag("beta"), Tag("vip"))), Tag("en")))),
    # NOT binds tighter than AND, AND tighter than OR
    ("a OR b AND c", Or((Tag("a"), And((Tag("b"), Tag("c")))))),
    ("a AND b OR c", Or((And((Tag("a"), Tag("b"))), Tag("c")))),
    ("NOT a AND b", And((Not(Tag("a")), Tag("b")))),
    ("NOT (a OR b)", Not(Or((Tag("a"), Tag("b"))))),
    ("NOT NOT a", Not(Not(Tag("a")))),
    ("a OR b OR c", Or((Tag("a"), Tag("b"), Tag("c")))),
    ('"early bird" OR "AND"', Or((Tag("early bird"), Tag("AND")))),
    ("(vip)", Tag("vip")),
    ("(a)AND(b)", And((Tag("a"), Tag("b")))),
])
def test_expressions_parse_with_not_over_and_over_or(text: str, expr: object) -> None:
    assert parse(text) == expr


@pytest.mark.parametrize(("text", "message"), [
    ("vip AND", "segment 'vip AND': expected a tag after AND, at the end"),
    ("vip OR OR en", "segment 'vip OR OR en': expected a tag after OR, at column 8 (found 'OR')"),
    ("AND vip", "segment 'AND vip': expected a tag, at column 1 (found 'AND')"),
    ("NOT", "segment 'NOT': expected a tag after NOT, at the end"),
    ("(beta OR vip AND en",
     "segment '(beta OR vip AND en': expected ) to close the ( at column 1, at the end"),
    ("beta) OR vip", "segment 'beta) OR vip': a ) with no ( before it, at column 5 (found ')')"),
    ("()", "segment '()': expected a tag after (, at column 2 (found ')')"),
    ("vip en AND x", "segment 'vip en AND x': expected AND or OR between two tags, at column 5 (found 'en')"),
    ('"early bird OR vip', "segment '\"early bird OR vip': the quote at column 1 is never closed"),
    ('"" OR vip', "segment '\"\" OR vip': expected a tag inside the quotes (\"\"), at column 1 (found '')"),
    ("", "segment '': expected a tag"),
    ("x" * 101, f"segment {'x' * 30!r}…: longer than 100 characters"),
])
def test_a_malformed_expression_is_one_line_naming_the_position(text: str, message: str) -> None:
    with pytest.raises(SegmentError) as err:
        parse(text)
    assert str(err.value) == message


PEOPLE = {  # email: tags
    "ana@example.com": ["vip", "en"],
    "ben@example.com": ["vip", "churned", "en"],
    "cy@example.com": ["beta", "en"],
    "di@example.com": ["beta", "pt"],
    "ed@example.com": [],
    "fay@example.com": ["early bird"],
}


@pytest.mark.parametrize(("segment", "expected"), [
    ("vip", {"ana", "ben"}),
    ("vip AND NOT churned", {"ana"}),
    ("(beta OR vip) AND en", {"ana", "ben", "cy"}),
    ("beta OR vip AND en", {"ana", "ben", "cy", "di"}),
    ("NOT vip", {"cy", "di", "ed", "fay"}),
    ("NOT (beta OR vip)", {"ed", "fay"}),
    ("en AND vip AND NOT churned", {"ana"}),
    ("early bird", {"fay"}),
    ('"early bird" OR pt', {"di", "fay"}),
    ("vip AND pt", set()),
])
def test_the_condition_picks_exactly_the_matching_active_subscribers(db_url: str, segment: str,
                                                                     expected: set[str]) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    with Store(db_url) as store:
        for email, tags in PEOPLE.items():
            add_subscriber(store, email, now=now, tags=tags)
        # an unsubscribed vip is never in a segment, NOT included
        add_subscriber(store, "gone@example.com", now=now, tags=["vip"], status="unsubscribed")
        found = {r.email.split("@")[0] for r in store.segment_members(segment)}
        assert found == expected
        assert store.segment_size(segment) == len(expected)


def test_a_newsletter_to_an_expression_reaches_exactly_its_segment(project: Path, db_url: str) -> None:
    engine, clock, issue = setup(project, db_url)  # lisbon and la are vip, tokyo has no tag
    add_subscriber(engine.store, "lisbon@example.com", now=clock(), tags=["churned"])
    add_subscriber(engine.store, "paris@example.com", now=clock(), timezone="Europe/Paris", tags=["beta"],
                   name="Pat Doe")
    done = schedule(engine, issue, segment="(vip OR beta) AND NOT churned")
    assert (done.audience, done.reach) == (2, "2 subscribers matching (vip OR beta) AND NOT churned")
    run_until(engine, clock, START + timedelta(days=2), timedelta(hours=1))
    assert sorted(m.to for m in engine.provider.outbox) == ["Pat Doe <la@example.com>",
                                                            "Pat Doe <paris@example.com>"]
    assert [r.status for r in engine.store.newsletters()] == ["sent"]


def test_a_malformed_segment_is_refused_before_scheduling(project: Path, sqlite_url: str) -> None:
    engine, _, issue = setup(project, sqlite_url)
    with pytest.raises(SegmentError, match=r"^segment 'vip AND': expected a tag after AND, at the end$"):
        schedule(engine, issue, segment="vip AND")
    assert not engine.store.newsletters()


def test_cli_schedules_an_expression_and_names_a_malformed_one(project: Path) -> None:
    for email, tag in (("ana@example.com", "vip"), ("ben@example.com", "churned"),
                       ("cy@example.com", "beta")):
        assert drip("subscribers", "add", email, "--tag", tag, cwd=project).returncode == 0
    (project / "news.md").write_text("---\nsubject: December news\n---\nHi!\n")
    bad = drip("newsletter", "schedule", "news.md", "--at", "2099-12-01 09:00", "--segment", "vip AND",
               cwd=project)
    assert (bad.returncode, bad.stderr) == (
        1, "error: segment 'vip AND': expected a tag after AND, at the end\n")
    good = drip("newsletter", "schedule", "news.md", "--at", "2099-12-01 09:00", "--timezone", "UTC",
                "--segment", "beta OR vip AND NOT churned", cwd=project)
    assert good.returncode == 0, good.stderr
    assert good.stdout == ("scheduled newsletter 1 ('December news') for 2 subscribers matching "
                           "beta OR vip AND NOT churned, at 2099-12-01T09:00 UTC\n")
