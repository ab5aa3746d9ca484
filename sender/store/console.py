"""The staff console's queries, named, over a `Store` (kept apart from the engine's).

Everything a console page shows is counted in SQL or read a page at a time (keyset
pagination by id). Counts over the big tables are ranges of their indexes
(`sender.store.counts`): at a million subscribers a page's counts take tens of
milliseconds, not seconds. What remains a pass over every row (the webhook events
per lesson, joined to their deliveries) is what the console caches for a minute;
see `sender.web.console.cache.Snapshots`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sender import segments
from sender.store import AnyRow, Store, counts
from sender.store.reports import unknown_outcome
from sender.store.schema import (
    UTCDateTime,
    campaigns,
    deliveries,
    enrolments,
    events,
    newsletters,
    subscribers,
    suppressions,
)

FUNNEL_EVENTS = ("delivered", "opened", "clicked", "unsubscribed", "bounced", "complained")
PAGE_SIZE = 50

LessonKey = tuple[int, str]  # (campaign id, lesson key)


def _has_tag(store: Store, tag: str) -> Any:
    """Condition: the subscriber carries this one tag (the search's filter, not an expression)."""
    return segments.condition(segments.Tag(tag), store.dialect)


# -- campaigns ----------------------------------------------------------------------------


def enrolment_counts(store: Store, campaign_id: int | None = None) -> dict[int, dict[str, int]]:
    """{campaign id: {enrolment status: how many}}, counted in the index."""
    out: dict[int, dict[str, int]] = {}
    with store.engine.connect() as conn:
        # enrolments per campaign and status (of one campaign)
        if campaign_id is None:
            found = counts.groups(conn, enrolments, ["campaign_id", "status"])
        else:
            found = {(campaign_id, *key): n for key, n in counts.groups(
                conn, enrolments, ["status"], {"campaign_id": campaign_id}).items()}
    for (cid, status), n in found.items():
        out.setdefault(cid, {})[status] = n
    return out


def delivery_counts(store: Store) -> dict[LessonKey, dict[str, int]]:
    """{(campaign id, lesson key): {delivery status: how many}}, counted in the index."""
    return store.lesson_counts()


def event_counts(store: Store) -> dict[LessonKey, dict[str, int]]:
    """{(campaign id, lesson key): {event type: deliveries with such an event}}.

    A delivery opened five times counts once. Unsubscribes from our own pages carry
    no delivery (the link names the course, not the lesson): each is put on the last
    lesson the subscriber was sent before leaving, which is what "which lesson loses
    people" asks."""
    with store.engine.connect() as conn:
        # deliveries with each kind of webhook event, per campaign and lesson
        rows = conn.execute(
            sa.select(deliveries.c.campaign_id, deliveries.c.lesson_key, events.c.type,
                      sa.func.count(sa.distinct(events.c.delivery_id)))
            .select_from(events.join(deliveries, deliveries.c.id == events.c.delivery_id))
            .where(events.c.type.in_(FUNNEL_EVENTS))
            .group_by(deliveries.c.campaign_id, deliveries.c.lesson_key, events.c.type)).all()
        # unsubscribes made on our pages (no delivery attached)
        loose = conn.execute(
            sa.select(events.c.subscriber_id, events.c.at, events.c.data)
            .where(events.c.type == "unsubscribed", events.c.delivery_id.is_(None),
                   events.c.subscriber_id.is_not(None))).all()
        attributed = _attribute_unsubscribes(conn, loose)
    out: dict[LessonKey, dict[str, int]] = {}
    for cid, key, kind, n in rows:
        out.setdefault((cid, key), {})[kind] = n
    for lesson, n in attributed.items():
        counts = out.setdefault(lesson, {})
        counts["unsubscribed"] = counts.get("unsubscribed", 0) + n
    return out


def _attribute_unsubscribes(conn: sa.Connection, loose: Sequence[Any]) -> dict[LessonKey, int]:
    if not loose:
        return {}
    ids = sorted({e.subscriber_id for e in loose})
    sent: dict[int, list[tuple[datetime, int, str]]] = {}
    for start in range(0, len(ids), 500):
        # the sent lessons of subscribers who unsubscribed on our pages
        for sid, when, cid, key in conn.execute(
                sa.select(deliveries.c.subscriber_id, deliveries.c.sent_at, deliveries.c.campaign_id,
                          deliveries.c.lesson_key)
                .where(deliveries.c.subscriber_id.in_(ids[start:start + 500]),
                       deliveries.c.sent_at.is_not(None))):
            sent.setdefault(sid, []).append((when, cid, key))
    out: dict[LessonKey, int] = {}
    seen: set[tuple[int, int]] = set()
    for e in loose:
        campaign_id = (e.data or {}).get("campaign_id")
        before = [(when, cid, key) for when, cid, key in sent.get(e.subscriber_id, [])
                  if when <= e.at and (campaign_id is None or cid == campaign_id)]
        if not before:
            continue
        _, cid, key = max(before)
        if (e.subscriber_id, cid) not in seen:  # unsubscribing twice loses one person, not two
            seen.add((e.subscriber_id, cid))
            out[(cid, key)] = out.get((cid, key), 0) + 1
    return out


def active_subscribers_in_segment(store: Store, segment: str) -> Sequence[AnyRow]:
    """Whom Start enrols: the active subscribers a segment expression (`sender.segments`) matches."""
    return store.segment_members(segment)


def audience_size(store: Store, segment: str | None) -> int:
    """How many active subscribers (of a segment) a newsletter would reach: what scheduling counts."""
    return store.segment_size(segment)


def enrolment_reach(store: Store, campaign_id: int | None, segment: str | None) -> int:
    """How many Start would enrol (and mail lesson 1): the active subscribers (of a segment)
    not yet enrolled in the campaign; all of them while the campaign has no row."""
    return store.segment_size(segment, not_enrolled_in=campaign_id)


# -- schedule -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DueGroup:
    campaign_id: int
    position: int  # the lesson these enrolments get next
    day: str  # UTC day, YYYY-MM-DD
    count: int
    first_due: datetime


def upcoming_lessons(store: Store, end: datetime) -> list[DueGroup]:
    """Active enrolments in active campaigns whose next lesson is due before `end`
    (overdue ones included), grouped by campaign, lesson position and UTC day. Each group
    is a range of the enrolments index, counted there: no row is read."""
    with store.engine.connect() as conn:
        # active campaigns
        live = set(conn.execute(sa.select(campaigns.c.id).where(campaigns.c.status == "active")).scalars())
        # the lessons their active enrolments get next (found in the index, not counted)
        pairs = [{"campaign_id": cid, "status": "active", "next_position": position}
                 for cid, status, position in counts.groups(
                     conn, enrolments, ["campaign_id", "status", "next_position"], count=False)
                 if status == "active" and cid in live]
        # when the earliest of each is due, then the days from that one's to `end`
        firsts = counts.range_counts(conn, enrolments, "next_due_at",
                                     [(fixed, _LONG_AGO, end) for fixed in pairs], first=True)
        ranges = [(fixed, lo, hi) for fixed, (n, earliest) in zip(pairs, firsts, strict=True) if n
                  for lo, hi, _ in counts.day_ranges(_day_of(_aware(store, earliest)), end)]
        found = counts.range_counts(conn, enrolments, "next_due_at", ranges, first=True)
    return [DueGroup(fixed["campaign_id"], fixed["next_position"], lo.strftime("%Y-%m-%d"), n,
                     _aware(store, earliest))
            for (fixed, lo, _), (n, earliest) in zip(ranges, found, strict=True) if n]


_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


def _day_of(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _aware(store: Store, value: Any) -> datetime:
    """A due time as the column hands it back (SQLite may give min() as text)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    column = cast(UTCDateTime, enrolments.c.next_due_at.type)  # the column's type, as declared
    aware = column.process_result_value(datetime.fromisoformat(str(value)), store.engine.dialect)
    assert aware is not None
    return aware


def scheduled_newsletters(store: Store) -> Sequence[AnyRow]:
    with store.engine.connect() as conn:
        # newsletters still to go out, soonest first
        return conn.execute(
            sa.select(newsletters, campaigns.c.slug, campaigns.c.title,
                      campaigns.c.status.label("campaign_status"))
            .join(campaigns, campaigns.c.id == newsletters.c.campaign_id)
            .where(newsletters.c.status == "scheduled")
            .order_by(newsletters.c.next_run_at)).all()


def newsletter_by_id(store: Store, newsletter_id: int) -> AnyRow | None:
    with store.engine.connect() as conn:
        # one newsletter with its campaign
        return conn.execute(sa.select(newsletters, campaigns.c.slug, campaigns.c.title)
                            .join(campaigns, campaigns.c.id == newsletters.c.campaign_id)
                            .where(newsletters.c.id == newsletter_id)).first()


def cancel_newsletter(store: Store, newsletter_id: int) -> bool:
    """Cancel a newsletter that is still scheduled; False if it is sent or cancelled already."""
    with store.begin() as conn:
        # cancel a scheduled newsletter (never one that is done)
        return conn.execute(newsletters.update()
                            .where(newsletters.c.id == newsletter_id, newsletters.c.status == "scheduled")
                            .values(status="cancelled", next_run_at=None)).rowcount > 0


def newsletters_page(store: Store, limit: int = 100) -> Sequence[AnyRow]:
    with store.engine.connect() as conn:
        # the latest newsletters, newest first
        return conn.execute(sa.select(newsletters, campaigns.c.slug, campaigns.c.title)
                            .join(campaigns, campaigns.c.id == newsletters.c.campaign_id)
                            .order_by(newsletters.c.id.desc()).limit(limit)).all()


# -- subscribers --------------------------------------------------------------------------


def search_subscribers(store: Store, *, query: str = "", tag: str = "", status: str = "",
                       after: int = 0, limit: int = PAGE_SIZE) -> Sequence[AnyRow]:
    """One page of subscribers matching an address fragment, a tag and a status, by id."""
    conditions = [subscribers.c.id > after]
    if query:
        escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(subscribers.c.email.like(f"%{escaped}%", escape="\\"))
    if tag:
        conditions.append(_has_tag(store, tag))
    if status:
        conditions.append(subscribers.c.status == status)
    with store.engine.connect() as conn:
        # a page of subscribers matching a search
        return conn.execute(sa.select(subscribers).where(*conditions).order_by(subscribers.c.id)
                            .limit(limit)).all()


def subscriber_status_counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        # subscribers per status, counted in the status index
        return {status: n for (status,), n in counts.groups(conn, subscribers, ["status"]).items()}


@dataclass
class Timeline:
    enrolments: list[AnyRow]  # with slug and title
    deliveries: list[AnyRow]  # with slug
    events: list[AnyRow]


def subscriber_timeline(store: Store, subscriber_id: int, limit: int = 500) -> Timeline:
    with store.engine.connect() as conn:
        # a subscriber's enrolments
        enrolled = conn.execute(
            sa.select(enrolments, campaigns.c.slug, campaigns.c.title, campaigns.c.kind)
            .join(campaigns, campaigns.c.id == enrolments.c.campaign_id)
            .where(enrolments.c.subscriber_id == subscriber_id).order_by(enrolments.c.enrolled_at)).all()
        # a subscriber's deliveries, newest first
        sent = conn.execute(
            sa.select(deliveries, campaigns.c.slug, campaigns.c.title, campaigns.c.kind)
            .join(campaigns, campaigns.c.id == deliveries.c.campaign_id)
            .where(deliveries.c.subscriber_id == subscriber_id)
            .order_by(deliveries.c.id.desc()).limit(limit)).all()
        ids = [d.id for d in sent]
        # events of those deliveries (by the delivery index), and the subscriber's own ones
        found = conn.execute(
            sa.select(events).where(sa.or_(events.c.delivery_id.in_(ids) if ids else sa.false(),
                                           sa.and_(events.c.subscriber_id == subscriber_id,
                                                   events.c.delivery_id.is_(None))))
            .order_by(events.c.id.desc()).limit(limit)).all()
    return Timeline(list(enrolled), list(sent), list(found))


def delete_subscriber(store: Store, subscriber_id: int, now: datetime) -> str | None:
    """Erase a subscriber: the row, their enrolments and deliveries, and their events
    (which may hold the address), keeping only a hash of the address on the
    suppression list so no import or sign-up mails them again. Returns the address."""
    with store.begin() as conn:
        email = conn.execute(sa.select(subscribers.c.email)
                             .where(subscribers.c.id == subscriber_id)).scalar()
        if email is None:
            return None
        insert = (postgresql.insert if store.dialect == "postgresql" else sqlite.insert)(suppressions)
        # keep an anonymous block: the address's hash only; an earlier reason wins
        conn.execute(insert.values(email_hash=store.email_hash(email), reason="deleted",
                                   detail="deleted on request", created_at=now)
                     .on_conflict_do_nothing(index_elements=["email_hash"]))
        mine = sa.select(deliveries.c.id).where(deliveries.c.subscriber_id == subscriber_id)
        # the subscriber's events: of their deliveries, their own, or about their address
        conn.execute(events.delete().where(sa.or_(
            events.c.subscriber_id == subscriber_id, events.c.delivery_id.in_(mine),
            sa.and_(events.c.subscriber_id.is_(None), events.c.data["email"].as_string() == email))))
        # the subscriber; enrolments and deliveries go with it (ON DELETE CASCADE)
        conn.execute(subscribers.delete().where(subscribers.c.id == subscriber_id))
    return str(email)


# -- deliverability -----------------------------------------------------------------------


def suppression_counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        # suppressed addresses per reason
        return dict(conn.execute(sa.select(suppressions.c.reason, sa.func.count())
                                 .group_by(suppressions.c.reason)).all())


def paused_campaigns(store: Store) -> Sequence[AnyRow]:
    with store.engine.connect() as conn:
        # campaigns paused, with why
        return conn.execute(sa.select(campaigns).where(campaigns.c.status == "paused")
                            .order_by(campaigns.c.slug)).all()


def in_flight(store: Store, now: datetime, limit: int = 200) -> tuple[int, int, list[AnyRow]]:
    """Deliveries in 'sending': (how many are a batch in flight, how many have an unknown
    outcome, the oldest of those). Unknown is `reports.unknown_outcome`, the rule
    `drip status` counts by: handed to a worker that stopped before recording it."""
    unknown = unknown_outcome(now)
    with store.engine.connect() as conn:
        # deliveries being sent, in flight and of unknown outcome (by the status index)
        counts = conn.execute(
            sa.select(sa.func.count(), sa.func.count().filter(unknown))
            .where(deliveries.c.status == "sending")).one()
        # the oldest of unknown outcome, with whom and what
        rows = conn.execute(
            sa.select(deliveries.c.id, deliveries.c.lesson_key, deliveries.c.position,
                      deliveries.c.claimed_at, deliveries.c.attempts, deliveries.c.subscriber_id,
                      subscribers.c.email, campaigns.c.slug, campaigns.c.kind)
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .join(campaigns, campaigns.c.id == deliveries.c.campaign_id)
            .where(unknown).order_by(deliveries.c.claimed_at, deliveries.c.id).limit(limit)).all()
    total, old = counts
    return total - old, old, list(rows)


RESOLUTIONS = ("sent", "failed", "retry")


def resolve_deliveries(store: Store, ids: Iterable[int], outcome: str, now: datetime, by: str) -> int:
    """Settle deliveries of unknown outcome as staff found them in the provider's log:
    'sent' (it went), 'failed' (it did not; give up), or 'retry' (it did not; send it
    again: a course enrolment is wound back to that lesson, due now). Only rows still
    of unknown outcome are touched, so a worker that comes back to life never gets overwritten.
    Each resolution leaves an event, so the timeline says who settled it."""
    if outcome not in RESOLUTIONS:
        raise ValueError(f"outcome {outcome!r} is not one of {', '.join(RESOLUTIONS)}")
    wanted = sorted(set(ids))
    if not wanted:
        return 0
    with store.begin() as conn:
        # the wanted deliveries whose outcome is still unknown
        rows = conn.execute(
            sa.select(deliveries.c.id, deliveries.c.subscriber_id, deliveries.c.campaign_id,
                      deliveries.c.position)
            .where(deliveries.c.id.in_(wanted), unknown_outcome(now))).all()
        if not rows:
            return 0
        found = [r.id for r in rows]
        values: dict[str, Any] = {"status": "queued" if outcome == "retry" else outcome}
        if outcome == "sent":
            values["sent_at"] = now
        else:
            values["error"] = f"outcome unknown; resolved as {outcome} by {by}"
        # settle them
        conn.execute(deliveries.update().where(deliveries.c.id.in_(found)).values(**values))
        if outcome == "retry":
            _wind_back(conn, rows, now)
        conn.execute(events.insert(), [
            {"delivery_id": r.id, "subscriber_id": r.subscriber_id, "type": "resolved", "at": now,
             "provider": None, "data": {"outcome": outcome, "by": by}} for r in rows])
    return len(rows)


def _wind_back(conn: sa.Connection, rows: Iterable[Any], now: datetime) -> None:
    """Wind each row's course back to its lesson, due now (rows: subscriber_id, campaign_id,
    position); newsletters simply reclaim queued rows."""
    for r in rows:
        conn.execute(enrolments.update()
                     .where(enrolments.c.subscriber_id == r.subscriber_id,
                            enrolments.c.campaign_id == r.campaign_id,
                            enrolments.c.status.in_(["active", "completed"]),
                            enrolments.c.next_position > r.position)
                     .values(status="active", next_position=r.position, next_due_at=now,
                             completed_at=None))


def retry_failed(store: Store, slug: str, now: datetime, by: str, lesson: str | None = None,
                 email: str | None = None) -> int:
    """Queue a campaign's failed deliveries again (of one lesson, of one subscriber), each
    course wound back to that lesson, due now; returns how many. Subscribers who are not
    active (suppressed, unsubscribed) are never retried."""
    with store.begin() as conn:
        # failed deliveries of a campaign whose subscriber may still be mailed
        query = (sa.select(deliveries.c.id, deliveries.c.subscriber_id, deliveries.c.campaign_id,
                           deliveries.c.position)
                 .join(campaigns, campaigns.c.id == deliveries.c.campaign_id)
                 .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
                 .where(campaigns.c.slug == slug, deliveries.c.status == "failed",
                        subscribers.c.status == "active"))
        if lesson is not None:
            query = query.where(deliveries.c.lesson_key == lesson)
        if email is not None:
            query = query.where(subscribers.c.email == email)
        rows = [r for r in conn.execute(query).all()]
        if not rows:
            return 0
        conn.execute(deliveries.update().where(deliveries.c.id.in_([r.id for r in rows]))
                     .values(status="queued", error=f"queued again by {by}"))
        _wind_back(conn, rows, now)
        conn.execute(events.insert(), [
            {"delivery_id": r.id, "subscriber_id": r.subscriber_id, "type": "retried", "at": now,
             "provider": None, "data": {"by": by}} for r in rows])
    return len(rows)
