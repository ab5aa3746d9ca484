from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from sender.engine import Engine
from sender.newsletters import NewsletterError, Scheduled, body_greets, schedule_newsletter
from sender.providers.memory import MemoryProvider
from sender.schedule import SimulatedClock
from sender.settings import load_settings
from sender.store import Store
from sender.store.schema import deliveries, subscribers
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
    assert sent == sorted((f"Pat Doe <{e}>", f"issue-1-{d}T09:00") for e in ("lisbon@example.com",
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


# -- issue 15: a time past, a segment of nobody, one identity per issue, one greeting ----------


def schedule(engine: Engine, issue: Path, **kwargs: Any) -> Scheduled:
    """schedule_newsletter with this file's usual arguments; keywords override them."""
    args: dict[str, Any] = {"at": "2026-11-30 06:00", "cron": None, "local": False, "segment": None,
                            "timezone": "UTC", "now": engine.clock(), **kwargs}
    return schedule_newsletter(engine.store, issue, **args)


def issue_deliveries(store: Store) -> list[tuple[str, str, str, int]]:
    """(email, lesson key, status, earlier attempts) of every newsletter delivery."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(subscribers.c.email, deliveries.c.lesson_key, deliveries.c.status,
                                      deliveries.c.attempts)
                            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)).all()
    return sorted((r.email, r.lesson_key, r.status, r.attempts) for r in rows)


def test_a_time_already_past_is_refused_naming_it_and_now_in_the_newsletters_zone(
        project: Path, db_url: str) -> None:
    engine, clock, issue = setup(project, db_url)  # 2026-11-30 00:00 UTC is 09:00 in Tokyo
    with pytest.raises(NewsletterError) as err:
        schedule(engine, issue, at="2026-11-30 08:59", timezone="Asia/Tokyo")
    assert str(err.value) == ("--at 2026-11-30 08:59 is in the past: it is now 2026-11-30 09:00 in "
                              "Asia/Tokyo; pass --now to send it at the next tick anyway")
    # At a local hour, it is past where that hour has come: Tokyo, not Lisbon or Los Angeles.
    with pytest.raises(NewsletterError) as err:
        schedule(engine, issue, at="2026-11-30 08:00", local=True)
    assert str(err.value) == ("--at 2026-11-30 08:00 --local has passed for subscribers in Asia/Tokyo: "
                              "it is now 2026-11-30 09:00 there; pass --now to send it at the next tick "
                              "anyway")
    with pytest.raises(NewsletterError, match=r"^--at 2026-11-29 09:00 is in the past"):
        schedule(engine, issue, at="2026-11-29 09:00", cron="0 9 * * *")  # its first issue
    assert not engine.store.newsletters()
    clock.advance_to(START + timedelta(seconds=30))
    schedule(engine, issue, at="2026-11-30 09:00", timezone="Asia/Tokyo")  # this minute is not past
    schedule(engine, issue, at="2026-11-30 09:00", local=True)  # not yet in Tokyo, nor further west
    assert [r.status for r in engine.store.newsletters()] == ["scheduled", "scheduled"]


def test_now_sends_at_the_next_tick_on_purpose(project: Path, sqlite_url: str) -> None:
    engine, clock, issue = setup(project, sqlite_url)
    clock.advance_to(START + timedelta(seconds=30))
    at_once = schedule(engine, issue, at=None, send_now=True, timezone="Europe/Lisbon")
    late = schedule(engine, issue, at="2026-11-29 09:00", send_now=True)
    rows = {r.id: r for r in engine.store.newsletters()}
    assert (rows[at_once.id].wall_time, rows[late.id].wall_time) == ("2026-11-30T00:00", "2026-11-29T09:00")
    assert engine.tick().sent == 6  # both, to all three
    assert [r.status for r in engine.store.newsletters()] == ["sent", "sent"]
    with pytest.raises(NewsletterError, match=r"^--now sends at the next tick, but --at 2026-12-01 09:00 is "
                                              r"still to come: give one of them$"):
        schedule(engine, issue, at="2026-12-01 09:00", send_now=True)
    with pytest.raises(NewsletterError, match=r"^--now --local needs --at"):
        schedule(engine, issue, at=None, local=True, send_now=True)


def test_a_segment_that_matches_nobody_is_refused_naming_the_tags_in_use(project: Path, db_url: str) -> None:
    engine, clock, issue = setup(project, db_url)
    add_subscriber(engine.store, "beta@example.com", now=clock(), tags=["beta", "vip"])
    add_subscriber(engine.store, "gone@example.com", now=clock(), tags=["old"], status="unsubscribed")
    with pytest.raises(NewsletterError) as err:
        schedule(engine, issue, at="2026-12-01 09:00", segment="vpi")
    assert str(err.value) == "segment 'vpi' matches no active subscriber; tags in use: beta, vip"
    with pytest.raises(NewsletterError, match=r"^segment 'old' matches no active subscriber"):
        schedule(engine, issue, at="2026-12-01 09:00", segment="old")  # only an unsubscribed one has it
    assert not engine.store.newsletters()
    vip = schedule(engine, issue, at="2026-12-01 09:00", segment="vip")
    everyone = schedule(engine, issue, at="2026-12-01 09:00", cron="0 9 * * mon")
    assert (vip.audience, vip.reach) == (3, "3 subscribers tagged vip")
    assert (everyone.audience, everyone.reach) == (4, "4 active subscribers")


def test_nobody_to_send_to_is_refused(project: Path, sqlite_url: str) -> None:
    engine, clock, issue = setup(project, sqlite_url)
    for email in ("lisbon@example.com", "tokyo@example.com", "la@example.com"):
        engine.store.unsubscribe(engine.store.subscriber_by_email(email).id, None, clock(), "test")
    with pytest.raises(NewsletterError) as err:
        schedule(engine, issue, at="2026-12-01 09:00")
    assert str(err.value) == "there is no active subscriber to send to (add or confirm subscribers first)"


def test_an_issue_whose_segment_emptied_is_reported_and_never_marked_sent(project: Path, db_url: str) -> None:
    engine, clock, issue = setup(project, db_url)
    one_off = schedule(engine, issue, segment="vip")
    daily = schedule(engine, issue, at="2026-11-30 07:00", cron="0 7 * * *", segment="vip")
    for email in ("lisbon@example.com", "la@example.com"):  # the whole segment leaves before 06:00
        engine.store.unsubscribe(engine.store.subscriber_by_email(email).id, None, clock(), "test")
    clock.advance_to(START + timedelta(hours=8))
    report = engine.tick()
    assert (report.sent, engine.provider.outbox) == (0, [])
    assert report.errors == [
        f"newsletter {one_off.id} (news.md): not sent: segment 'vip' matches no active subscriber; "
        "marked 'no-audience' (schedule it again once someone matches)",
        f"newsletter {daily.id} (news.md): the issue of 2026-11-30T07:00 went to nobody: segment 'vip' "
        "matches no active subscriber; the next issue is still scheduled",
    ]
    rows = {r.id: r for r in engine.store.newsletters()}
    assert (rows[one_off.id].status, rows[one_off.id].next_run_at) == ("no-audience", None)
    assert (rows[daily.id].status, rows[daily.id].wall_time) == ("scheduled", "2026-12-01T07:00")
    assert engine.tick().errors == []  # said once, not at every tick


def test_the_same_file_scheduled_twice_for_the_same_time_is_two_issues(project: Path, db_url: str) -> None:
    engine, clock, issue = setup(project, db_url)
    first, second = schedule(engine, issue), schedule(engine, issue)
    clock.advance_to(START + timedelta(hours=7))
    assert engine.tick().sent == 6
    assert engine.tick().sent == 0
    emails = ("la@example.com", "lisbon@example.com", "tokyo@example.com")
    assert issue_deliveries(engine.store) == sorted(
        (e, f"issue-{n}-2026-11-30T06:00", "sent", 0) for e in emails for n in (first.id, second.id))
    assert [r.status for r in engine.store.newsletters()] == ["sent", "sent"]


def _old_key_deliveries(engine: Engine, statuses: dict[str, str], at: datetime) -> None:
    """Deliveries as the version before issue 15 wrote them: keyed `issue-<wall time>`."""
    store = engine.store
    (row,) = [r for r in store.newsletters() if r.id == 1]
    with store.begin() as conn:
        claimed = store.claim_deliveries(conn, [
            {"subscriber_id": store.subscriber_by_email(e).id, "campaign_id": row.campaign_id,
             "lesson_key": f"issue-{row.wall_time}", "position": 1, "status": "sending",
             "scheduled_at": at, "claimed_at": at} for e in statuses])
        for email, status in statuses.items():
            delivery_id, _ = claimed[(store.subscriber_by_email(email).id, row.campaign_id)]
            conn.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(status=status))


def test_an_issue_going_out_across_the_upgrade_sends_nobody_a_second_copy(project: Path, db_url: str) -> None:
    engine, clock, issue = setup(project, db_url)
    schedule(engine, issue)
    # The old version had sent it to Lisbon and queued Tokyo for another try when it stopped.
    _old_key_deliveries(engine, {"lisbon@example.com": "sent", "tokyo@example.com": "queued"},
                        START + timedelta(hours=6, minutes=1))
    clock.advance_to(START + timedelta(hours=6, minutes=5))
    assert engine.tick().sent == 2
    assert sorted(m.to for m in engine.provider.outbox) == ["Pat Doe <la@example.com>",
                                                            "Pat Doe <tokyo@example.com>"]
    key = "issue-1-2026-11-30T06:00"
    assert issue_deliveries(engine.store) == [("la@example.com", key, "sent", 0),
                                              ("lisbon@example.com", key, "sent", 0),
                                              ("tokyo@example.com", key, "sent", 1)]  # its row, tried again
    assert [r.status for r in engine.store.newsletters()] == ["sent"]


def test_old_key_deliveries_of_an_earlier_schedule_are_not_taken_for_a_later_one(
        project: Path, db_url: str) -> None:
    engine, clock, issue = setup(project, db_url)
    first = schedule(engine, issue)
    everyone = {e: "sent" for e in ("lisbon@example.com", "tokyo@example.com", "la@example.com")}
    _old_key_deliveries(engine, everyone, START + timedelta(hours=6, minutes=1))  # sent before the upgrade
    engine.store.update_newsletter(first.id, status="sent", next_run_at=None)
    clock.advance_to(START + timedelta(days=1))
    schedule(engine, issue, send_now=True)  # the same file, for the same time, once more on purpose
    assert engine.tick().sent == 3


@pytest.mark.parametrize(("body", "greeting"), [
    ("Hi {{ subscriber.first_name }},\n\nNews.", "Hi Pat,"),
    ("Hello {{ subscriber.first_name }}, news.", "Hello Pat,"),
    ("Dear {{ subscriber.first_name }},\n\nNews.", "Dear Pat,"),
    ("Hey {{ subscriber.first_name }},\n\nNews.", "Hey Pat,"),
    ("News of the month, in three lines.", None),
])
def test_one_greeting_the_bodys_or_else_the_templates(project: Path, sqlite_url: str, body: str,
                                                       greeting: str | None) -> None:
    engine, clock, issue = setup(project, sqlite_url)
    issue.write_text(f"---\nsubject: December news\n---\n{body}\n")
    schedule(engine, issue)
    clock.advance_to(START + timedelta(hours=7))
    engine.tick()
    message = engine.provider.outbox[0]
    for part in (message.text, message.html):
        if greeting is None:  # the template greets
            assert part.count("Hi Pat,") == 1
        else:
            assert part.count(greeting) == 1 and (greeting == "Hi Pat," or "Hi Pat," not in part)


@pytest.mark.parametrize(("body", "greets"), [
    ("Hi,\n", True), ("\n\n  hey you\n", True), ("## Hello there\n", True), ("**Dear** Pat\n", True),
    ("Good morning, Pat.\n", True), ("HELLO!\n", True),
    ("Hiking season is here.\n", False), ("Hi-fi deals\n", False), ("News, and hi to all\n", False),
    ("Heyday\n", False),
])
def test_what_counts_as_the_bodys_own_greeting(body: str, greets: bool) -> None:
    assert body_greets(body) is greets
