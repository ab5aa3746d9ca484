"""The subscriber queries of `Store`: adding and finding subscribers, consent,
unsubscribes and the suppression list, and the provider events that change them.

Suppression outlives the subscriber row: it is kept by a hash of the address
(`email_hash`), so a deleted subscriber's address stays blocked.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from sender.store.base import AnyRow, StoreBase
from sender.store.schema import deliveries, enrolments, events, subscribers, suppressions


class SubscriberQueries(StoreBase):
    """Subscribers, consent, unsubscribes and suppression (a part of Store)."""

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
        conn: sa.Connection | None = None,
    ) -> tuple[int, bool]:
        """Insert or update one subscriber by email, in `conn`'s transaction or a new one;
        returns (id, created). An update fills in what is given, merges custom fields and
        tags, and keeps status and consent."""
        with self.begin() if conn is None else contextlib.nullcontext(conn) as tx:
            # find subscriber by normalised email
            row = tx.execute(
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
                tx.execute(subscribers.update().where(subscribers.c.id == row.id).values(**values))
                return row.id, False
            # add a subscriber, unless another writer (a second import) added the address meanwhile
            new_id = tx.execute(
                self._insert(subscribers).values(
                    email=email, fields=fields or {}, tags=sorted(set(tags)), status=status,
                    consent_source=consent_source, consent_at=now if consent_source else None,
                    created_at=now, name=name, timezone=timezone, updated_at=now,
                ).on_conflict_do_nothing(index_elements=["email"]).returning(subscribers.c.id)
            ).scalar()
        if new_id is None:  # it has been added since the SELECT: update it, as found now (in
            # `conn`'s transaction, or a new one: this one is over)
            return self.upsert_subscriber(email, now=now, name=name, timezone=timezone, fields=fields,
                                          tags=tags, status=status, consent_source=consent_source,
                                          conn=conn)
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
            if row is None or not self._may_resubscribe(conn, row):
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

    def _may_resubscribe(self, conn: sa.Connection, subscriber: Any) -> bool:
        # an unsubscribe can be undone; a bounce, complaint or failure never is
        return (subscriber.status in ("active", "unsubscribed")
                and not self._suppressed(conn, subscriber.email))

    def may_resubscribe(self, subscriber: Any) -> bool:
        """Whether `resubscribe` would take this subscriber back (the page offers it only then)."""
        with self.engine.connect() as conn:
            return self._may_resubscribe(conn, subscriber)

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
            targets = _EventTargets.read(conn, rows)
            stored = 0
            to_suppress: dict[str, set[int]] = {}
            went: dict[int, tuple[datetime, str]] = {}  # deliveries the provider reports on: it took them
            for r in rows:
                delivery_id, subscriber_id = targets.link(r)
                if delivery_id is not None:
                    went.setdefault(delivery_id, (r["at"], "failed" if r["type"] == "failed" else "sent"))
                if not self._store_event(conn, r, delivery_id, subscriber_id):
                    continue  # this provider sent it before
                stored += 1
                reason = _suppression_reason(r)
                if subscriber_id is not None and reason:
                    to_suppress.setdefault(reason, set()).add(subscriber_id)
            _settle_reported(conn, went)
            suppressed = 0
            for reason, ids in to_suppress.items():
                if reason == "unsubscribed":  # the provider's own unsubscribe link: honour it, no block
                    self._end_subscriptions(conn, sorted(ids), "unsubscribed", now)
                else:
                    suppressed += self.suppress(ids, reason, now, conn=conn)
            return stored, suppressed

    def _store_event(self, conn: sa.Connection, r: dict[str, Any], delivery_id: int | None,
                     subscriber_id: int | None) -> bool:
        """Insert one provider event; False if this provider already sent it."""
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
        return result.first() is not None


@dataclass
class _EventTargets:
    """The subscribers and deliveries a batch of provider events names."""

    by_email: dict[str, int] = field(default_factory=dict)  # subscriber id by address
    known: dict[int, int] = field(default_factory=dict)  # subscriber by our delivery id
    # a list: one batch send can share a provider id (SendGrid's X-Message-Id)
    by_provider_id: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def read(cls, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> _EventTargets:
        found = cls()
        emails = {r["email"] for r in rows if r.get("email")}
        if emails:
            # subscribers the events are about
            found.by_email = dict(conn.execute(sa.select(subscribers.c.email, subscribers.c.id)
                                               .where(subscribers.c.email.in_(emails))).all())
        wanted = {r["delivery_id"] for r in rows if r.get("delivery_id")}
        if wanted:
            # deliveries (and their subscribers) named by our id, or found by the provider's message id
            found.known = {row.id: row.subscriber_id for row in conn.execute(
                sa.select(deliveries.c.id, deliveries.c.subscriber_id).where(deliveries.c.id.in_(wanted)))}
        provider_ids = {r["provider_message_id"] for r in rows
                        if r.get("provider_message_id") and r.get("delivery_id") not in found.known}
        if provider_ids:
            for row in conn.execute(sa.select(deliveries.c.provider_message_id, deliveries.c.id,
                                              deliveries.c.subscriber_id)
                                    .where(deliveries.c.provider_message_id.in_(provider_ids))):
                shared = found.by_provider_id.setdefault(row.provider_message_id, [])
                shared.append((row.id, row.subscriber_id))
        return found

    def link(self, r: dict[str, Any]) -> tuple[int | None, int | None]:
        """(delivery id, subscriber id) of one event: the delivery by our id, else by the
        provider's message id; the subscriber by address, else (no address given) the one
        the message went to."""
        subscriber_id = self.by_email.get(r["email"]) if r.get("email") else None
        delivery_id: int | None = None
        owner: int | None = None
        if r.get("delivery_id") in self.known:
            delivery_id, owner = r["delivery_id"], self.known[r["delivery_id"]]
        else:
            candidates = self.by_provider_id.get(r.get("provider_message_id") or "", [])
            if len(candidates) > 1:  # shared id: only the event's own subscriber's delivery
                candidates = [c for c in candidates if c[1] == subscriber_id]
            if len(candidates) == 1:
                delivery_id, owner = candidates[0]
        return delivery_id, subscriber_id if r.get("email") else owner


def _suppression_reason(r: dict[str, Any]) -> str | None:
    """What a stored provider event does to its subscriber: suppress them as "bounced" or
    "complained", end their subscriptions ("unsubscribed"), or nothing (None)."""
    if r["type"] == "complained" or (r["type"] == "bounced" and r.get("permanent")):
        return str(r["type"])
    if r["type"] == "failed" and r.get("permanent"):
        # e.g. SendGrid dropping an address on its bounce/invalid/spam/unsubscribe
        # lists: the same as a hard bounce, every later send would be refused too
        return "bounced"
    if r["type"] == "unsubscribed":
        return "unsubscribed"
    return None


def _settle_reported(conn: sa.Connection, went: dict[int, tuple[datetime, str]]) -> None:
    for delivery_id, (at, status) in went.items():
        # settle a delivery of unknown outcome (its answer was lost, or its worker died):
        # an event about it is the provider's word that it took the message (and, for a
        # 'failed' event, dropped it)
        conn.execute(deliveries.update().where(deliveries.c.id == delivery_id,
                                               deliveries.c.status == "sending")
                     .values(status=status, sent_at=at if status == "sent" else None,
                             error=f"outcome was unknown; the provider's events show it {status}"))
