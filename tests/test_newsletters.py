from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sender.engine import Engine
from sender.newsletters import NewsletterError, schedule_newsletter
from sender.providers.memory import MemoryProvider
from sender.schedule import SimulatedClock
from sender.settings import load_settings
from sender.store import Store
from sender.subscribers import add_subscriber

START = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def setup(project: Path, url: str) -> tuple[Engine, SimulatedClock, Path]:
    clock = SimulatedClock(START)
    provider = MemoryProvider(f"memory://news-{url}")
    provider.outbox.clear()
    engine = Engine(load_settings(project, environ={}).replace(database_url=url), Store(url),
                    provider, clock)
    people = [("lisbon@example.com", "Europe/Lisbon", ["vip"]), ("tokyo@example.com", "Asia/Tokyo", []),
              ("la@example.com", "America/Los_Angeles", ["vip"])]
    for email, tz, tags in people:
        add_subscriber(engine.store, email, now=clock(), timezone=tz, tags=tags, name="Pat Doe")
    issue = project / "news.md"
    issue.write_text("---\nsubject: December news\npreheader: What is new this month\n---\n"
                     "Hello {{ subscriber.first_name }}, news.\n")
    return engine, clock, issue


def run_until(engine: Engine, clock: SimulatedClock, end: datetime, step: timedelta) -> None:
    while clock() < end:
        clock.advance_to(clock() + step)
        engine.tick()


def test_local_newsletter_reaches_each_subscriber_at_nine_their_time(project: Path, db_url: str) -> None:
    engine, clock, issue = setup(project, db_url)
    schedule_newsletter(engine.store, issue, at="2026-12-01 09:00", cron=None, local=True, segment=None,
                        timezone="UTC", now=clock())
    sent_at: dict[str, datetime] = {}
    while clock() < START + timedelta(days=3):
        clock.advance_to(clock() + timedelta(minutes=15))
        before = len(engine.provider.outbox)
        engine.tick()
        for m in engine.provider.outbox[before:]:
            sent_at[m.to] = clock()
    assert len(engine.provider.outbox) == 3
    for email, tz in [("lisbon@example.com", "Europe/Lisbon"), ("tokyo@example.com", "Asia/Tokyo"),
                      ("la@example.com", "America/Los_Angeles")]:
        local = sent_at[f"Pat Doe <{email}>"].astimezone(ZoneInfo(tz))
        assert (local.date().isoformat(), local.hour) == ("2026-12-01", 9), (email, local)
    assert [r.status for r in engine.store.newsletters()] == ["sent"]
    message = engine.provider.outbox[0]
    assert message.subject == "December news" and "Hello Pat, news." in message.text
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_segment_and_recurring_issue_each_once(project: Path, sqlite_url: str) -> None:
    engine, clock, issue = setup(project, sqlite_url)
    schedule_newsletter(engine.store, issue, at=None, cron="0 9 * * mon", local=False, segment="vip",
                        timezone="Europe/Lisbon", now=clock())
    run_until(engine, clock, START + timedelta(days=15), timedelta(hours=1))
    # Mondays at 09:00 Lisbon after 2026-11-30 00:00 UTC: Nov 30, Dec 7, Dec 14.
    sent = sorted((m.to, m.metadata["lesson"]) for m in engine.provider.outbox)
    assert sent == sorted((f"Pat Doe <{e}>", f"issue-{d}T09:00") for e in ("lisbon@example.com",
                          "la@example.com") for d in ("2026-11-30", "2026-12-07", "2026-12-14"))
    (row,) = engine.store.newsletters()
    assert (row.status, row.wall_time) == ("scheduled", "2026-12-21T09:00")


def test_nothing_twice_when_ticking_again(project: Path, sqlite_url: str) -> None:
    engine, clock, issue = setup(project, sqlite_url)
    schedule_newsletter(engine.store, issue, at="2026-11-30 00:30", cron=None, local=False, segment=None,
                        timezone="UTC", now=clock())
    clock.advance_to(START + timedelta(hours=1))
    assert engine.tick().sent == 3
    assert engine.tick().sent == 0
    assert len(engine.provider.outbox) == 3


def test_bad_schedules_name_the_problem(project: Path, sqlite_url: str) -> None:
    engine, clock, issue = setup(project, sqlite_url)
    with pytest.raises(NewsletterError, match="expected a time like 2026-12-01 09:00"):
        schedule_newsletter(engine.store, issue, at="tomorrow", cron=None, local=False, segment=None,
                            timezone="UTC", now=clock())
    with pytest.raises(NewsletterError, match="newsletter file not found"):
        schedule_newsletter(engine.store, project / "nope.md", at="2026-12-01 09:00", cron=None,
                            local=False, segment=None, timezone="UTC", now=clock())
    with pytest.raises(NewsletterError, match="--cron 'every day'"):
        schedule_newsletter(engine.store, issue, at=None, cron="every day", local=False, segment=None,
                            timezone="UTC", now=clock())
