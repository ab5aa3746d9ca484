"""The store: every query the engine, the CLI and the web app need, named, in this
package: `Store` here (connections, campaigns, enrolments, and the claim and record
queries of a tick, kept together), with its parts for subscribers and suppression
(`subscriber_queries`), newsletters (`newsletter_queries`) and reports
(`report_queries`) over `base.StoreBase`; the console's and the web pages' own
queries are module functions in `console` and `web`.

The database, not APScheduler, is the source of truth for who gets what and
when. Rows are claimed inside one transaction (`FOR UPDATE SKIP LOCKED` on
PostgreSQL; SQLite serialises writers) so several workers never send the same
delivery twice: the unique (subscriber, campaign, lesson) delivery row is
written before anything is sent.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import sqlite3
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from sender.store.base import AnyRow, StoreBase
from sender.store.newsletter_queries import NewsletterQueries
from sender.store.report_queries import ReportQueries
from sender.store.schema import (
    WAITING,
    campaigns,
    deliveries,
    enrolments,
    events,
    meta,
    subscribers,
)
from sender.store.subscriber_queries import SubscriberQueries

__all__ = ["AnyRow", "BatchSubscriber", "DueEnrolment", "Store", "StoreBase", "make_engine", "migrate"]

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_TIMEOUT = 30  # seconds a SQLite connection waits for another's write lock


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_TIMEOUT},
                                  json_deserializer=orjson.loads)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")  # readers don't block the sending worker
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            record.info["optimized_at"] = time.monotonic()

        @sa.event.listens_for(engine, "close")
        def _sqlite_closing(dbapi_conn: Any, _record: Any) -> None:
            _optimize(dbapi_conn)

        @sa.event.listens_for(engine, "checkin")
        def _sqlite_now_and_then(dbapi_conn: Any, record: Any) -> None:
            # `drip serve` keeps its connections for good: refresh the statistics hourly
            if dbapi_conn is not None and time.monotonic() - record.info.get("optimized_at", 0) > 3600:
                record.info["optimized_at"] = time.monotonic()
                _optimize(dbapi_conn)

        return engine
    # orjson: the claim query reads every subscriber's custom fields, a third of its cost in json
    return sa.create_engine(url, pool_pre_ping=True, json_deserializer=orjson.loads)


@functools.cache  # the files do not change under a running process; every Store asks
def head_revision() -> str:
    """The newest migration's revision: each is numbered, its revision the number its file
    starts with, each revising the one before (a test holds them to it)."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def _current_revision(engine: sa.Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.DBAPIError:  # a new database; anything worse, Alembic says below
        return None


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the latest Alembic revision (idempotent). A database already there
    is left to itself without Alembic, which costs a command 10-140 ms to load and ask."""
    if _current_revision(engine) == head_revision():
        return
    from alembic import command
    from alembic.config import Config
    from alembic.migration import MigrationContext

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        before = MigrationContext.configure(conn).get_current_revision()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        after = MigrationContext.configure(conn).get_current_revision()
        if conn.dialect.name == "sqlite" and after != before:
            # New indexes have no statistics, and without them SQLite guesses that every
            # `status = ?` matches a handful of rows (PostgreSQL's autovacuum analyzes by itself).
            conn.exec_driver_sql("ANALYZE")


def _optimize(dbapi_conn: Any) -> None:
    """SQLite's advice for connections that come and go: `PRAGMA optimize`, which runs
    ANALYZE on the tables this connection used whose statistics are missing or out of date
    (a table grown many times over since). It never waits for another process's write
    lock: if the database is busy, the next connection to close does it."""
    try:
        dbapi_conn.execute("PRAGMA busy_timeout = 0")
        try:
            dbapi_conn.execute("PRAGMA optimize")
        finally:
            dbapi_conn.execute(f"PRAGMA busy_timeout = {SQLITE_TIMEOUT * 1000}")
    except sqlite3.Error:  # busy, read-only, or closed under us: statistics can wait
        pass


# Plain slotted dataclasses, not frozen ones: a frozen __init__ costs four times as much, and
# the claim builds two of these for every due delivery.
@dataclass(slots=True)
class BatchSubscriber:
    """What rendering and addressing need of a subscriber in a sending batch."""

    id: int
    email: str
    name: str
    timezone: str | None
    fields: dict[str, Any]
    status: str


@dataclass(slots=True)
class DueEnrolment:
    enrolment_id: int
    subscriber_id: int
    campaign_id: int
    next_position: int
    next_due_at: datetime
    subscriber: BatchSubscriber  # read in the same query as the claim


def _sqlite_utc(value: str) -> datetime:
    """A UTCDateTime as SQLite stores it (naive UTC text), as the type reads it back."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _plain(value: Any) -> Any:
    """What raw SQL gets: datetimes as naive UTC, as the UTCDateTime columns store them."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _pg_array(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal ('{1,"a b",NULL}'): building the text in Python is several
    times cheaper than the driver adapting a list element by element, on the hot path."""
    try:  # most columns of a batch are integers (ids, positions): written in one go
        return "{" + ",".join(map(int.__repr__, values)) + "}"
    except TypeError:  # something else: None, text, a timestamp
        pass
    seen: dict[Any, str] = {}  # a batch repeats a few timestamps and statuses many times

    def literal(v: Any) -> str:
        if v is None:
            return "NULL"
        if v.__class__ is int:
            return str(v)
        if v in seen:
            return seen[v]
        text = _plain(v).isoformat() if isinstance(v, datetime) else str(v)
        seen[v] = out = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return out

    return "{" + ",".join(map(literal, values)) + "}"


