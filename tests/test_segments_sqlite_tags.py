"""SQLite reads segments from `subscriber_tags` (migration 0011), which triggers keep from
`subscribers.tags`: whoever writes a subscriber, the table follows, and a segment is read by
tag from its key instead of every subscriber's json."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from sender.segments import Expr, Not, Or, Tag, condition, count_active, parse, segment_condition
from sender.store import MIGRATIONS, Store
from sender.store.schema import campaigns, enrolments, subscribers
from sender.subscribers import add_subscriber

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def tag_rows(store: Store) -> set[tuple[str, str]]:
    with store.engine.connect() as conn:
        return set(conn.execute(sa.text(
            "SELECT s.email, t.tag FROM subscriber_tags AS t "
            "JOIN subscribers AS s ON s.id = t.subscriber_id")).all())


def test_the_tag_table_follows_every_write_of_a_subscriber(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    add_subscriber(store, "a@example.com", now=NOW, tags=["vip", "blog"])
    add_subscriber(store, "b@example.com", now=NOW, tags=[])
    add_subscriber(store, "a@example.com", now=NOW, tags=["podcast"])  # merged into a's tags
    with store.begin() as conn:  # a bulk insert, as the benches and other tools write
        conn.execute(subscribers.insert(), [
            {"email": f"bulk{i}@example.com", "name": "", "fields": {}, "tags": ["vip"] if i % 2 else [],
             "status": "active", "created_at": NOW, "updated_at": NOW} for i in range(4)])
    assert tag_rows(store) == {("a@example.com", "blog"), ("a@example.com", "podcast"),
                               ("a@example.com", "vip"), ("bulk1@example.com", "vip"),
                               ("bulk3@example.com", "vip")}
    with store.begin() as conn:
        conn.execute(subscribers.update().where(subscribers.c.email == "a@example.com").values(tags=["blog"]))
        conn.execute(subscribers.update().where(subscribers.c.email == "b@example.com").values(tags=["new"]))
        conn.execute(subscribers.delete().where(subscribers.c.email == "bulk1@example.com"))
        conn.execute(subscribers.update().where(subscribers.c.email == "bulk3@example.com").values(name="N"))
    assert tag_rows(store) == {("a@example.com", "blog"), ("b@example.com", "new"),
                               ("bulk3@example.com", "vip")}
    store.close()


def test_a_segment_reads_its_tags_by_key(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    query = sa.select(sa.func.count()).select_from(subscribers).where(
        subscribers.c.status == "active", segment_condition("(vip OR blog) AND NOT webinar", "sqlite"))
    with store.engine.connect() as conn:
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()]
    assert sum("SEARCH subscriber_tags USING PRIMARY KEY (tag=?" in step for step in plan) == 3, plan
    assert not any("json_each" in step for step in plan), plan
    store.close()


def test_a_count_merges_sets_that_come_out_in_id_order(sqlite_url: str) -> None:
    """Each set of a count streams in id order (a tag's key range, the partial index of those
    not active), so SQLite merges them instead of copying them into temporary b-trees."""
    store = Store(sqlite_url)
    with store.engine.connect() as conn:
        compiled = count_active(parse("(vip OR blog) AND NOT webinar")).compile(
            conn, compile_kwargs={"literal_binds": True})
        plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()]
    assert [step for step in plan if step.startswith("MERGE")] == [
        "MERGE (EXCEPT)", "MERGE (EXCEPT)", "MERGE (UNION)"], plan
    assert "SCAN subscribers USING INDEX ix_subscribers_not_active" in plan, plan
    assert not any("TEMP B-TREE" in step for step in plan), plan
    store.close()


def test_the_migration_fills_the_table_from_the_tags_already_there(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:  # a database as the release before left it
        config.attributes["connection"] = conn
        command.upgrade(config, "0010")
        conn.execute(subscribers.insert(), [
            {"email": "old@example.com", "name": "", "fields": {}, "tags": ["vip", "early bird"],
             "status": "active", "created_at": NOW, "updated_at": NOW}])
    engine.dispose()
    store = Store(url)  # migrates to the latest revision
    assert tag_rows(store) == {("old@example.com", "vip"), ("old@example.com", "early bird")}
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(subscribers)
                            .where(segment_condition('"early bird" AND NOT churned', "sqlite"))).scalar() == 1
    store.close()


def matches(expr: Expr, tags: set[str]) -> bool:
    if isinstance(expr, Tag):
        return expr.name in tags
    if isinstance(expr, Not):
        return not matches(expr.term, tags)
    if isinstance(expr, Or):
        return any(matches(t, tags) for t in expr.terms)
    return all(matches(t, tags) for t in expr.terms)


@pytest.mark.parametrize("text", [
    "vip", "vip AND blog", "vip OR blog", "(vip OR blog) AND NOT webinar", "NOT vip", "NOT (vip OR blog)",
    "vip OR NOT blog", "NOT vip AND NOT blog", "(vip AND NOT blog) OR (webinar AND podcast)", "nobody",
])
def test_counts_on_the_tag_sets_agree_with_each_subscribers_tags(sqlite_url: str, text: str) -> None:
    """The count staff see (`count_active`: sets, the inactive taken out) and the condition a
    send claims with (`condition`) pick exactly whom the expression names, among the active."""
    rnd = random.Random(7)
    store = Store(sqlite_url)
    people = [(f"p{i}@example.com", set(rnd.sample(["vip", "blog", "webinar", "podcast"], rnd.randint(0, 3))),
               rnd.choice(["active", "active", "active", "unsubscribed", "pending", "bounced"]))
              for i in range(120)]
    with store.begin() as conn:
        conn.execute(subscribers.insert(), [
            {"id": i, "email": email, "name": "", "fields": {}, "tags": sorted(tags), "status": status,
             "created_at": NOW, "updated_at": NOW} for i, (email, tags, status) in enumerate(people, 1)])
        cid = conn.execute(campaigns.insert().values(slug="c", title="C", created_at=NOW)
                           ).inserted_primary_key[0]
        conn.execute(enrolments.insert(), [{"subscriber_id": i, "campaign_id": cid, "status": "active",
                                            "next_position": 1, "enrolled_at": NOW} for i in range(1, 61)])
    expr = parse(text)
    expected = {i for i, (_, tags, status) in enumerate(people, 1)
                if status == "active" and matches(expr, tags)}
    with store.engine.connect() as conn:
        counted = conn.execute(count_active(expr)).scalar()
        counted_besides = conn.execute(count_active(expr, not_enrolled_in=cid)).scalar()
        claimed = set(conn.execute(sa.select(subscribers.c.id).where(
            subscribers.c.status == "active", condition(expr, "sqlite"))).scalars())
    assert claimed == expected
    assert counted == len(expected)
    assert counted_besides == len({i for i in expected if i > 60})  # 1 to 60 are enrolled
    store.close()
