"""The report queries of `Store`: what `drip status` prints (per-campaign summaries,
lessons sent, lessons due per day), the delivery log (`drip demo`) and one subscriber's
enrolments and deliveries (`Engine.plan`). Rules that the console shows too, such as
"unknown outcome", are in `sender.store.reports`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sender.store import counts
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
        end = start + timedelta(days=days)
        cut = counts.day_ranges(start, end)
        with self.engine.connect() as conn:
            # the lessons active enrolments get next, per campaign (found in the index, not counted)
            found_groups = counts.groups(conn, enrolments, ["campaign_id", "status", "next_position"],
                                         count=False)
            active = [(cid, position) for cid, status, position in found_groups if status == "active"]
            # next lessons due per campaign, lesson and day: one index range each
            ranges = [({"campaign_id": cid, "status": "active", "next_position": position}, lo, hi)
                      for cid, position in active for lo, hi, _ in cut]
            found = counts.range_counts(conn, enrolments, "next_due_at", ranges)
        out: dict[int, dict[str, int]] = {}
        for (fixed, lo, _), (n, _) in zip(ranges, found, strict=True):
            if n:
                per_day = out.setdefault(fixed["campaign_id"], {})
                day = lo.astimezone(UTC).strftime("%Y-%m-%d")
                per_day[day] = per_day.get(day, 0) + n
        return out

    def lesson_counts(self) -> dict[tuple[int, str], dict[str, int]]:
        """{(campaign id, lesson key): {delivery status: how many}}, counted in the index."""
        with self.engine.connect() as conn:
            # deliveries per campaign, lesson and status
            found = counts.groups(conn, deliveries, ["campaign_id", "lesson_key", "status"])
        out: dict[tuple[int, str], dict[str, int]] = {}
        for (cid, key, status), n in found.items():
            out.setdefault((cid, key), {})[status] = n
        return out

    def sent_per_lesson(self) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = {}
        for (cid, key), by_status in self.lesson_counts().items():
            if by_status.get("sent"):
                out.setdefault(cid, {})[key] = by_status["sent"]
        return out

    def campaign_summary(self) -> list[dict[str, Any]]:
        """Per campaign: enrolments by status, deliveries by status, and deliveries by lesson
        and status ("lessons", the figures `sent_per_lesson` gives, from the same count)."""
        lessons = self.lesson_counts()
        with self.engine.connect() as conn:
            # enrolments per campaign and status
            enrolled = counts.groups(conn, enrolments, ["campaign_id", "status"])
            rows = conn.execute(sa.select(campaigns).order_by(campaigns.c.id)).all()
        out = []
        for c in rows:
            mine = {key: by_status for (cid, key), by_status in lessons.items() if cid == c.id}
            totals: dict[str, int] = {}
            for by_status in mine.values():
                for status, n in by_status.items():
                    totals[status] = totals.get(status, 0) + n
            out.append({
                "id": c.id, "slug": c.slug, "status": c.status, "paused_reason": c.paused_reason,
                "enrolments": {s: n for (cid, s), n in enrolled.items() if cid == c.id},
                "deliveries": totals, "lessons": mine,
            })
        return out
