"""SQLite reads segments from `subscriber_tags` (migration 0011), which triggers keep from
`subscribers.tags`: whoever writes a subscriber, the table follows, and a segment is read by
tag from its key instead of every subscriber's json."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from sender.segments import segment_condition
from sender.store import MIGRATIONS, Store
from sender.store.schema import subscribers
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
    assert sum("SEARCH subscriber_tags USING PRIMARY KEY (tag=?)" in step for step in plan) == 3, plan
    assert not any("json_each" in step for step in plan), plan
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
