import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from sender.store import MIGRATIONS, Store, head_revision
from sender.store.schema import deliveries, metadata, subscribers
from tests.conftest import DEADLINE, wait_until

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_migrations_create_the_schema_the_code_expects(db_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    store = Store(db_url)
    Store(db_url).close()  # a second start migrates nothing and does not fail
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == head
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    # Only type-level noise would be acceptable; tables, columns, indexes must match, but for
    # PostgreSQL's own GIN indexes (migrations 0009, where the server has pg_trgm, and 0010)
    # and SQLite's own tag table (0011, kept by triggers) and partial index (0012).
    own = ("ix_subscribers_email_trgm", "ix_subscribers_tags",
           "subscriber_tags", "ix_subscriber_tags_subscriber", "ix_subscribers_not_active")
    assert [d for d in diff if d[0] in {"add_table", "remove_table", "add_column", "remove_column",
                                         "add_index", "remove_index"}
            and getattr(d[1], "name", None) not in own] == []
    store.close()


def test_migrations_are_numbered_in_one_line_so_the_newest_number_is_the_head() -> None:
    """`head_revision` reads the newest file's number instead of loading Alembic, which holds
    only while each migration's revision is its file's number and revises the one before."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    revisions = list(reversed(list(script.walk_revisions())))  # oldest first
    for before, revision in zip([None, *revisions], revisions, strict=False):
        assert Path(revision.path).name.startswith(f"{revision.revision}_"), revision.path
        assert revision.down_revision == (before.revision if before else None), revision.path
    assert head_revision() == script.get_current_head() == revisions[-1].revision


def test_a_store_at_the_newest_revision_opens_without_alembic(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    Store(db_url).close()  # migrated
    with monkeypatch.context() as patched:
        patched.setattr("alembic.command.upgrade", lambda *a: pytest.fail("Alembic ran again"))
        store = Store(db_url)
        with store.engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        store.close()
    assert version == head_revision()


@pytest.mark.postgres
def test_an_address_another_writer_adds_meanwhile_is_updated_not_lost(pg_url: str) -> None:
    """Two writers, one address: the one whose insert finds the other's row once that commits
    updates it instead, in a transaction of its own."""
    store = Store(pg_url)
    with store.engine.connect() as other:
        other.execute(subscribers.insert().values(email="a@example.com", name="", fields={}, tags=["x"],
                                                  status="active", created_at=NOW, updated_at=NOW))
        result: list[tuple[int, bool]] = []
        writer = threading.Thread(target=lambda: result.append(
            store.upsert_subscriber("a@example.com", now=NOW, name="Ann", tags=["y"])))
        writer.start()  # its SELECT misses the uncommitted row; its insert waits for it
        with store.engine.connect() as watch:
            assert wait_until(lambda: watch.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")).scalar()), "the second writer never waited"
        other.commit()
    writer.join(DEADLINE)
    row = store.subscriber_by_email("a@example.com")
    assert result == [(row.id, False)]
    assert (row.name, row.tags) == ("Ann", ["x", "y"])
    store.close()


@pytest.mark.postgres
def test_postgresql_searches_addresses_by_fragment_in_a_trigram_index(pg_url: str) -> None:
    """The console's "%fragment%" search can use an index on PostgreSQL (a b-tree can't)."""
    from sender.store.console import search_subscribers

    store = Store(pg_url)
    for n in range(50):
        store.upsert_subscriber(f"person{n}@example.com", now=NOW)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: ask whether it *can*
        plan = conn.execute(sa.text("EXPLAIN SELECT id FROM subscribers WHERE email LIKE '%son4%' "
                                    "ORDER BY id LIMIT 50")).scalars().all()
    assert any("ix_subscribers_email_trgm" in line for line in plan), plan
    assert [r.email for r in search_subscribers(store, query="SON4")] == [
        f"person{n}@example.com" for n in (4, *range(40, 50))]
    store.close()


@pytest.mark.postgres
def test_postgresql_counts_a_segment_in_the_tags_index(pg_url: str) -> None:
    """Tags are jsonb with a GIN index: a segment is found in the index, not by casting every row."""
    from sender.segments import segment_condition

    store = Store(pg_url)
    for n in range(30):
        store.upsert_subscriber(f"p{n}@example.com", now=NOW, tags=["vip"] if n % 3 == 0 else ["blog"])
    sql = str(sa.select(sa.func.count()).where(segment_condition("vip", "postgresql"))
              .compile(dialect=store.engine.dialect))
    assert "CAST(subscribers.tags AS JSONB) @>" in sql  # the form the EXPLAIN below asks about
    with store.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: ask whether it *can*
        plan = conn.execute(sa.text("EXPLAIN SELECT count(*) FROM subscribers "
                                    """WHERE CAST(subscribers.tags AS JSONB) @> '["vip"]'""")).scalars().all()
    assert any("ix_subscribers_tags" in line for line in plan), plan
    assert store.segment_size("vip") == 10 and store.segment_size("blog AND NOT vip") == 20
    assert store.subscriber_by_email("p0@example.com").tags == ["vip"]
    store.close()


def test_one_delivery_per_subscriber_and_lesson(db_url: str) -> None:
    store = Store(db_url)
    sid, _ = store.upsert_subscriber("a@example.com", now=NOW)
    cid = store.ensure_campaign("c", title="C", now=NOW)
    row = {"subscriber_id": sid, "campaign_id": cid, "lesson_key": "01-a", "position": 1,
           "status": "sending", "claimed_at": NOW}
    with store.begin() as conn:
        first = store.claim_deliveries(conn, [row])
    with store.begin() as conn:
        second = store.claim_deliveries(conn, [row])
    assert list(first.values()) and second == {}
    # Only a delivery queued for another try can be claimed again, and its tries are counted.
    with store.begin() as conn:
        conn.execute(deliveries.update().values(status="queued"))
        third = store.claim_deliveries(conn, [row])
    assert third == {(sid, cid): (first[(sid, cid)][0], 1)}
    # The database itself refuses a duplicate, whatever code tries it.
    with pytest.raises(sa.exc.IntegrityError), store.begin() as conn:
        conn.execute(deliveries.insert().values(**row))
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar() == 1
    store.close()


def test_upsert_keeps_status_and_consent(db_url: str) -> None:
    store = Store(db_url)
    sid, created = store.upsert_subscriber("a@example.com", now=NOW, name="A", consent_source="form")
    sid2, created2 = store.upsert_subscriber("a@example.com", now=NOW, name="Ann")
    assert (created, created2, sid) == (True, False, sid2)
    row = store.subscriber_by_email("a@example.com")
    assert (row.name, row.consent_source, row.consent_at) == ("Ann", "form", NOW)
    store.close()


def test_signing_key_is_generated_once(db_url: str) -> None:
    store = Store(db_url)
    assert store.signing_key() == store.signing_key() != ""
    store.close()


@pytest.mark.postgres
def test_array_literals_round_trip_awkward_values(pg_url: str) -> None:
    from sender.store import _pg_array

    texts = ['plain', 'a "quoted" word', "back\\slash", "comma, {brace}", "", "line\nbreak", "NULL",
             "ünïcode"]
    stamps = [datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=UTC), None]
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        got = conn.execute(
            sa.text("SELECT CAST(:t AS varchar[]), CAST(:d AS timestamp[]), CAST(:i AS integer[]), "
                    "CAST(:n AS integer[]), CAST(:e AS integer[])"),
            {"t": _pg_array([*texts, None]), "d": _pg_array(stamps), "i": _pg_array([1, None, -7]),
             "n": _pg_array([3, -2, 0, 2**31 - 1]), "e": _pg_array([])}).one()
    engine.dispose()
    assert got[0] == [*texts, None]
    assert got[1] == [datetime(2026, 3, 1, 12, 30, 15, 250000), None]
    assert got[2] == [1, None, -7]
    assert got[3] == [3, -2, 0, 2**31 - 1] and got[4] == []


def test_batch_statements_are_planned_generically_only_inside_the_claim(pg_url: str) -> None:
    # A generic plan joins a batch's arrays by key; the setting must not outlive the claim's
    # transaction, or every later query on that pooled connection would be planned so too.
    store = Store(pg_url)
    with store.engine.connect() as conn:
        with conn.begin():
            store.claim_due(conn, NOW, 10)
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_generic_plan"
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "auto"
    store.close()


def test_a_claim_reads_its_subscribers_as_the_column_types_do(db_url: str) -> None:
    """On SQLite a claim reads its rows as one JSON value (see `Store._sqlite_claim_query`):
    what it hands over must be what the typed query gives, fields, names and zones included."""
    from sender.store.schema import campaigns, enrolments, subscribers

    store = Store(db_url)
    odd = [
        ("anna@bücher.example", "Anna Ærø", "Pacific/Auckland",
         {"city": "Zürich", "n": 3, "x": [1, {"y": None}]},
         datetime(2026, 3, 1, 11, 59, 59, 999999, tzinfo=UTC)),
        ("b@example.com", "", None, {}, datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("c@example.com", 'Quote "Me"', "UTC", {"big": 2**53, "f": 1.5, "s": "a\nb\u2028"},
         datetime(2025, 12, 31, 23, 0, 0, 123, tzinfo=UTC)),
    ]
    with store.begin() as conn:
        cid = conn.execute(campaigns.insert().values(slug="c", title="C", created_at=NOW)
                           ).inserted_primary_key[0]
        for i, (email, name, zone, fields, due) in enumerate(odd, 1):
            conn.execute(subscribers.insert().values(
                id=i, email=email, name=name, timezone=zone, fields=fields, tags=[], status="active",
                created_at=NOW, updated_at=NOW))
            conn.execute(enrolments.insert().values(subscriber_id=i, campaign_id=cid, status="active",
                                                    next_position=i, enrolled_at=NOW, next_due_at=due))
    with store.engine.connect() as conn, conn.begin():
        typed = conn.execute(store._claim_query, {"now": NOW, "limit": 10}).all()
        claimed = store.claim_due(conn, NOW, 10)
    assert [(d.enrolment_id, d.subscriber_id, d.campaign_id, d.next_position, d.next_due_at,
             d.subscriber.email, d.subscriber.name, d.subscriber.timezone, d.subscriber.fields,
             d.subscriber.status) for d in claimed] == [tuple(row) for row in typed]
    assert [d.next_due_at for d in claimed] == sorted(o[4] for o in odd)  # oldest due first, aware
    assert all(d.next_due_at.tzinfo is UTC for d in claimed)
    store.close()


def test_a_claim_reads_due_enrolments_in_order_whatever_the_statistics(sqlite_url: str) -> None:
    """With enrolments analyzed and subscribers not (as PRAGMA optimize can leave them after a
    big import), SQLite planned the claim from the subscribers' status index and sorted every
    due enrolment, for each claim: a send of 100,000 slowed to a third."""
    from sender.store.schema import campaigns, enrolments, subscribers

    store = Store(sqlite_url)
    with store.begin() as conn:
        cid = conn.execute(campaigns.insert().values(slug="c", title="C", created_at=NOW)
                           ).inserted_primary_key[0]
        conn.execute(subscribers.insert(), [
            {"id": i, "email": f"p{i}@example.com", "fields": {}, "tags": [], "status": "active",
             "created_at": NOW, "updated_at": NOW} for i in range(1, 2001)])
        conn.execute(enrolments.insert(), [
            {"subscriber_id": i, "campaign_id": cid, "status": "active", "next_position": 1,
             "enrolled_at": NOW, "next_due_at": NOW} for i in range(1, 2001)])
        conn.exec_driver_sql("ANALYZE enrolments")
    with store.engine.connect() as conn:
        for query in (store._claim_query, store._sqlite_claim_query):
            compiled = query.compile(dialect=store.engine.dialect)
            values = compiled.construct_params({"now": NOW, "limit": 500})
            args = tuple(f"{v:%Y-%m-%d %H:%M:%S.%f}" if isinstance(v, datetime) else v
                         for v in (values[k] for k in compiled.positiontup or []))
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", args).all()]
            assert plan[0 if query is store._claim_query else 1].startswith(
                "SEARCH enrolments USING INDEX ix_enrolments_due"), plan
            assert not any("TEMP B-TREE" in step for step in plan), plan
    store.close()