_WAITING_SQL = ", ".join(f"'{status}'" for status in WAITING)  # for the hand-written statements


class Store(SubscriberQueries, NewsletterQueries, ReportQueries):
    """The store: the parts over StoreBase (sender/store/base.py) for subscribers and
    suppression, newsletters and reports, and here the meta, campaign and enrolment
    queries and the claim and record queries a tick runs."""

    def __init__(self, url: str, *, auto_migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        # Closed at exit if nobody closes it, so SQLite's connections say goodbye with
        # `PRAGMA optimize` (commands such as `drip tick` leave their store open).
        self._closer = weakref.finalize(self, self.engine.dispose)
        if auto_migrate:
            migrate(self.engine)

    def close(self) -> None:
        self._closer()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- meta ---------------------------------------------------------------

    def signing_key(self) -> str:
        """Key for signed links: created once and kept in the store, never in a file."""
        with self.begin() as conn:
            # get-or-create the generated signing key
            conn.execute(
                self._insert(meta)
                .values(key="signing_key", value=secrets.token_urlsafe(32))
                .on_conflict_do_nothing(index_elements=["key"])
            )
            return conn.execute(sa.select(meta.c.value).where(meta.c.key == "signing_key")).scalar_one()

    # -- campaigns ----------------------------------------------------------

    def ensure_campaign(self, slug: str, *, title: str, now: datetime, kind: str = "course",
                        conn: sa.Connection | None = None) -> int:
        if conn is None:
            with self.begin() as conn:
                return self.ensure_campaign(slug, title=title, now=now, kind=kind, conn=conn)
        # get-or-create a campaign row for a campaign folder
        conn.execute(
            self._insert(campaigns)
            .values(slug=slug, title=title, kind=kind, created_at=now)
            .on_conflict_do_nothing(index_elements=["slug"])
        )
        return conn.execute(sa.select(campaigns.c.id).where(campaigns.c.slug == slug)).scalar_one()

    def campaign_slug(self, campaign_id: int) -> str:
        with self.engine.connect() as conn:
            # a campaign's slug by id
            return conn.execute(sa.select(campaigns.c.slug).where(campaigns.c.id == campaign_id)).scalar_one()

    def set_campaign_status(self, slug: str, status: str, reason: str | None = None,
                            resume_at: datetime | None = None) -> bool:
        """Pause ('paused', with why, and when to try again by itself if the provider paused
        it) or resume ('active') a campaign; False if there is none."""
        with self.begin() as conn:
            # pause or resume a campaign
            result = conn.execute(campaigns.update().where(campaigns.c.slug == slug)
                                  .values(status=status, paused_reason=reason, resume_at=resume_at))
            return result.rowcount > 0

    def resume_rested_campaigns(self, now: datetime) -> list[str]:
        """Campaigns the provider paused whose rest is over: active again, and the lessons
        that were waiting for a retry are due now (the engine still keeps to send windows)."""
        with self.begin() as conn:
            # campaigns paused by provider failures, due to try again
            rested = conn.execute(sa.select(campaigns.c.id, campaigns.c.slug).where(
                campaigns.c.status == "paused", campaigns.c.resume_at <= now)).all()
            if not rested:
                return []
            ids = [r.id for r in rested]
            conn.execute(campaigns.update().where(campaigns.c.id.in_(ids))
                         .values(status="active", paused_reason=None, resume_at=None))
            # bring forward the enrolments whose lesson is queued for another try
            conn.execute(enrolments.update().where(
                enrolments.c.campaign_id.in_(ids), enrolments.c.status == "active",
                sa.exists().where(deliveries.c.subscriber_id == enrolments.c.subscriber_id,
                                  deliveries.c.campaign_id == enrolments.c.campaign_id,
                                  deliveries.c.status.in_(WAITING)),
            ).values(next_due_at=now))
            return [r.slug for r in rested]

    def campaign_by_slug(self, slug: str) -> AnyRow | None:
        with self.engine.connect() as conn:
            # a campaign by slug
            return conn.execute(sa.select(campaigns).where(campaigns.c.slug == slug)).first()

    def campaigns(self) -> list[AnyRow]:
        with self.engine.connect() as conn:
            # all campaigns
            return list(conn.execute(sa.select(campaigns).order_by(campaigns.c.id)))

    # -- enrolments ---------------------------------------------------------

    def enrol(self, rows: Sequence[dict[str, Any]], conn: sa.Connection | None = None) -> int:
        """Create enrolments (subscriber_id, campaign_id, next_due_at, enrolled_at);
        existing ones are left alone. Returns how many were new."""
        if not rows:
            return 0
        if conn is None:
            with self.begin() as conn:
                return self.enrol(rows, conn)
        # enrol subscribers, skipping those already enrolled
        result = conn.execute(
            self._insert(enrolments)
            .on_conflict_do_nothing(index_elements=["subscriber_id", "campaign_id"])
            .returning(enrolments.c.id),
            [{"status": "active", "next_position": 1, **r} for r in rows],
        )
        return len(result.all())

    def enrolment_status(self, subscriber_id: int, campaign_id: int) -> str | None:
        with self.engine.connect() as conn:
            # one subscriber's enrolment status in one campaign
            return conn.execute(sa.select(enrolments.c.status).where(
                enrolments.c.subscriber_id == subscriber_id,
                enrolments.c.campaign_id == campaign_id)).scalar()

    def set_enrolment_status(self, email: str, slug: str | None, status: str) -> int:
        """Pause ('paused') or resume ('active') one subscriber's enrolments; returns how many."""
        with self.begin() as conn:
            # a subscriber's enrolments, in one campaign or all
            query = (
                enrolments.update()
                .where(enrolments.c.subscriber_id == sa.select(subscribers.c.id)
                       .where(subscribers.c.email == email).scalar_subquery())
                .where(enrolments.c.status.in_(["active", "paused"]))
                .values(status=status)
            )
            if slug is not None:
                query = query.where(enrolments.c.campaign_id == sa.select(campaigns.c.id)
                                    .where(campaigns.c.slug == slug).scalar_subquery())
            return conn.execute(query).rowcount

    def next_due_at(self) -> datetime | None:
        with self.engine.connect() as conn:
            # earliest due time of any active enrolment in an active campaign
            return conn.execute(
                sa.select(sa.func.min(enrolments.c.next_due_at))
                .join(campaigns, campaigns.c.id == enrolments.c.campaign_id)
                .where(enrolments.c.status == "active", campaigns.c.status == "active")
            ).scalar()

    def claim_due(self, conn: sa.Connection, now: datetime, limit: int) -> list[DueEnrolment]:
        """Lock up to `limit` due enrolments for this transaction; other workers skip them."""
        self._generic_plans(conn)
        params = {"now": now, "limit": limit}
        if self.dialect == "sqlite":
            rows = orjson.loads(conn.execute(self._sqlite_claim_query, params).scalar_one())
            utc = functools.cache(_sqlite_utc)  # a batch shares a few due times
            return [DueEnrolment(eid, sid, cid, position, utc(due),
                                 BatchSubscriber(sid, email, name, tz, fields, status))
                    for eid, sid, cid, position, due, email, name, tz, fields, status in rows]
        # fetched at once: row by row cost as much again
        rows = conn.execute(self._claim_query, params).all()
        return [DueEnrolment(eid, sid, cid, position, due,
                             BatchSubscriber(sid, email, name, tz, fields, status))
                for eid, sid, cid, position, due, email, name, tz, fields, status in rows]

    @functools.cached_property
    def _sqlite_claim_query(self) -> sa.Select[Any]:
        """`_claim_query` as one JSON array of its rows. SQLite hands a result over row by row,
        letting go of Python's lock for each, and a row could then wait for the sending threads
        to let go of it in turn (one value: one wait; a claim of 500 went from 21 to 13 ms)."""
        rows = self._claim_query.subquery()
        values = [sa.func.json(c) if c.name == "fields" else c for c in rows.c]
        return sa.select(sa.func.json_group_array(sa.func.json_array(*values)))

    @functools.cached_property
    def _claim_query(self) -> sa.Select[Any]:
        """`claim_due`'s statement, built once: building it cost as much as running it."""
        # due enrolments of active subscribers in active campaigns, oldest due first, with
        # what sending needs of each subscriber (not tags: JSON to parse, thousands per batch)
        query = (
            sa.select(
                enrolments.c.id, enrolments.c.subscriber_id, enrolments.c.campaign_id,
                enrolments.c.next_position, enrolments.c.next_due_at,
                subscribers.c.email, subscribers.c.name, subscribers.c.timezone, subscribers.c.fields,
                subscribers.c.status,
            )
            .join(campaigns, campaigns.c.id == enrolments.c.campaign_id)
            .join(subscribers, subscribers.c.id == enrolments.c.subscriber_id)
            .where(
                enrolments.c.status == "active",
                enrolments.c.next_due_at <= sa.bindparam("now", type_=enrolments.c.next_due_at.type),
                campaigns.c.status == "active",
                # SQLite: not by the status index, whatever the statistics say. With enrolments
                # analyzed and subscribers not (PRAGMA optimize analyzes what a connection
                # used), it read every active subscriber and sorted all that were due, for
                # each claim (40 ms a claim at 50,000 due, not 2): due enrolments in their
                # index's order up to the limit, each subscriber by id, is the plan.
                (subscribers.c.status + "" if self.dialect == "sqlite" else subscribers.c.status) == "active",
            )
            .order_by(enrolments.c.next_due_at)
            .limit(sa.bindparam("limit", type_=sa.Integer))
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(of=enrolments, skip_locked=True)
        return query

    def still_due(self, conn: sa.Connection, enrolment_ids: Sequence[int]) -> set[int]:
        """Of these enrolments, those still active, of active subscribers in active campaigns:
        on SQLite, where `claim_due` locks nothing, what changed since it read them."""
        if not enrolment_ids:
            return set()
        if self.dialect == "sqlite":
            # the ids as one JSON parameter: no statement to expand and compile per batch
            return {row[0] for row in conn.exec_driver_sql(self._SQLITE_STILL_DUE,
                                                           (orjson.dumps(list(enrolment_ids)),)).fetchall()}
        # claimed enrolments that nobody stopped, unsubscribed or paused meanwhile
        return set(conn.execute(
            sa.select(enrolments.c.id)
            .join(campaigns, campaigns.c.id == enrolments.c.campaign_id)
            .join(subscribers, subscribers.c.id == enrolments.c.subscriber_id)
            .where(enrolments.c.id.in_(enrolment_ids), enrolments.c.status == "active",
                   campaigns.c.status == "active", subscribers.c.status == "active")).scalars())

    _SQLITE_STILL_DUE = """
        SELECT e.id FROM json_each(?) AS batch
        CROSS JOIN enrolments AS e ON e.id = batch.value  -- CROSS: by id, whatever the statistics
        JOIN campaigns AS c ON c.id = e.campaign_id JOIN subscribers AS s ON s.id = e.subscriber_id
        WHERE e.status = 'active' AND c.status = 'active' AND s.status = 'active'"""

    def _generic_plans(self, conn: sa.Connection) -> None:
        """For the rest of this transaction, plan statements without looking at their values.
        A batch's statements join a thousand-element array to a table by key; planned for
        the actual array (the first runs of each statement on a connection), PostgreSQL
        prices the index lookups so high that it hashes the whole table instead, which is
        several times slower once the table is large."""
        if self.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")

    _PG_RECEIVED = sa.text(f"""
        SELECT d.subscriber_id, d.campaign_id, d.lesson_key
        FROM unnest(CAST(:s AS integer[]), CAST(:c AS integer[])) AS p(subscriber_id, campaign_id)
        CROSS JOIN LATERAL (
            SELECT subscriber_id, campaign_id, lesson_key FROM deliveries
            WHERE deliveries.subscriber_id = p.subscriber_id AND deliveries.campaign_id = p.campaign_id
              AND deliveries.status NOT IN ({_WAITING_SQL})) AS d""")

    _SQLITE_RECEIVED = f"""
        SELECT subscriber_id, campaign_id, lesson_key FROM deliveries
        WHERE subscriber_id IN (SELECT value FROM json_each(?))
          AND campaign_id IN (SELECT value FROM json_each(?)) AND status NOT IN ({_WAITING_SQL})"""

    def received_lessons(self, conn: sa.Connection, pairs: Sequence[tuple[int, int]]
                         ) -> dict[tuple[int, int], set[str]]:
        """Lesson keys each (subscriber, campaign) already has a delivery for, other than
        ones waiting to be tried again (`WAITING`)."""
        if not pairs:
            return {}
        out: dict[tuple[int, int], set[str]] = {}
        if self.dialect == "postgresql":
            # Joined to the batch's pairs, so each is an index lookup even when the planner's
            # statistics predate the first big send (an IN list was planned as a full scan).
            rows = conn.execute(self._PG_RECEIVED, {"s": _pg_array([s for s, _ in pairs]),
                                                    "c": _pg_array([c for _, c in pairs])})
        elif self.dialect == "sqlite":
            # lessons already delivered, being delivered, or given up on, for a batch; the ids
            # as JSON parameters: no statement to expand and compile per batch
            rows = conn.exec_driver_sql(self._SQLITE_RECEIVED, (
                orjson.dumps(list({s for s, _ in pairs})), orjson.dumps(list({c for _, c in pairs}))))
        else:
            rows = conn.execute(
                sa.select(deliveries.c.subscriber_id, deliveries.c.campaign_id, deliveries.c.lesson_key)
                .where(
                    deliveries.c.subscriber_id.in_({s for s, _ in pairs}),
                    deliveries.c.campaign_id.in_({c for _, c in pairs}),
                    deliveries.c.status.notin_(WAITING),
                )
            )
        for sid, cid, key in rows.fetchall():
            out.setdefault((sid, cid), set()).add(key)
        return out

    def claim_deliveries(self, conn: sa.Connection, rows: Sequence[dict[str, Any]],
                         advance: Sequence[dict[str, Any]] = ()) -> dict[tuple[int, int], tuple[int, int]]:
        """Write claimed delivery rows (status 'sending'), and move the enrolments in `advance`
        on (see `advance_enrolments`). A row that exists is claimed again only if it was
        queued for another try; any other existing row is left alone, which is what makes a
        lesson go out at most once.
        Returns {(subscriber_id, campaign_id): (delivery_id, earlier attempts)}."""
        if self.dialect == "postgresql" and rows:
            # One statement for both: a round trip less for every batch.
            sql = self._PG_CLAIM
            params = {c: _pg_array([r.get(c) for r in rows]) for c in self._CLAIM_COLUMNS}
            if advance:
                update, update_params = self._pg_update(enrolments, advance, prefix="advance_")
                sql, params = f"WITH advanced AS ({update}) {sql}", {**params, **update_params}
            result: Sequence[Any] = conn.execute(sa.text(sql), params).all()
        else:
            self.advance_enrolments(conn, advance)
            result = self._sqlite_claim(conn, rows) if rows else []
        # by position: a Row's attribute lookup costs as much again, for every delivery
        return {(sid, cid): (did, attempts) for did, sid, cid, attempts in result}

    _CLAIM_COLUMNS = ("subscriber_id", "campaign_id", "lesson_key", "position", "status",
                      "scheduled_at", "claimed_at")
    _CLAIM_CONFLICT = f"""
        ON CONFLICT (subscriber_id, campaign_id, lesson_key) DO UPDATE
            SET status = 'sending', claimed_at = excluded.claimed_at,
                attempts = deliveries.attempts + 1
            WHERE deliveries.status IN ({_WAITING_SQL})
        RETURNING id, subscriber_id, campaign_id, attempts"""

    def _sqlite_claim(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> list[Any]:
        # claim deliveries; the unique (subscriber, campaign, lesson) key stops duplicates.
        # Multi-row VALUES straight to the driver: per-row statement building was the cost.
        values = list(zip(*(self._bound(deliveries, c, [r.get(c) for r in rows])
                            for c in self._CLAIM_COLUMNS), strict=True))
        out: list[Any] = []
        chunk = 100  # 700 parameters: under every SQLite build's limit
        for start in range(0, len(values), chunk):
            part = values[start:start + chunk]
            placeholders = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(part))
            out += conn.exec_driver_sql(
                f"INSERT INTO deliveries ({', '.join(self._CLAIM_COLUMNS)}) VALUES {placeholders}"
                + self._CLAIM_CONFLICT,
                tuple(v for row in part for v in row)).all()
        return out

    # PostgreSQL gets whole batches as arrays through unnest(): one short statement,
    # prepared once, instead of a statement per row or thousands of parameters.
    _PG_CLAIM = """
        INSERT INTO deliveries (subscriber_id, campaign_id, lesson_key, position, status,
                                scheduled_at, claimed_at)
        SELECT * FROM unnest(CAST(:subscriber_id AS integer[]), CAST(:campaign_id AS integer[]),
                             CAST(:lesson_key AS varchar[]), CAST(:position AS integer[]),
                             CAST(:status AS varchar[]), CAST(:scheduled_at AS timestamp[]),
                             CAST(:claimed_at AS timestamp[]))""" + _CLAIM_CONFLICT

    def _pg_update(self, table: sa.Table, rows: Sequence[dict[str, Any]], prefix: str = ""
                   ) -> tuple[str, dict[str, str]]:
        """An UPDATE of `rows` by id, each with its own values, as SQL and array parameters."""
        names = [k for k in rows[0] if k != "id"]
        pg_types = {k: table.c[k].type.compile(dialect=self.engine.dialect) for k in ["id", *names]}
        arrays = ", ".join(f"CAST(:{prefix}{k} AS {pg_types[k]}[])" for k in ["id", *names])
        sets = ", ".join(f"{k} = v.{k}" for k in names)
        return (f"UPDATE {table.name} SET {sets} FROM unnest({arrays}) "
                f"AS v(id, {', '.join(names)}) WHERE {table.name}.id = v.id",
                {prefix + k: _pg_array([r[k] for r in rows]) for k in ["id", *names]})

    def _update_many(self, conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        """Update rows by id, each with its own values (every row has the same keys)."""
        if not rows:
            return
        if self.dialect == "postgresql":
            sql, params = self._pg_update(table, rows)
            conn.execute(sa.text(sql), params)
            return
        names = [k for k in rows[0] if k != "id"]
        # SQLite runs in-process, so the cost is per row in Python: bind each column's values
        # through its type once per distinct value, then the whole batch as one JSON array
        # of rows, joined by id in one statement (not a statement run per row).
        values = zip(*(self._bound(table, k, [r[k] for r in rows]) for k in ["id", *names]), strict=True)
        sets = ", ".join(f"{k} = json_extract(batch.value, '$[{i}]')" for i, k in enumerate(names, 1))
        conn.exec_driver_sql(f"UPDATE {table.name} SET {sets} FROM json_each(?) AS batch "
                             f"WHERE {table.name}.id = json_extract(batch.value, '$[0]')",
                             (orjson.dumps(list(values)),))

    def _bound(self, table: sa.Table, column: str, values: list[Any]) -> list[Any]:
        """`values` as the driver takes them for `column` (e.g. UTC datetimes as SQLite text)."""
        dialect = self.engine.dialect
        process = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            return values
        seen: dict[Any, Any] = {}  # a batch repeats a few timestamps thousands of times
        return [None if v is None else seen[v] if v in seen else seen.setdefault(v, process(v))
                for v in values]

    def advance_enrolments(self, conn: sa.Connection, updates: Sequence[dict[str, Any]]) -> None:
        """Move enrolments on: keys id, next_position, next_due_at, status, completed_at."""
        # advance enrolments to their next lesson, or complete them
        self._update_many(conn, enrolments, updates)

    def record_results(self, results: Sequence[dict[str, Any]], now: datetime,
                       requeue: Sequence[dict[str, Any]] = (), conn: sa.Connection | None = None) -> None:
        """Store send outcomes and, in the same transaction (`conn`'s, or a new one), rewind
        the enrolments whose lesson goes again. `results` rows: id, status,
        provider_message_id, error, message_id, subscriber_id, provider."""
        if not results:
            return
        with self.begin() if conn is None else contextlib.nullcontext(conn) as conn:
            self._generic_plans(conn)
            self.advance_enrolments(conn, requeue)
            # record the outcome of each delivery of a batch
            self._update_many(conn, deliveries, [
                {"id": r["id"], "status": r["status"], "provider_message_id": r["provider_message_id"],
                 "error": r["error"], "message_id": r["message_id"],
                 "sent_at": now if r["status"] == "sent" else None}
                for r in results
            ])
            # a 'failed' or 'queued' event per delivery that did not go, keeping each error
            # (the delivery row keeps only the last); a sent delivery is its own record
            problems = [r for r in results if r["status"] != "sent"]
            if problems:
                conn.execute(events.insert(), [
                    {"delivery_id": r["id"], "subscriber_id": r["subscriber_id"], "type": r["status"],
                     "at": now, "provider": r.get("provider"), "data": {"error": r["error"]}}
                    for r in problems
                ])

    # -- claiming a newsletter issue's batch (the other newsletter queries: newsletter_queries.py)

    def adopt_issue_deliveries(self, conn: sa.Connection, campaign_id: int, old_key: str, key: str,
                               since: datetime) -> int:
        """Give deliveries claimed under `old_key` at or after `since` the key `key`, unless the
        subscriber already has one under `key`. Run in the claiming transaction, so that on
        PostgreSQL a worker claiming beside another waits for its renames and then sees them."""
        taken = deliveries.alias("taken")
        # rename an issue's deliveries from the key they were claimed under to its key
        return conn.execute(deliveries.update().where(
            deliveries.c.campaign_id == campaign_id, deliveries.c.lesson_key == old_key,
            deliveries.c.claimed_at >= since,
            ~sa.exists().where(taken.c.subscriber_id == deliveries.c.subscriber_id,
                               taken.c.campaign_id == campaign_id, taken.c.lesson_key == key),
        ).values(lesson_key=key)).rowcount

    def claim_newsletter(self, conn: sa.Connection, campaign_id: int, key: str, segment: str | None,
                         zones: list[str] | None, default_zone: str, now: datetime, limit: int
                         ) -> list[tuple[int, int, AnyRow]]:
        """Claim the next batch of an issue: (delivery id, earlier attempts, subscriber)."""
        conditions = self._audience(campaign_id, key, segment)
        if zones is not None:
            if not zones:
                return []
            conditions.append(sa.func.coalesce(subscribers.c.timezone, default_zone).in_(zones))
        # the next subscribers an issue has not reached
        rows = conn.execute(sa.select(subscribers).where(*conditions).order_by(subscribers.c.id)
                            .limit(limit)).all()
        claimed = self.claim_deliveries(conn, [
            {"subscriber_id": r.id, "campaign_id": campaign_id, "lesson_key": key, "position": 1,
             "status": "sending", "scheduled_at": now, "claimed_at": now} for r in rows])
        return [(*claimed[(r.id, campaign_id)], r) for r in rows if (r.id, campaign_id) in claimed]
