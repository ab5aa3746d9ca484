"""Figures that `drip status` and the console both report, each rule defined once.

"Unknown outcome" lives here because two readers show it: `drip status` in its table
and the console on its deliverability page, where staff settle such deliveries. With
the rule in one place, the two cannot give different numbers for the same store.
"""

from __future__ import annotations

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
        # deliveries of unknown outcome per campaign (by the status index)
        rows = conn.execute(sa.select(deliveries.c.campaign_id, sa.func.count())
                            .where(unknown_outcome(now)).group_by(deliveries.c.campaign_id)).all()
    return {campaign_id: n for campaign_id, n in rows}
