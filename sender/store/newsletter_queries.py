"""The newsletter queries of `Store`: scheduling and reading newsletters, and who an
issue is for (a segment: active subscribers matching a tag expression). Claiming an issue's batch is
in `Store` with the other claims, in the transaction a tick commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sender import segments
from sender.store.base import AnyRow, StoreBase
from sender.store.schema import campaigns, deliveries, enrolments, newsletters, subscribers


class NewsletterQueries(StoreBase):
    """Newsletters and their audiences (a part of Store)."""

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
        """Who a newsletter is for: active subscribers, matching the segment's tag expression
        if it has one (`sender.segments`). Scheduling counts, sending claims, and the console
        enrols and counts, by this one definition."""
        conditions = [subscribers.c.status == "active"]
        if segment:
            conditions.append(segments.segment_condition(segment, self.dialect))
        return conditions

    def segment_members(self, segment: str | None) -> Sequence[AnyRow]:
        """The active subscribers of a segment (None: everyone), by id: whom Start enrols."""
        with self.engine.connect() as conn:
            # the active subscribers a segment expression matches
            return conn.execute(sa.select(subscribers).where(*self._segment(segment))
                                .order_by(subscribers.c.id)).all()

    def _audience(self, campaign_id: int, key: str, segment: str | None) -> list[Any]:  # conditions
        """Active subscribers of a segment who have no delivery of this issue yet."""
        delivered = sa.exists().where(
            deliveries.c.subscriber_id == subscribers.c.id, deliveries.c.campaign_id == campaign_id,
            deliveries.c.lesson_key == key, deliveries.c.status != "queued")
        return [*self._segment(segment), ~delivered]

    def segment_size(self, segment: str | None, not_enrolled_in: int | None = None) -> int:
        """How many subscribers a newsletter to `segment` (None: everyone) would reach now; of
        those, with `not_enrolled_in`, how many are not enrolled in that campaign yet."""
        if segment and self.dialect == "sqlite":  # on the tag sets (see `segments.count_active`)
            query = segments.count_active(segments.parse(segment), not_enrolled_in)
        else:
            conditions = self._segment(segment)
            if not_enrolled_in is not None:
                conditions.append(~sa.exists().where(enrolments.c.subscriber_id == subscribers.c.id,
                                                     enrolments.c.campaign_id == not_enrolled_in))
            # count the active subscribers of a segment (not yet enrolled in a campaign)
            query = sa.select(sa.func.count()).select_from(subscribers).where(*conditions)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def tags_in_use(self) -> list[str]:
        """The tags active subscribers carry, sorted: what a segment can be."""
        with self.engine.connect() as conn:
            # the distinct tags of active subscribers
            if self.dialect == "postgresql":
                query = sa.text("SELECT DISTINCT jsonb_array_elements_text(CAST(tags AS jsonb)) "
                                "FROM subscribers WHERE status = 'active'")
            else:  # each tag of the tag table's key (migration 0011) that an active subscriber has
                query = sa.text("SELECT t.tag FROM (SELECT DISTINCT tag FROM subscriber_tags) AS t "
                                "WHERE EXISTS (SELECT 1 FROM subscriber_tags AS st JOIN subscribers AS s "
                                "ON s.id = st.subscriber_id WHERE st.tag = t.tag AND s.status = 'active')")
            return sorted(str(t) for t in conn.execute(query).scalars())

    def issue_delivery_count(self, campaign_id: int, key: str) -> int:
        """How many delivery rows an issue has, whatever their outcome."""
        with self.engine.connect() as conn:
            # the deliveries of one newsletter issue
            return int(conn.execute(sa.select(sa.func.count()).select_from(deliveries).where(
                deliveries.c.campaign_id == campaign_id, deliveries.c.lesson_key == key)).scalar() or 0)

    def newsletter_has_pending(self, campaign_id: int, key: str, segment: str | None) -> bool:
        """Whether someone of the segment, in any zone, is still to get this issue."""
        with self.engine.connect() as conn:
            # anyone left without a delivery of this issue, or queued for another try
            conditions = self._audience(campaign_id, key, segment)
            return bool(conn.execute(sa.select(sa.exists().where(*conditions))).scalar())
