"""The report queries of `Store`: what `drip status` prints (per-campaign summaries,
lessons sent, lessons due per day), the delivery log (`drip demo`) and one subscriber's
enrolments and deliveries (`Engine.plan`). Rules that the console shows too, such as
"unknown outcome", are in `sender.store.reports`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sender.store.base import AnyRow, StoreBase
from sender.store.schema import campaigns, deliveries, enrolments, subscribers


class ReportQueries(StoreBase):
    """Figures over the whole store, for the CLI's reports (a part of Store)."""

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
