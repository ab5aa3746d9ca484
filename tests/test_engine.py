import itertools
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from sender.engine import Engine
from sender.providers.memory import MemoryProvider
from sender.providers.outbox import OutboxProvider
from sender.schedule import SimulatedClock
from sender.settings import load_settings
from sender.store import Store
from sender.store.schema import deliveries, enrolments
from sender.subscribers import add_subscriber

START = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)  # spans Europe's DST change on 03-29


def make_engine(project: Path, url: str, provider=None) -> tuple[Engine, SimulatedClock]:
    settings = load_settings(project, environ={}).replace(database_url=url)
    clock = SimulatedClock(START)
    provider = provider or MemoryProvider(f"memory://{project}")
    provider.outbox.clear() if isinstance(provider, MemoryProvider) else None
    return Engine(settings, Store(url), provider, clock), clock


def run_course(engine: Engine, clock: SimulatedClock) -> None:
    while (due := engine.store.next_due_at()) is not None:
        clock.advance_to(due)
        engine.tick()


def test_whole_course_reaches_everyone_once_at_nine_local(project: Path, db_url: str) -> None:
    engine, clock = make_engine(project, db_url)
    people = {"maria@example.com": "Europe/Lisbon", "ken@example.com": "Asia/Tokyo",
              "ana@example.com": "America/Sao_Paulo"}
    for email, tz in people.items():
        add_subscriber(engine.store, email, now=clock(), name=email[:3].title(), timezone=tz)
    assert engine.enrol("mini") == 3
    assert engine.enrol("mini") == 0  # enrolling again changes nothing

    run_course(engine, clock)

    sent = engine.provider.outbox
    assert len(sent) == 9
    assert len({(m.to, m.metadata["lesson"]) for m in sent}) == 9
    with engine.store.engine.connect() as conn:
        rows = conn.execute(sa.select(deliveries)).all()
        assert {r.status for r in rows} == {"sent"}
        assert conn.execute(sa.select(enrolments.c.status)).scalars().all() == ["completed"] * 3
    for row in engine.store.delivery_log():
        local = row.sent_at.astimezone(ZoneInfo(people[row.email]))
        assert (local.hour, local.minute) == (9, 0), (row.email, row.lesson_key, local)
    # Lesson 2 comes 2 local days after lesson 1, lesson 3 three days after lesson 2.
    maria = sorted((r.position, r.sent_at) for r in engine.store.delivery_log()
                   if r.email == "maria@example.com")
    days = [(b[1].astimezone(ZoneInfo("Europe/Lisbon")).date()
             - a[1].astimezone(ZoneInfo("Europe/Lisbon")).date()).days
            for a, b in itertools.pairwise(maria)]
    assert days == [2, 3]

    # Ticking again later sends nothing new.
    clock.advance_to(clock() + timedelta(days=30))
    report = engine.tick()
    assert (report.sent, len(engine.provider.outbox)) == (0, 9)


def test_unsubscribed_subscriber_gets_nothing_more(project: Path, sqlite_url: str) -> None:
    engine, clock = make_engine(project, sqlite_url)
    add_subscriber(engine.store, "a@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    assert engine.tick().sent == 1
    with engine.store.begin() as conn:
        conn.execute(sa.text("update subscribers set status='unsubscribed'"))
    clock.advance_to(clock() + timedelta(days=20))
    assert engine.tick().sent == 0
    assert len(engine.provider.outbox) == 1


def test_outbox_messages_are_complete_and_escape_subscriber_data(project: Path, sqlite_url: str,
                                                                  tmp_path: Path) -> None:
    outbox = OutboxProvider("outbox://out", base_dir=tmp_path)
    engine, clock = make_engine(project, sqlite_url, provider=outbox)
    add_subscriber(engine.store, "x@example.com", now=clock(), name="<script>alert(1)</script> Evil",
                   timezone="Asia/Tokyo")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    engine.tick()
    (eml,) = list((tmp_path / "out").glob("*.eml"))
    msg = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert msg.defects == []
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Unsubscribe"].startswith("<http") and "mailto:" in msg["List-Unsubscribe"]
    assert msg["Message-ID"].startswith("<") and msg["Subject"] == "Start here"
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    assert "<script>alert(1)</script>" not in html
    assert "Hi &lt;script&gt;alert(1)&lt;/script&gt;," in html
    assert "Hi <script>alert(1)</script>," in text
    assert "read this (https://example.org/a) [1]" in " ".join(text.split())
    assert "Ref One &lt;1&gt;" in html and "1. Ref One <1>" in text
    assert "Unsubscribe" in html and "Vancouver" in html
    assert 'lang="en"' in html and "fonts.googleapis" not in html


@pytest.mark.parametrize("lesson_body", ["Hi {{ subscriber.nickname }}"])
def test_undefined_variable_fails_the_delivery_not_the_batch(project: Path, sqlite_url: str,
                                                             lesson_body: str) -> None:
    path = project / "campaigns" / "mini" / "01-start.md"
    path.write_text("---\nsubject: Start\npreheader: p\n---\n" + lesson_body + "\n")
    engine, clock = make_engine(project, sqlite_url)
    add_subscriber(engine.store, "a@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    report = engine.tick()
    assert (report.sent, report.failed) == (0, 1)
    assert "01-start.md: undefined variable: 'dict object' has no attribute 'nickname'" in report.errors[0]
