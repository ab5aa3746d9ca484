"""The store: every query the engine needs, named, in one place.

The database, not APScheduler, is the source of truth for who gets what and
when. Rows are claimed inside one transaction (`FOR UPDATE SKIP LOCKED` on
PostgreSQL; SQLite serialises writers) so several workers never send the same
delivery twice: the unique (subscriber, campaign, lesson) delivery row is
written before anything is sent.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeAlias

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sender.store.schema import (
    WAITING,
    campaigns,
    deliveries,
    enrolments,
    events,
    meta,
    newsletters,
    subscribers,
    suppressions,
)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30}, json_deserializer=orjson.loads)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")  # readers don't block the sending worker
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    # orjson: the claim query reads every subscriber's custom fields, a third of its cost in json
    return sa.create_engine(url, pool_pre_ping=True, json_deserializer=orjson.loads)


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the latest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


# A result row of any shape. `sa.Row` is generic over its column types (a TypeVarTuple), so
# `sa.Row[Any]` would be a row of exactly one column.
AnyRow: TypeAlias = sa.Row[*tuple[Any, ...]]


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


class Store:
    def __init__(self, url: str, *, auto_migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if auto_migrate:
            migrate(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def begin(self) -> Any:
        return self.engine.begin()

    def _insert(self, table: sa.Table) -> Any:
        """An INSERT that knows ON CONFLICT in this dialect."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

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

    # -- subscribers --------------------------------------------------------

    def upsert_subscriber(
        self,
        email: str,
        *,
        now: datetime,
        name: str = "",
        timezone: str | None = None,
        fields: dict[str, Any] | None = None,
        tags: Sequence[str] = (),
        status: str = "active",
        consent_source: str | None = None,
    ) -> tuple[int, bool]:
        """Insert or update one subscriber by email; returns (id, created). An update
        fills in what is given, merges custom fields and tags, and keeps status and consent."""
        with self.begin() as conn:
            # find subscriber by normalised email
            row = conn.execute(
                sa.select(subscribers.c.id, subscribers.c.fields, subscribers.c.tags)
                .where(subscribers.c.email == email)
            ).first()
            if row:
                values: dict[str, Any] = {"updated_at": now}
                if name:
                    values["name"] = name
                if timezone:
                    values["timezone"] = timezone
                if fields:
                    values["fields"] = {**(row.fields or {}), **fields}
                if tags:
                    values["tags"] = sorted({*(row.tags or []), *tags})
                # update an existing subscriber's profile
                conn.execute(subscribers.update().where(subscribers.c.id == row.id).values(**values))
                return row.id, False
            # add a subscriber
            new_id = conn.execute(
                subscribers.insert().values(
                    email=email, fields=fields or {}, tags=sorted(set(tags)), status=status,
                    consent_source=consent_source, consent_at=now if consent_source else None,
                    created_at=now, name=name, timezone=timezone, updated_at=now,
                )
            ).inserted_primary_key[0]
            return new_id, True

    def iter_subscribers(self, batch: int = 5000) -> Iterator[AnyRow]:
        """Every subscriber, in id order, a page at a time (exports of large lists)."""
        last = 0
        while True:
            with self.engine.connect() as conn:
                # one page of subscribers after the last id seen
                rows = conn.execute(sa.select(subscribers).where(subscribers.c.id > last)
                                    .order_by(subscribers.c.id).limit(batch)).all()
            if not rows:
                return
            yield from rows
            last = rows[-1].id

    def subscribers(self, limit: int | None = None) -> list[AnyRow]:
        # all subscribers, oldest first
        query = sa.select(subscribers).order_by(subscribers.c.id).limit(limit)
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def subscriber_by_email(self, email: str) -> AnyRow | None:
        with self.engine.connect() as conn:
            # one subscriber by normalised email
            return conn.execute(sa.select(subscribers).where(subscribers.c.email == email)).first()

    def subscriber_field_names(self) -> set[str]:
        """Every custom field name some subscriber has."""
        with self.engine.connect() as conn:
            # the custom field names in use (read only when a lesson lacks one for someone)
            if self.dialect == "postgresql":
                query = sa.text("SELECT DISTINCT jsonb_object_keys(CAST(fields AS jsonb)) FROM subscribers "
                                "WHERE json_typeof(fields) = 'object'")
            else:
                query = sa.text("SELECT DISTINCT j.key FROM subscribers, json_each(subscribers.fields) AS j "
                                "WHERE json_type(subscribers.fields) = 'object'")
            return set(conn.execute(query).scalars())

    def subscribers_lacking(self, field: str) -> int:
        """How many active subscribers have no value for `field` (a custom field, or their name)."""
        if field in ("name", "first_name"):
            lacking = subscribers.c.name == ""
        elif self.dialect == "postgresql":
            lacking = ~sa.cast(subscribers.c.fields, postgresql.JSONB).has_key(field)
        else:
            lacking = sa.func.json_type(subscribers.c.fields, f'$."{field}"').is_(None)
        with self.engine.connect() as conn:
            # active subscribers without a field a lesson uses
            return int(conn.execute(sa.select(sa.func.count()).select_from(subscribers)
                                    .where(subscribers.c.status == "active", lacking)).scalar() or 0)

    def subscriber(self, subscriber_id: int) -> AnyRow | None:
        with self.engine.connect() as conn:
            # one subscriber by id
            return conn.execute(sa.select(subscribers).where(subscribers.c.id == subscriber_id)).first()

    # -- consent, unsubscribes and suppression --------------------------------

    def confirm(self, subscriber_id: int, now: datetime, source: str) -> bool:
        """Double opt-in: a pending subscriber becomes active; False if not pending."""
        with self.begin() as conn:
            # activate a pending subscriber who followed the confirmation link
            result = conn.execute(
                subscribers.update()
                .where(subscribers.c.id == subscriber_id, subscribers.c.status == "pending")
                .values(status="active", consent_source=source, consent_at=now, updated_at=now))
            return result.rowcount > 0

    def unsubscribe(self, subscriber_id: int, campaign_id: int | None, now: datetime, source: str) -> bool:
        """Stop one course (campaign_id) or everything (None); False for an unknown subscriber.
        Idempotent: unsubscribing twice records one event."""
        with self.begin() as conn:
            status = conn.execute(sa.select(subscribers.c.status)
                                  .where(subscribers.c.id == subscriber_id)).scalar()
            if status is None:
                return False
            # stop the subscriber's enrolments, in one campaign or all
            stop = (enrolments.update()
                    .where(enrolments.c.subscriber_id == subscriber_id,
                           enrolments.c.status.in_(["active", "paused"]))
                    .values(status="stopped"))
            if campaign_id is not None:
                stop = stop.where(enrolments.c.campaign_id == campaign_id)
            changed = conn.execute(stop).rowcount
            if campaign_id is None and status in ("active", "pending"):
                # mark the subscriber unsubscribed from everything
                conn.execute(subscribers.update().where(subscribers.c.id == subscriber_id)
                             .values(status="unsubscribed", updated_at=now))
                changed += 1
            if changed:
                conn.execute(events.insert().values(
                    subscriber_id=subscriber_id, type="unsubscribed", at=now, provider=None,
                    data={"scope": "campaign" if campaign_id else "all", "campaign_id": campaign_id,
                          "source": source}))
            return True

    def resubscribe(self, subscriber_id: int, campaign_id: int | None, now: datetime) -> bool:
        """Undo an unsubscribe: never for a suppressed (bounced, complained) address."""
        with self.begin() as conn:
            row = conn.execute(sa.select(subscribers.c.email, subscribers.c.status)
                               .where(subscribers.c.id == subscriber_id)).first()
            if (row is None or row.status not in ("active", "unsubscribed")
                    or self._suppressed(conn, row.email)):
                return False
            # reactivate an unsubscribed subscriber
            conn.execute(subscribers.update().where(subscribers.c.id == subscriber_id)
                         .values(status="active", updated_at=now))
            if campaign_id is not None:
                # restart the stopped course where it stopped; the engine waits for the window
                conn.execute(enrolments.update()
                             .where(enrolments.c.subscriber_id == subscriber_id,
                                    enrolments.c.campaign_id == campaign_id,
                                    enrolments.c.status == "stopped")
                             .values(status="active", next_due_at=now))
            conn.execute(events.insert().values(subscriber_id=subscriber_id, type="resubscribed", at=now,
                                                provider=None, data={"campaign_id": campaign_id}))
            return True

    @staticmethod
    def email_hash(email: str) -> str:
        return hashlib.sha256(email.strip().lower().encode()).hexdigest()

    def _suppressed(self, conn: sa.Connection, email: str) -> bool:
        # is this address on the suppression list?
        return conn.execute(sa.select(sa.exists().where(
            suppressions.c.email_hash == self.email_hash(email)))).scalar() or False

    def is_suppressed(self, email: str) -> bool:
        with self.engine.connect() as conn:
            return self._suppressed(conn, email)

    def suppress(self, subscriber_ids: Iterable[int], reason: str, now: datetime,
                 detail: str | None = None, conn: sa.Connection | None = None) -> int:
        """Never mail these subscribers again: status = reason (bounced, complained, failed),
        enrolments stopped, and a suppression entry that outlives the subscriber row."""
        ids = sorted(set(subscriber_ids))
        if not ids:
            return 0
        if conn is None:
            with self.begin() as conn:
                return self.suppress(ids, reason, now, detail, conn)
        emails = conn.execute(sa.select(subscribers.c.email).where(subscribers.c.id.in_(ids))).scalars().all()
        # suppress addresses, keeping the first reason given
        conn.execute(
            self._insert(suppressions).on_conflict_do_nothing(index_elements=["email_hash"]),
            [{"email_hash": self.email_hash(e), "reason": reason, "detail": detail, "created_at": now}
             for e in emails])
        self._end_subscriptions(conn, ids, reason, now)
        return len(emails)

    @staticmethod
    def _end_subscriptions(conn: sa.Connection, ids: Sequence[int], status: str, now: datetime) -> None:
        # set subscribers' status and stop all their enrolments
        conn.execute(subscribers.update().where(subscribers.c.id.in_(ids))
                     .values(status=status, updated_at=now))
        conn.execute(enrolments.update()
                     .where(enrolments.c.subscriber_id.in_(ids),
                            enrolments.c.status.in_(["active", "paused"]))
                     .values(status="stopped"))

    def record_webhook_events(self, rows: Sequence[dict[str, Any]], now: datetime) -> tuple[int, int]:
        """Store provider events (keys: provider, type, email, at, external_id,
        provider_message_id, delivery_id, permanent, data) against their delivery, once
        each; hard bounces, complaints and permanent failures (the provider will not mail
        the address) suppress it. An event without an email (None or "") is about the
        subscriber of the delivery it links to. Returns (stored, suppressed)."""
        if not rows:
            return 0, 0
        with self.begin() as conn:
            emails = {r["email"] for r in rows if r.get("email")}
            # subscribers the events are about
            by_email = dict(conn.execute(sa.select(subscribers.c.email, subscribers.c.id)
                                         .where(subscribers.c.email.in_(emails))).all()) if emails else {}
            # deliveries (and their subscribers) named by our id, or found by the provider's message id
            wanted = {r["delivery_id"] for r in rows if r.get("delivery_id")}
            known: dict[int, int] = {row.id: row.subscriber_id for row in conn.execute(
                sa.select(deliveries.c.id, deliveries.c.subscriber_id)
                .where(deliveries.c.id.in_(wanted)))} if wanted else {}
            provider_ids = {r["provider_message_id"] for r in rows
                            if r.get("provider_message_id") and r.get("delivery_id") not in known}
            # a list: one batch send can share a provider id (SendGrid's X-Message-Id)
            by_provider_id: dict[str, list[tuple[int, int]]] = {}
            if provider_ids:
                for row in conn.execute(sa.select(deliveries.c.provider_message_id, deliveries.c.id,
                                                  deliveries.c.subscriber_id)
                                        .where(deliveries.c.provider_message_id.in_(provider_ids))):
                    by_provider_id.setdefault(row.provider_message_id, []).append((row.id, row.subscriber_id))
            stored = 0
            to_suppress: dict[str, set[int]] = {}
            went: dict[int, tuple[datetime, str]] = {}  # deliveries the provider reports on: it took them
            for r in rows:
                subscriber_id = by_email.get(r["email"]) if r.get("email") else None
                delivery_id: int | None = None
                owner: int | None = None
                if r.get("delivery_id") in known:
                    delivery_id, owner = r["delivery_id"], known[r["delivery_id"]]
                else:
                    candidates = by_provider_id.get(r.get("provider_message_id") or "", [])
                    if len(candidates) > 1:  # shared id: only the event's own subscriber's delivery
                        candidates = [c for c in candidates if c[1] == subscriber_id]
                    if len(candidates) == 1:
                        delivery_id, owner = candidates[0]
                if not r.get("email"):
                    subscriber_id = owner  # no address given: the subscriber the message went to
                if delivery_id is not None:
                    went.setdefault(delivery_id, (r["at"], "failed" if r["type"] == "failed" else "sent"))
                # store the event unless this provider already sent it
                result = conn.execute(
                    self._insert(events).values(
                        delivery_id=delivery_id, subscriber_id=subscriber_id, type=r["type"], at=r["at"],
                        provider=r["provider"], external_id=r["external_id"],
                        data={**r.get("data", {}), "email": r["email"],
                              "permanent": r.get("permanent", False),
                              "provider_message_id": r.get("provider_message_id")})
                    .on_conflict_do_nothing(index_elements=["provider", "external_id"])
                    .returning(events.c.id))
                if result.first() is None:
                    continue
                stored += 1
                if subscriber_id is not None and (r["type"] == "complained"
                                                  or (r["type"] == "bounced" and r.get("permanent"))):
                    to_suppress.setdefault(r["type"], set()).add(subscriber_id)
                if subscriber_id is not None and r["type"] == "failed" and r.get("permanent"):
                    # e.g. SendGrid dropping an address on its bounce/invalid/spam/unsubscribe
                    # lists: the same as a hard bounce, every later send would be refused too
                    to_suppress.setdefault("bounced", set()).add(subscriber_id)
                if subscriber_id is not None and r["type"] == "unsubscribed":
                    to_suppress.setdefault("unsubscribed", set()).add(subscriber_id)
            for delivery_id, (at, status) in went.items():
                # settle a delivery of unknown outcome (its answer was lost, or its worker died):
                # an event about it is the provider's word that it took the message (and, for a
                # 'failed' event, dropped it)
                conn.execute(deliveries.update().where(deliveries.c.id == delivery_id,
                                                       deliveries.c.status == "sending")
                             .values(status=status, sent_at=at if status == "sent" else None,
                                     error=f"outcome was unknown; the provider's events show it {status}"))
            suppressed = 0
            for reason, ids in to_suppress.items():
                if reason == "unsubscribed":  # the provider's own unsubscribe link: honour it, no block
                    self._end_subscriptions(conn, sorted(ids), "unsubscribed", now)
                else:
                    suppressed += self.suppress(ids, reason, now, conn=conn)
            return stored, suppressed

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
                enrolments.c.next_due_at <= now,
                campaigns.c.status == "active",
                subscribers.c.status == "active",
            )
            .order_by(enrolments.c.next_due_at)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(of=enrolments, skip_locked=True)
        self._generic_plans(conn)
        rows = conn.execute(query).all()  # fetched at once: row by row cost as much again
        return [DueEnrolment(*row[:5], BatchSubscriber(row[1], *row[5:10])) for row in rows]

    def still_due(self, conn: sa.Connection, enrolment_ids: Sequence[int]) -> set[int]:
        """Of these enrolments, those still active, of active subscribers in active campaigns:
        on SQLite, where `claim_due` locks nothing, what changed since it read them."""
        if not enrolment_ids:
            return set()
        # claimed enrolments that nobody stopped, unsubscribed or paused meanwhile
        return set(conn.execute(
            sa.select(enrolments.c.id)
            .join(campaigns, campaigns.c.id == enrolments.c.campaign_id)
            .join(subscribers, subscribers.c.id == enrolments.c.subscriber_id)
            .where(enrolments.c.id.in_(enrolment_ids), enrolments.c.status == "active",
                   campaigns.c.status == "active", subscribers.c.status == "active")).scalars())

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
        else:
            # lessons already delivered, being delivered, or given up on, for a batch
            rows = conn.execute(
                sa.select(deliveries.c.subscriber_id, deliveries.c.campaign_id, deliveries.c.lesson_key)
                .where(
                    deliveries.c.subscriber_id.in_({s for s, _ in pairs}),
                    deliveries.c.campaign_id.in_({c for _, c in pairs}),
                    deliveries.c.status.notin_(WAITING),
                )
            )
        for sid, cid, key in rows.all():
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
        return {(r.subscriber_id, r.campaign_id): (r.id, r.attempts) for r in result}

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
        # through its type once per distinct value, then one DB-API executemany.
        conn.exec_driver_sql(
            f"UPDATE {table.name} SET {', '.join(f'{k} = ?' for k in names)} WHERE id = ?",
            list(zip(*(self._bound(table, k, [r[k] for r in rows]) for k in [*names, "id"]), strict=True)),
        )

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

    # -- newsletters ----------------------------------------------------------

    def add_newsletter(self, values: dict[str, Any]) -> int:
        with self.begin() as conn:
            # schedule a newsletter
            return conn.execute(newsletters.insert().values(**values)).inserted_primary_key[0]

    def update_newsletter(self, newsletter_id: int, **values: Any) -> bool:
        with self.begin() as conn:
            # move a newsletter on to its next issue, finish or cancel it
            return conn.execute(newsletters.update().where(newsletters.c.id == newsletter_id)
                                .values(**values)).rowcount > 0

    def newsletters(self) -> Sequence[AnyRow]:
        with self.engine.connect() as conn:
            # every newsletter, newest first
            return conn.execute(sa.select(newsletters, campaigns.c.slug, campaigns.c.title)
                                .join(campaigns, campaigns.c.id == newsletters.c.campaign_id)
                                .order_by(newsletters.c.id.desc())).all()

    def due_newsletters(self, now: datetime) -> Sequence[AnyRow]:
        with self.engine.connect() as conn:
            # newsletters whose next issue may start now, in active campaigns
            return conn.execute(
                sa.select(newsletters, campaigns.c.slug)
                .join(campaigns, campaigns.c.id == newsletters.c.campaign_id)
                .where(newsletters.c.status == "scheduled", newsletters.c.next_run_at <= now,
                       campaigns.c.status == "active")
                .order_by(newsletters.c.next_run_at)
            ).all()

    def subscriber_zones(self, default: str, segment: str | None = None) -> list[str]:
        with self.engine.connect() as conn:
            # the time zones active subscribers (of a segment) live in
            zone = sa.func.coalesce(subscribers.c.timezone, default)
            return list(conn.execute(sa.select(zone).where(*self._segment(segment))
                                     .distinct()).scalars())

    def _segment(self, segment: str | None) -> list[Any]:  # conditions
        """Who a newsletter is for: active subscribers, with the segment's tag if it has one.
        Scheduling counts, and sending claims, by this one definition."""
        conditions = [subscribers.c.status == "active"]
        if segment:
            if self.dialect == "postgresql":
                conditions.append(sa.cast(subscribers.c.tags, postgresql.JSONB).contains([segment]))
            else:
                tags = sa.func.json_each(subscribers.c.tags).table_valued("value")
                conditions.append(sa.exists().select_from(tags).where(tags.c.value == segment))
        return conditions

    def _audience(self, campaign_id: int, key: str, segment: str | None) -> list[Any]:  # conditions
        """Active subscribers of a segment who have no delivery of this issue yet."""
        delivered = sa.exists().where(
            deliveries.c.subscriber_id == subscribers.c.id, deliveries.c.campaign_id == campaign_id,
            deliveries.c.lesson_key == key, deliveries.c.status != "queued")
        return [*self._segment(segment), ~delivered]

    def segment_size(self, segment: str | None) -> int:
        """How many subscribers a newsletter to `segment` (None: everyone) would reach now."""
        with self.engine.connect() as conn:
            # count the active subscribers of a segment
            return int(conn.execute(sa.select(sa.func.count()).select_from(subscribers)
                                    .where(*self._segment(segment))).scalar() or 0)

    def tags_in_use(self) -> list[str]:
        """The tags active subscribers carry, sorted: what a segment can be."""
        with self.engine.connect() as conn:
            # the distinct tags of active subscribers
            if self.dialect == "postgresql":
                query = sa.text("SELECT DISTINCT jsonb_array_elements_text(CAST(tags AS jsonb)) "
                                "FROM subscribers WHERE status = 'active'")
            else:
                query = sa.text("SELECT DISTINCT j.value FROM subscribers, json_each(subscribers.tags) AS j "
                                "WHERE subscribers.status = 'active'")
            return sorted(str(t) for t in conn.execute(query).scalars())

    def issue_delivery_count(self, campaign_id: int, key: str) -> int:
        """How many delivery rows an issue has, whatever their outcome."""
        with self.engine.connect() as conn:
            # the deliveries of one newsletter issue
            return int(conn.execute(sa.select(sa.func.count()).select_from(deliveries).where(
                deliveries.c.campaign_id == campaign_id, deliveries.c.lesson_key == key)).scalar() or 0)

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

    def newsletter_has_pending(self, campaign_id: int, key: str, segment: str | None) -> bool:
        """Whether someone of the segment, in any zone, is still to get this issue."""
        with self.engine.connect() as conn:
            # anyone left without a delivery of this issue, or queued for another try
            conditions = self._audience(campaign_id, key, segment)
            return bool(conn.execute(sa.select(sa.exists().where(*conditions))).scalar())

    # -- reports ------------------------------------------------------------

    def delivery_log(self, campaign_id: int | None = None) -> Iterator[AnyRow]:
        # deliveries joined with their subscriber, in send order
        query = (
            sa.select(
                deliveries.c.id, deliveries.c.position, deliveries.c.lesson_key,
                deliveries.c.status, deliveries.c.sent_at, deliveries.c.error,
                subscribers.c.email, subscribers.c.timezone, campaigns.c.slug,
            )
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .join(campaigns, campaigns.c.id == deliveries.c.campaign_id)
            .order_by(subscribers.c.id, deliveries.c.position)
        )
        if campaign_id is not None:
            query = query.where(deliveries.c.campaign_id == campaign_id)
        with self.engine.connect() as conn:
            yield from conn.execute(query)

    def subscriber_plan(self, email: str) -> list[dict[str, Any]]:
        """One subscriber's enrolments with the deliveries each has so far."""
        with self.engine.connect() as conn:
            # a subscriber's enrolments, with campaign slugs
            rows = conn.execute(
                sa.select(enrolments, campaigns.c.slug, subscribers.c.timezone)
                .join(campaigns, campaigns.c.id == enrolments.c.campaign_id)
                .join(subscribers, subscribers.c.id == enrolments.c.subscriber_id)
                .where(subscribers.c.email == email)
                .order_by(enrolments.c.id)
            ).all()
            # that subscriber's deliveries
            sent = conn.execute(
                sa.select(deliveries).where(deliveries.c.subscriber_id.in_({r.subscriber_id for r in rows}))
            ).all()
        return [
            {"enrolment": r, "deliveries": {d.lesson_key: d for d in sent if d.campaign_id == r.campaign_id}}
            for r in rows
        ]

    def upcoming_per_day(self, start: datetime, days: int) -> dict[int, dict[str, int]]:
        """Next lessons due per campaign id and UTC day (YYYY-MM-DD), for the schedule chart."""
        day = sa.func.date(enrolments.c.next_due_at)
        with self.engine.connect() as conn:
            # next lessons due per campaign and day
            rows = conn.execute(
                sa.select(enrolments.c.campaign_id, day, sa.func.count())
                .where(enrolments.c.status == "active", enrolments.c.next_due_at >= start,
                       enrolments.c.next_due_at < start + timedelta(days=days))
                .group_by(enrolments.c.campaign_id, day)
            ).all()
        out: dict[int, dict[str, int]] = {}
        for campaign_id, when, count in rows:
            out.setdefault(campaign_id, {})[str(when)[:10]] = count
        return out

    def sent_per_lesson(self) -> dict[int, dict[str, int]]:
        with self.engine.connect() as conn:
            # sent deliveries per campaign and lesson
            rows = conn.execute(
                sa.select(deliveries.c.campaign_id, deliveries.c.lesson_key, sa.func.count())
                .where(deliveries.c.status == "sent")
                .group_by(deliveries.c.campaign_id, deliveries.c.lesson_key)
            ).all()
        out: dict[int, dict[str, int]] = {}
        for campaign_id, key, count in rows:
            out.setdefault(campaign_id, {})[key] = count
        return out

    def campaign_summary(self) -> list[dict[str, Any]]:
        """Per campaign: enrolments by status and deliveries by status."""
        with self.engine.connect() as conn:
            # enrolment counts per campaign and status
            enrol_counts = conn.execute(
                sa.select(enrolments.c.campaign_id, enrolments.c.status, sa.func.count())
                .group_by(enrolments.c.campaign_id, enrolments.c.status)
            ).all()
            # delivery counts per campaign and status
            delivery_counts = conn.execute(
                sa.select(deliveries.c.campaign_id, deliveries.c.status, sa.func.count())
                .group_by(deliveries.c.campaign_id, deliveries.c.status)
            ).all()
            rows = conn.execute(sa.select(campaigns).order_by(campaigns.c.id)).all()
        out = []
        for c in rows:
            out.append({
                "id": c.id, "slug": c.slug, "status": c.status, "paused_reason": c.paused_reason,
                "enrolments": {s: n for cid, s, n in enrol_counts if cid == c.id},
                "deliveries": {s: n for cid, s, n in delivery_counts if cid == c.id},
            })
        return out
