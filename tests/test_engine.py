import itertools
import time
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from sender.engine import Engine
from sender.outcomes import Fault
from sender.providers.base import SendResult
from sender.providers.memory import MemoryProvider
from sender.providers.outbox import OutboxProvider
from sender.schedule import SimulatedClock
from sender.settings import load_settings
from sender.store import Store
from sender.store.schema import deliveries, enrolments
from sender.subscribers import add_subscriber
from tests.conftest import DEADLINE

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


def test_a_placeholder_nobody_has_pauses_the_campaign_and_keeps_the_lesson_queued(
        project: Path, sqlite_url: str) -> None:
    path = project / "campaigns" / "mini" / "01-start.md"
    path.write_text("---\nsubject: Start\npreheader: p\n---\nHi {{ subscriber.nickname }}\n")
    engine, clock = make_engine(project, sqlite_url)
    add_subscriber(engine.store, "a@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    report = engine.tick()
    assert (report.sent, report.failed, report.kept, report.paused) == (0, 0, 1, ["mini"])
    assert report.problems
    assert "01-start.md: undefined variable: this subscriber has no field 'nickname'" in report.errors[0]
    campaign = engine.store.campaign_by_slug("mini")
    assert campaign.status == "paused" and "01-start.md" in campaign.paused_reason
    assert "drip resume mini" in campaign.paused_reason and campaign.resume_at is None
    assert [r.status for r in engine.store.delivery_log()] == ["queued"]


def test_a_field_one_subscriber_lacks_holds_their_lesson_alone(project: Path, db_url: str) -> None:
    # One a batch: on PostgreSQL each is rendered while the one before is being sent.
    path = project / "campaigns" / "mini" / "01-start.md"
    path.write_text("---\nsubject: Start\npreheader: p\n---\nGreetings to {{ subscriber.city }}.\n")
    engine, clock = make_engine(project, db_url)
    engine.settings = engine.settings.replace(batch_size=1)
    for email, fields in (("a@example.com", {"city": "Lisbon"}), ("b@example.com", {}),
                          ("c@example.com", {"city": "Osaka"})):
        add_subscriber(engine.store, email, now=clock(), timezone="UTC", fields=fields)
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    report = engine.tick()
    assert (report.sent, report.failed, report.held, report.paused) == (2, 0, 1, [])
    assert len(report.errors) == 1 and report.errors[0].startswith("b@example.com: mini/01-start: ")
    assert sorted(m.to for m in engine.provider.outbox) == ["a@example.com", "c@example.com"]
    assert {r.email: r.status for r in engine.store.delivery_log()} == {
        "a@example.com": "sent", "b@example.com": "held", "c@example.com": "sent"}
    assert "Greetings to Osaka." in next(m.text for m in engine.provider.outbox if m.to == "c@example.com")


def test_late_lessons_wait_for_the_next_window(project: Path, sqlite_url: str) -> None:
    engine, clock = make_engine(project, sqlite_url)
    add_subscriber(engine.store, "a@example.com", now=clock(), timezone="Asia/Tokyo")
    engine.enrol("mini")
    due = engine.store.next_due_at()
    # The service was down: the next tick happens at 03:00 Tokyo time, two days late.
    clock.advance_to(due + timedelta(days=2) - timedelta(hours=6))
    report = engine.tick()
    assert (report.sent, report.deferred) == (0, 1)
    rescheduled = engine.store.next_due_at()
    assert rescheduled.astimezone(ZoneInfo("Asia/Tokyo")).hour == 9
    clock.advance_to(rescheduled)
    assert engine.tick().sent == 1


def test_removing_a_lesson_never_resends_another(project: Path, sqlite_url: str) -> None:
    engine, clock = make_engine(project, sqlite_url)
    add_subscriber(engine.store, "a@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    engine.tick()  # lesson 1 sent
    (project / "campaigns" / "mini" / "01-start.md").unlink()
    run_course(engine, clock)
    keys = [m.metadata["lesson"] for m in engine.provider.outbox]
    assert keys == ["01-start", "02-next", "03-last"]


def test_a_lesson_added_at_the_end_reaches_those_not_finished(project: Path, sqlite_url: str) -> None:
    engine, clock = make_engine(project, sqlite_url)
    add_subscriber(engine.store, "a@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    engine.tick()
    (project / "campaigns" / "mini" / "04-bonus.md").write_text(
        "---\nsubject: Bonus\npreheader: An extra lesson added later\n---\nBonus body.\n")
    run_course(engine, clock)
    assert [m.metadata["lesson"] for m in engine.provider.outbox][-1] == "04-bonus"
    assert len(engine.provider.outbox) == 4


class FlakyProvider(MemoryProvider):
    """Fails every batch while `down` is set, as a provider outage would."""

    down = True

    def send_messages(self, messages):  # type: ignore[no-untyped-def]
        if self.down:
            raise ConnectionError("provider unreachable")
        return super().send_messages(messages)


def test_outage_pauses_the_campaign_and_nothing_is_lost(project: Path, db_url: str) -> None:
    provider = FlakyProvider(f"memory://flaky-{db_url}")
    engine, clock = make_engine(project, db_url, provider=provider)
    engine.settings = engine.settings.replace(batch_size=1)
    for i in range(4):
        add_subscriber(engine.store, f"p{i}@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    report = engine.tick()
    assert report.sent == 0 and report.retrying == 3 and report.paused == ["mini"]
    with engine.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(deliveries)
                            .where(deliveries.c.status == "sent")).scalar() == 0
    assert next(c["paused_reason"] for c in engine.store.campaign_summary()).startswith(
        "provider memory failed 3 batches in a row: memory: provider unreachable")

    # Still down when the rest is over: three more failed batches pause it again.
    clock.advance_to(clock() + timedelta(seconds=engine.settings.provider_rest_seconds))
    report = engine.tick()
    assert report.resumed == ["mini"] and report.paused == ["mini"] and report.sent == 0

    provider.down = False
    clock.advance_to(clock() + timedelta(seconds=engine.settings.provider_rest_seconds))
    report = engine.tick()  # no staff needed: the campaign tries again by itself
    assert report.resumed == ["mini"] and report.paused == [] and report.sent == 4
    run_course(engine, clock)
    sent = [(m.to, m.metadata["lesson"]) for m in provider.outbox]
    assert len(sent) == len(set(sent)) == 12


def test_follow_up_campaign_starts_when_the_course_is_done(project: Path, sqlite_url: str) -> None:
    import shutil
    shutil.copytree(project / "campaigns" / "mini", project / "campaigns" / "sequel")
    with (project / "campaigns" / "mini" / "campaign.toml").open("a") as f:
        f.write('next_campaign = "sequel"\n')
    engine, clock = make_engine(project, sqlite_url)
    add_subscriber(engine.store, "a@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    run_course(engine, clock)
    assert [m.metadata["campaign"] for m in engine.provider.outbox] == ["mini"] * 3 + ["sequel"] * 3


def test_pausing_a_subscriber_holds_their_lessons(project: Path, sqlite_url: str) -> None:
    engine, clock = make_engine(project, sqlite_url)
    add_subscriber(engine.store, "a@example.com", now=clock(), timezone="UTC")
    add_subscriber(engine.store, "b@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    assert engine.store.set_enrolment_status("a@example.com", "mini", "paused") == 1
    run_course(engine, clock)
    assert {m.to for m in engine.provider.outbox} == {"b@example.com"}
    engine.store.set_enrolment_status("a@example.com", None, "active")
    run_course(engine, clock)
    assert sum(m.to == "a@example.com" for m in engine.provider.outbox) == 3


def test_an_address_the_provider_refuses_is_suppressed_and_never_mailed_again(project: Path,
                                                                              db_url: str) -> None:
    class RefusesOne(MemoryProvider):
        def send_messages(self, messages):  # type: ignore[no-untyped-def]
            sent = super().send_messages([m for m in messages if "bad@" not in m.to])
            return sent + [SendResult(m, ok=False, fault=Fault.RECIPIENT,
                                      error="ErrorCode 406: inactive recipient")
                           for m in messages if "bad@" in m.to]

    engine, clock = make_engine(project, db_url, provider=RefusesOne(f"memory://{project}/refuses"))
    for email in ("good@example.com", "bad@example.com"):
        add_subscriber(engine.store, email, now=clock())
    engine.enrol("mini")
    run_course(engine, clock)
    assert sorted(m.metadata["lesson"] for m in engine.provider.outbox) == ["01-start", "02-next", "03-last"]
    bad = engine.store.subscriber_by_email("bad@example.com")
    assert bad.status == "bounced" and engine.store.is_suppressed("BAD@example.com")
    assert not engine.store.is_suppressed("good@example.com")
    assert [r.status for r in engine.store.delivery_log() if r.email == "bad@example.com"] == ["failed"]


def test_a_subscriber_refused_in_one_course_is_not_claimed_for_another(project: Path, db_url: str) -> None:
    # On PostgreSQL the next batch is claimed while one is sent: a refusal in the batch being
    # sent must roll that claim back, so bad@'s other course is not claimed and mailed too.
    import shutil
    shutil.copytree(project / "campaigns" / "mini", project / "campaigns" / "sequel")
    tried: list[str] = []

    class RefusesBad(MemoryProvider):
        def send_messages(self, messages):  # type: ignore[no-untyped-def]
            tried.extend(m.to for m in messages)
            return [SendResult(m, ok=False, fault=Fault.RECIPIENT, error="inactive recipient")
                    if m.to == "bad@example.com" else SendResult(m, ok=True) for m in messages]

    engine, clock = make_engine(project, db_url, provider=RefusesBad(f"memory://{project}/bad"))
    engine.settings = engine.settings.replace(batch_size=1)
    for email in ("bad@example.com", "good0@example.com", "good1@example.com"):
        add_subscriber(engine.store, email, now=clock(), timezone="UTC")
    engine.enrol("mini")
    engine.enrol("sequel")
    # Due in this order, one a batch: bad@'s first course, bad@'s second, then the others.
    due = engine.store.next_due_at()
    order = {("bad", "mini"): 0, ("bad", "sequel"): 1}
    with engine.store.begin() as conn:
        for row in conn.execute(sa.text(
                "SELECT e.id, s.email, c.slug FROM enrolments e JOIN subscribers s ON s.id = e.subscriber_id "
                "JOIN campaigns c ON c.id = e.campaign_id")).all():
            step = order.get((row.email.split("@")[0], row.slug), 2)
            conn.execute(enrolments.update().where(enrolments.c.id == row.id)
                         .values(next_due_at=due + timedelta(seconds=step)))
    clock.advance_to(due + timedelta(seconds=2))
    report = engine.tick()
    assert tried.count("bad@example.com") == 1
    assert report.sent == 4 and report.failed == 1 and report.suppressed == 1
    # One of bad@'s courses was claimed first (on PostgreSQL both are claimed at once, so either
    # may be); the other was never handed over.
    assert [r.status for r in engine.store.delivery_log() if r.email == "bad@example.com"] == ["failed"]


def _open_claims(conn: sa.Connection) -> int:
    """Transactions of other connections that have written and wait uncommitted: open claims."""
    return conn.execute(sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
        "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()")).scalar()


@pytest.mark.postgres
def test_on_postgresql_the_next_two_batches_are_claimed_during_a_send_and_commit_after_it(
        project: Path, pg_url: str) -> None:
    watcher = sa.create_engine(pg_url.split("?")[0])
    schema = pg_url.split("search_path%3D")[1]
    seen: list[tuple[int, int]] = []
    # Five batches: the first is claimed alone; from then on two claims are open during each
    # send while that many batches are left.
    expected = [2, 2, 2, 1, 0]
    deadline = time.monotonic() + DEADLINE  # for the whole tick: a wrong count waits once, not per batch

    class Watching(MemoryProvider):
        def send_messages(self, messages):  # type: ignore[no-untyped-def]
            # What another connection sees while this batch is being sent: committed deliveries
            # in 'sending' (only this batch's), and how many claims are open meanwhile.
            with watcher.connect() as conn:
                while True:
                    sending = conn.execute(sa.text(f'SELECT count(*) FROM "{schema}".deliveries '
                                                   "WHERE status = 'sending'")).scalar()
                    claiming = _open_claims(conn)
                    if claiming == expected[len(seen)] or time.monotonic() > deadline:
                        break
                    conn.rollback()
                    time.sleep(0.01)
            seen.append((sending, claiming))
            return super().send_messages(messages)

    engine, clock = make_engine(project, pg_url, provider=Watching(f"memory://{project}/watch"))
    engine.settings = engine.settings.replace(batch_size=2)
    for i in range(10):
        add_subscriber(engine.store, f"p{i}@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    assert engine.tick().sent == 10
    assert seen == [(2, n) for n in expected]
    watcher.dispose()


@pytest.mark.postgres
def test_on_postgresql_a_claim_waiting_on_a_later_one_lets_it_commit_first(
        project: Path, pg_url: str) -> None:
    # x@ finishes two one-lesson courses whose follow-up is the same campaign, in two claims
    # made at once. The first claim is slowed, so the second enrols x@ in the follow-up first
    # and the first waits on that row lock: the later claim must commit first, or both wait
    # for ever.
    import shutil
    import threading
    for slug in ("a", "b"):
        course = project / "campaigns" / slug
        course.mkdir()
        shutil.copy(project / "campaigns" / "mini" / "01-start.md", course)
        (course / "campaign.toml").write_text(f'title = "{slug}"\nnext_campaign = "mini"\n')

    class SlowA(Engine):
        def _plan(self, conn, claimable, now, report):  # type: ignore[no-untyped-def]
            if any(self._campaign(d.campaign_id).slug == "a" for d in claimable):
                time.sleep(0.5)  # the claim of a is ready after b's, which holds x@'s rows
            return super()._plan(conn, claimable, now, report)

    plain, clock = make_engine(project, pg_url)
    engine = SlowA(plain.settings.replace(batch_size=1), plain.store, plain.provider, clock)
    add_subscriber(engine.store, "first@example.com", now=clock(), timezone="UTC")
    add_subscriber(engine.store, "x@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini", ["first@example.com"])  # batch 1: claimed alone
    engine.enrol("a", ["x@example.com"])
    engine.enrol("b", ["x@example.com"])
    due = engine.store.next_due_at()
    with engine.store.begin() as conn:  # due in the order: first@'s lesson, x@'s a, x@'s b
        for step, (email, slug) in enumerate([("first", "mini"), ("x", "a"), ("x", "b")]):
            conn.execute(sa.text(
                "UPDATE enrolments SET next_due_at = :at FROM subscribers s, campaigns c "
                "WHERE s.id = enrolments.subscriber_id AND c.id = enrolments.campaign_id "
                "AND s.email = :email AND c.slug = :slug"),
                {"at": (due + timedelta(seconds=step)).replace(tzinfo=None), "email": f"{email}@example.com",
                 "slug": slug})
    clock.advance_to(due + timedelta(seconds=2))
    reports = []
    ticking = threading.Thread(target=lambda: reports.append(engine.tick()), daemon=True)
    ticking.start()
    ticking.join(timeout=DEADLINE)
    assert not ticking.is_alive(), "the tick is stuck: a claim waits on one that waits on it"
    assert reports[0].sent >= 3 and reports[0].completed == 2
    sent = [(m.to, m.metadata["campaign"], m.metadata["lesson"]) for m in engine.provider.outbox]
    assert len(sent) == len(set(sent))
    assert {("x@example.com", c, "01-start") for c in ("a", "b", "mini")} <= set(sent)
    assert engine.store.enrolment_status(engine.store.subscriber_by_email("x@example.com").id,
                                         engine.store.campaign_by_slug("mini").id) is not None


@pytest.mark.postgres
def test_on_postgresql_a_slow_send_does_not_keep_the_next_claim_open(project: Path, pg_url: str) -> None:
    watcher = sa.create_engine(pg_url.split("?")[0])
    open_claims: list[int] = []
    claimed: list[int] = []  # rows each claim has locked

    class Slow(MemoryProvider):
        def send_messages(self, messages):  # type: ignore[no-untyped-def]
            if not open_claims:  # the first batch: a provider retrying until the next claim lets go
                deadline, before = time.monotonic() + DEADLINE, len(claimed)
                with watcher.connect() as conn:
                    while (len(claimed) == before or _open_claims(conn)) and time.monotonic() < deadline:
                        conn.rollback()
                        time.sleep(0.01)
                    open_claims.append(_open_claims(conn))
            return super().send_messages(messages)

    engine, clock = make_engine(project, pg_url, provider=Slow(f"memory://{project}/slow"))
    engine.settings = engine.settings.replace(batch_size=2)
    engine.hold_claim_seconds = 0.1
    claim_due = engine.store.claim_due

    def claiming(*args, **kwargs):  # type: ignore[no-untyped-def]
        rows = claim_due(*args, **kwargs)
        claimed.append(len(rows))  # its rows are locked now, until it commits or rolls back
        return rows

    engine.store.claim_due = claiming  # type: ignore[method-assign]
    for i in range(6):
        add_subscriber(engine.store, f"s{i}@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    assert engine.tick().sent == 6
    # The claim made during the slow send let go of its rows once it had waited 0.1 s for it,
    # while the send was still going on (a claim that held on until the send was done would
    # still be open here); each address got its lesson once all the same.
    assert claimed[:2] == [2, 2] and open_claims == [0]
    assert sorted(m.to for m in engine.provider.outbox) == [f"s{i}@example.com" for i in range(6)]
    watcher.dispose()


def test_on_sqlite_the_next_batch_is_claimed_during_a_send_and_stored_with_its_outcomes(
        project: Path, sqlite_url: str) -> None:
    reader = sa.create_engine(sqlite_url)
    seen: list[tuple[int, bool]] = []
    claims: list[int] = []
    deadline = time.monotonic() + DEADLINE  # for the whole tick: a missing claim waits once, not per batch

    class Watching(MemoryProvider):
        def send_messages(self, messages):  # type: ignore[no-untyped-def]
            # Committed deliveries in 'sending' are only this batch's; meanwhile the tick has
            # claimed the next one (or found nothing left), without committing it.
            while len(claims) <= len(seen) + 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            with reader.connect() as conn:
                sending = conn.execute(sa.text("SELECT count(*) FROM deliveries "
                                               "WHERE status = 'sending'")).scalar()
            seen.append((sending, len(claims) > len(seen) + 1))
            return super().send_messages(messages)

    engine, clock = make_engine(project, sqlite_url, provider=Watching(f"memory://{project}/watch"))
    engine.settings = engine.settings.replace(batch_size=2)
    claim_due = engine.store.claim_due
    engine.store.claim_due = lambda *a, **k: claims.append(1) or claim_due(*a, **k)  # type: ignore[method-assign]
    for i in range(10):
        add_subscriber(engine.store, f"p{i}@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    assert engine.tick().sent == 10
    assert seen == [(2, True)] * 5
    assert {r.status for r in engine.store.delivery_log()} == {"sent"}
    reader.dispose()
