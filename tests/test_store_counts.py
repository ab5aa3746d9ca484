"""The figures of `drip status` and the console, counted in the indexes: the same numbers
as a GROUP BY over every row, from plans that read no table rows; and SQLite's statistics
kept up to date by the store itself."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from sender.store import MIGRATIONS, Store
from sender.store import console as queries
from sender.store.reports import unknown_outcomes_per_campaign
from sender.store.schema import campaigns, deliveries, enrolments, subscribers

NOW = datetime(2026, 6, 1, 12, 30, tzinfo=UTC)
REPO = Path(__file__).resolve().parent.parent
STATUSES = ("active", "active", "active", "unsubscribed", "bounced", "pending")
ENROLLED = ("active", "active", "completed", "paused", "stopped")
CAMPAIGNS = ((1, "course", "course", "active"), (2, "news", "newsletter", "active"),
             (3, "old", "course", "paused"))
DELIVERED = ("sent", "sent", "sent", "sent", "failed", "queued", "held", "sending", "suppressed")


def _fill(store: Store, people: int = 300, seed: int = 3) -> None:
    """Campaigns (one paused), subscribers, enrolments due from ten days ago to three weeks on
    (some exactly at midnight) and deliveries of every status, some claimed long ago."""
    rnd = random.Random(seed)
    with store.begin() as conn:
        conn.execute(campaigns.insert(), [
            {"id": cid, "slug": slug, "kind": kind, "title": slug, "status": status, "created_at": NOW}
            for cid, slug, kind, status in CAMPAIGNS])
        conn.execute(subscribers.insert(), [
            {"id": i, "email": f"p{i}@example.com", "fields": {}, "tags": [], "status": rnd.choice(STATUSES),
             "created_at": NOW, "updated_at": NOW} for i in range(1, people + 1)])
        rows, sent = [], []
        for i in range(1, people + 1):
            for cid in (1, 3):
                if rnd.random() < 0.8:
                    day = NOW.replace(hour=0, minute=rnd.choice((0, 30)))
                    day += timedelta(days=rnd.randint(-10, 20))
                    due = day if rnd.random() < 0.2 else day + timedelta(minutes=rnd.randint(0, 1439))
                    rows.append({"subscriber_id": i, "campaign_id": cid, "status": rnd.choice(ENROLLED),
                                 "next_position": rnd.randint(1, 5), "next_due_at": due, "enrolled_at": NOW})
            for cid, key in ((1, "01-a"), (1, "02-b"), (2, "issue-1"), (3, "01-a")):
                if rnd.random() < 0.7:
                    claimed = NOW - timedelta(minutes=rnd.choice((1, 5, 20, 600)))
                    sent.append({"subscriber_id": i, "campaign_id": cid, "lesson_key": key, "position": 1,
                                 "status": rnd.choice(DELIVERED), "claimed_at": claimed})
        conn.execute(enrolments.insert(), rows)
        conn.execute(deliveries.insert(), sent)


def _grouped(store: Store, *columns: Any, where: Any = None) -> dict[tuple[Any, ...], int]:
    """The reference: a GROUP BY over every row."""
    with store.engine.connect() as conn:
        return {tuple(r[:-1]): r[-1] for r in conn.execute(
            sa.select(*columns, sa.func.count()).where(sa.true() if where is None else where)
            .group_by(*columns))}


def _nested(flat: dict[tuple[Any, ...], int]) -> dict[Any, dict[Any, int]]:
    out: dict[Any, dict[Any, int]] = {}
    for (*outer, inner), n in flat.items():
        out.setdefault(outer[0] if len(outer) == 1 else tuple(outer), {})[inner] = n
    return out


def test_counts_are_those_of_a_group_by_over_every_row(db_url: str) -> None:
    store = Store(db_url)
    _fill(store)
    d, e = deliveries.c, enrolments.c
    lessons = _nested(_grouped(store, d.campaign_id, d.lesson_key, d.status))
    assert store.lesson_counts() == queries.delivery_counts(store) == lessons
    sent = _grouped(store, d.campaign_id, d.lesson_key, where=d.status == "sent")
    assert store.sent_per_lesson() == _nested(sent)
    enrolled = _nested(_grouped(store, e.campaign_id, e.status))
    assert queries.enrolment_counts(store) == enrolled
    assert queries.enrolment_counts(store, 3) == {3: enrolled[3]}
    by_status = _nested(_grouped(store, d.campaign_id, d.status))
    for c in store.campaign_summary():
        assert c["enrolments"] == enrolled.get(c["id"], {})
        assert c["deliveries"] == by_status.get(c["id"], {})
        assert c["lessons"] == {key: n for (cid, key), n in lessons.items() if cid == c["id"]}
    people = _grouped(store, subscribers.c.status)
    assert queries.subscriber_status_counts(store) == {s: n for (s,), n in people.items()}
    stale = (d.status == "sending") & (d.claimed_at < NOW - timedelta(minutes=15))
    assert unknown_outcomes_per_campaign(store, NOW) == {
        cid: n for (cid,), n in _grouped(store, d.campaign_id, where=stale).items()}
    store.close()


@pytest.mark.parametrize("start", [NOW.replace(hour=0, minute=0), NOW])  # at midnight, and mid-day
def test_lessons_due_per_day_are_those_of_grouping_by_date(db_url: str, start: datetime) -> None:
    store = Store(db_url)
    _fill(store)
    e = enrolments.c
    day = sa.func.date(e.next_due_at)
    expected: dict[int, dict[str, int]] = {}
    for (cid, when), n in _grouped(store, e.campaign_id, day, where=(e.status == "active") & (
            e.next_due_at >= start) & (e.next_due_at < start + timedelta(days=14))).items():
        expected.setdefault(cid, {})[str(when)[:10]] = n
    assert store.upcoming_per_day(start, 14) == expected
    store.close()


def test_upcoming_lessons_are_those_of_grouping_by_campaign_lesson_and_date(db_url: str) -> None:
    store = Store(db_url)
    _fill(store)
    e = enrolments.c
    end = NOW.replace(hour=0, minute=0) + timedelta(days=12)
    day = sa.func.date(e.next_due_at)
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(e.campaign_id, e.next_position, day, sa.func.count(), sa.func.min(e.next_due_at))
            .join(campaigns, campaigns.c.id == e.campaign_id)
            .where(e.status == "active", campaigns.c.status == "active", e.next_due_at < end)
            .group_by(e.campaign_id, e.next_position, day)).all()
    expected = {(cid, position, str(when)[:10]): (n, str(first)[:19])
                for cid, position, when, n, first in rows}
    got = {(g.campaign_id, g.position, g.day): (g.count, g.first_due.strftime("%Y-%m-%d %H:%M:%S"))
           for g in queries.upcoming_lessons(store, end)}
    assert got == expected
    assert len({day for _, _, day in got}) > 10  # overdue days and days ahead both there
    assert all(g.first_due.tzinfo is not None for g in queries.upcoming_lessons(store, end))
    store.close()


def _statements(store: Store) -> list[str]:
    """Every SELECT that `drip status`'s and the console's counts send, as sent."""
    seen: list[tuple[str, Any]] = []

    def log(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", log)
    store.campaign_summary()
    store.upcoming_per_day(NOW, 14)
    unknown_outcomes_per_campaign(store, NOW)
    queries.enrolment_counts(store)
    queries.enrolment_counts(store, 1)
    queries.subscriber_status_counts(store)
    queries.upcoming_lessons(store, NOW + timedelta(days=30))
    sa.event.remove(store.engine, "before_cursor_execute", log)
    return seen  # type: ignore[return-value]


BIG = ("deliveries", "enrolments", "subscribers")


def test_counts_read_indexes_not_rows(db_url: str) -> None:
    """Each count is planned as index searches: no pass over a big table's rows and no sort
    of them, whatever the planner knows. SQLite gets no statistics here; PostgreSQL is told
    that reading the table costs more than anything (its plans for a few rows would read
    the table anyway, which at a million rows they do not)."""
    store = Store(db_url)
    _fill(store)
    if store.dialect == "sqlite":
        with store.begin() as conn:
            if conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
                conn.execute(sa.text("DELETE FROM sqlite_stat1"))
        store.close()
        store = Store(db_url)
    problems = []
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        if store.dialect == "postgresql":
            cur.execute("SET enable_seqscan = off")
            cur.execute("SET enable_bitmapscan = off")
        for statement, parameters in _statements(store):
            if store.dialect == "sqlite":
                cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                plan = [row[3] for row in cur.fetchall()]
                bad = [step for step in plan if any(
                    step.startswith(f"SCAN {t}") and "COVERING INDEX" not in step for t in BIG)
                    or "TEMP B-TREE" in step]
            else:
                cur.execute("EXPLAIN " + statement, parameters)
                plan = [row[0] for row in cur.fetchall()]
                bad = [step for step in plan if any(f"Seq Scan on {t}" in step for t in BIG)
                       or "Sort" in step or "HashAggregate" in step]
            if bad:
                problems.append((statement[:200], bad))
    assert problems == []
    store.close()


def _stat_tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
            return set()
        tables = set(conn.execute(sa.text("SELECT tbl FROM sqlite_stat1")).scalars())
    engine.dispose()
    return tables


def test_an_upgraded_sqlite_store_has_statistics(tmp_path: Path) -> None:
    """A store made by an earlier version, and filled, is analyzed when its migrations run:
    the new indexes would otherwise be planned blind."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")
    engine.dispose()
    store = Store(url, auto_migrate=False)
    _fill(store)
    store.engine.dispose()  # closed without the store's own goodbye
    store = Store(url)
    assert {"deliveries", "enrolments", "subscribers"} <= _stat_tables(url)
    store.close()


def test_a_sqlite_store_gathers_statistics_as_it_closes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    store = Store(url)  # made empty: nothing to analyze yet
    _fill(store)
    store.campaign_summary()
    store.close()
    assert {"deliveries", "enrolments"} <= _stat_tables(url)


def test_a_command_that_never_closes_its_store_leaves_statistics(tmp_path: Path) -> None:
    """`drip tick` and others leave their store open when they exit."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store(url)
    _fill(store)
    store.close()
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM sqlite_stat1"))
    store.engine.dispose()
    code = (f"from sender.store import Store\ns = Store({url!r})\ns.campaign_summary()\n"
            "import sender.store.console as q\nq.subscriber_status_counts(s)\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=120)
    assert {"deliveries", "enrolments", "subscribers"} <= _stat_tables(url)

