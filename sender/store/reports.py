"""Figures that `drip status` and the console both report, each rule defined once.

"Unknown outcome" lives here because two readers show it: `drip status` in its table
and the console on its deliverability page, where staff settle such deliveries. With
the rule in one place, the two cannot give different numbers for the same store.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sender.store import Store
from sender.store.schema import deliveries

# A tick records a batch's outcomes within seconds to a few minutes of claiming it, so
# a delivery still in 'sending' after this long was handed to a worker that stopped
# before recording what happened. Younger ones are a batch in flight: counting those
# would alarm staff about every tick and invite them to "resolve" mail being sent.
STALE_AFTER = timedelta(minutes=15)


def unknown_outcome(now: datetime) -> Any:
    """Condition on `deliveries`: nobody knows whether it went. Claimed for sending
    longer than STALE_AFTER ago and never recorded; a batch in flight now is not one."""
    return sa.and_(deliveries.c.status == "sending", deliveries.c.claimed_at < now - STALE_AFTER)


def unknown_outcomes_per_campaign(store: Store, now: datetime) -> dict[int, int]:
    """How many deliveries of each campaign have an unknown outcome (campaigns with
    none are left out)."""
    with store.engine.connect() as conn:
        # deliveries of unknown outcome (by the status index), their campaigns counted here: a
        # GROUP BY tempts SQLite into reading every delivery in campaign order instead
        rows = conn.execute(sa.select(deliveries.c.campaign_id).where(unknown_outcome(now))).scalars()
        return dict(Counter(rows))


def would_enrol(store: Store, slug: str, emails: list[str] | None, sample: int = 5
                ) -> tuple[int, list[str], int]:
    """`drip enrol --dry-run`: (how many would be enrolled, the first `sample` of their
    addresses, how many are enrolled already). The rule is `Engine.enrol`'s: active
    subscribers (only those of `emails` when given) with no enrolment in the campaign yet."""
    from sender.store.schema import campaigns, enrolments, subscribers

    enrolled = (sa.select(enrolments.c.subscriber_id)
                .join(campaigns, campaigns.c.id == enrolments.c.campaign_id)
                .where(campaigns.c.slug == slug))
    chosen = subscribers.c.status == "active"
    if emails is not None:
        chosen = sa.and_(chosen, subscribers.c.email.in_(emails))
    new = sa.and_(chosen, subscribers.c.id.not_in(enrolled))
    with store.engine.connect() as conn:
        # active subscribers not yet enrolled in the campaign: how many, and the first few
        count = conn.execute(sa.select(sa.func.count()).select_from(subscribers).where(new)).scalar_one()
        first = conn.execute(sa.select(subscribers.c.email).where(new)
                             .order_by(subscribers.c.id).limit(sample)).scalars().all()
        # of those chosen, the ones enrolled already
        already = conn.execute(sa.select(sa.func.count()).select_from(subscribers)
                               .where(chosen, subscribers.c.id.in_(enrolled))).scalar_one()
    return count, list(first), already


def unknown_delivery_ids(store: Store, now: datetime, limit: int) -> list[int]:
    """Up to `limit` deliveries of unknown outcome, oldest claim first."""
    with store.engine.connect() as conn:
        # deliveries of unknown outcome to look up in the provider's log
        return list(conn.execute(sa.select(deliveries.c.id).where(unknown_outcome(now))
                                 .order_by(deliveries.c.claimed_at).limit(limit)).scalars())


def settle_as_sent(store: Store, found: dict[int, str], now: datetime) -> int:
    """Record deliveries of unknown outcome that the provider's own log shows it took."""
    settled = 0
    with store.begin() as conn:
        for delivery_id, provider_message_id in found.items():
            # a delivery of unknown outcome the provider has a record of
            settled += conn.execute(
                deliveries.update().where(deliveries.c.id == delivery_id, deliveries.c.status == "sending")
                .values(status="sent", sent_at=now, provider_message_id=provider_message_id,
                        error="outcome was unknown; found in the provider's message log")).rowcount
    return settled


def due_lesson_count(store: Store, now: datetime) -> int:
    """How many course lessons are due now: what a tick would claim, before send windows
    (some may wait for theirs) and without newsletters."""
    from sender.store.schema import campaigns, enrolments, subscribers

    with store.engine.connect() as conn:
        # due enrolments of active subscribers in active campaigns (the claim's rule), counted
        return int(conn.execute(
            sa.select(sa.func.count()).select_from(enrolments)
            .join(campaigns, campaigns.c.id == enrolments.c.campaign_id)
            .join(subscribers, subscribers.c.id == enrolments.c.subscriber_id)
            .where(enrolments.c.status == "active", enrolments.c.next_due_at <= now,
                   campaigns.c.status == "active", subscribers.c.status == "active")).scalar_one())
