"""The drip engine: enrol subscribers, and on every tick send what is due.

A tick claims due enrolments in batches. For each batch, inside one
transaction, it writes the delivery rows (status 'sending', unique per
subscriber × lesson) and moves each enrolment on to its next lesson; only
after that commit does it render and hand the batch to the provider, then
records each result. A crash between the two leaves rows in 'sending': their
outcome is unknown and `drip status` lists them; they are never resent blindly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sender.campaign import Campaign, load_campaign
from sender.messages import compose
from sender.providers import Provider, SendResult
from sender.render import Renderer
from sender.schedule import Clock, after_delay, zone
from sender.settings import Settings
from sender.store import Store


@dataclass
class TickReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # already delivered before (never sent twice)
    completed: int = 0
    errors: list[str] = field(default_factory=list)


class Engine:
    def __init__(self, settings: Settings, store: Store, provider: Provider, clock: Clock,
                 renderer: Renderer | None = None) -> None:
        self.settings = settings
        self.store = store
        self.provider = provider
        self.clock = clock
        self.renderer = renderer or Renderer(settings.path("templates_dir"), settings)
        self._campaigns: dict[int, Campaign] = {}
        self._signing_key = settings.signing_key or store.signing_key()

    # -- campaigns ------------------------------------------------------------

    def load(self, slug: str) -> tuple[int, Campaign]:
        campaign = load_campaign(self.settings.path("campaigns_dir") / slug)
        campaign_id = self.store.ensure_campaign(campaign.slug, title=campaign.title, now=self.clock())
        self._campaigns[campaign_id] = campaign
        return campaign_id, campaign

    def _campaign(self, campaign_id: int) -> Campaign:
        if campaign_id not in self._campaigns:
            slug = next(c.slug for c in self.store.campaigns() if c.id == campaign_id)
            self.load(slug)
        return self._campaigns[campaign_id]

    def send_hour(self, campaign: Campaign) -> int:
        return int(campaign.settings.get("send_hour", self.settings.send_hour))

    def delay_before(self, campaign: Campaign, position: int) -> int:
        """Days between lesson `position - 1` (or enrolment) and lesson `position`."""
        lesson = campaign.lesson(position)
        if lesson is not None and lesson.delay is not None:
            return lesson.delay
        if position == 1:
            return 0
        return int(campaign.settings.get("delay_days", self.settings.default_delay_days))

    def due_after(self, campaign: Campaign, position: int, previous: datetime,
                  timezone: str | None) -> datetime:
        tz = zone(timezone, self.settings.default_timezone)
        return after_delay(previous, self.delay_before(campaign, position), tz,
                           self.send_hour(campaign))

    # -- enrolment ------------------------------------------------------------

    def enrol(self, slug: str, emails: Sequence[str] | None = None) -> int:
        """Enrol the given subscribers (all active ones if None); returns how many were new."""
        campaign_id, campaign = self.load(slug)
        now = self.clock()
        wanted = None if emails is None else set(emails)
        rows = [
            {
                "subscriber_id": s.id,
                "campaign_id": campaign_id,
                "enrolled_at": now,
                "next_due_at": self.due_after(campaign, 1, now, s.timezone),
            }
            for s in self.store.subscribers()
            if s.status == "active" and (wanted is None or s.email in wanted)
        ]
        return self.store.enrol(rows)

    # -- sending ----------------------------------------------------------------

    def tick(self, max_batches: int | None = None) -> TickReport:
        """Send everything due now, batch by batch."""
        report = TickReport()
        batches = 0
        while max_batches is None or batches < max_batches:
            claimed = self._claim_batch(report)
            if claimed is None:
                break
            batches += 1
            if claimed:
                self._send(claimed, report)
        return report

    def _claim_batch(self, report: TickReport) -> list[dict[str, Any]] | None:
        """Claim one batch; None when nothing is due."""
        now = self.clock()
        with self.store.begin() as conn:
            due = self.store.claim_due(conn, now, self.settings.batch_size)
            if not due:
                return None
            subscribers = self.store.subscribers_by_id({d.subscriber_id for d in due})
            deliveries, advances, planned = [], [], []
            for d in due:
                campaign = self._campaign(d.campaign_id)
                sub = subscribers[d.subscriber_id]
                lesson = campaign.lesson(d.next_position)
                if lesson is not None:
                    deliveries.append({
                        "subscriber_id": d.subscriber_id, "campaign_id": d.campaign_id,
                        "lesson_key": lesson.key, "position": lesson.position,
                        "status": "sending", "scheduled_at": d.next_due_at, "claimed_at": now,
                    })
                    planned.append((d, lesson, sub))
                following = d.next_position + 1
                if lesson is None or campaign.lesson(following) is None:
                    advances.append({"b_id": d.enrolment_id, "b_position": following,
                                     "b_due": None, "b_status": "completed", "b_completed": now})
                    report.completed += 1
                else:
                    advances.append({
                        "b_id": d.enrolment_id, "b_position": following,
                        "b_due": self.due_after(campaign, following, now, sub.timezone),
                        "b_status": "active", "b_completed": None,
                    })
            new_ids = self.store.insert_deliveries(conn, deliveries)
            self.store.advance_enrolments(conn, advances)
        claimed = []
        for d, lesson, sub in planned:
            delivery_id = new_ids.get((d.subscriber_id, d.campaign_id))
            if delivery_id is None:
                report.skipped += 1  # this lesson reached this subscriber before
                continue
            claimed.append({"delivery_id": delivery_id, "campaign_id": d.campaign_id,
                            "lesson": lesson, "subscriber": sub})
        return claimed

    def _send(self, claimed: list[dict[str, Any]], report: TickReport) -> None:
        now = self.clock()
        messages, failures = [], []
        for item in claimed:
            campaign = self._campaign(item["campaign_id"])
            try:
                compiled = self.renderer.compile(campaign, item["lesson"])
                messages.append(compose(
                    settings=self.settings, renderer=self.renderer, compiled=compiled,
                    subscriber=item["subscriber"], signing_key=self._signing_key, now=now,
                    delivery_key=f"delivery:{item['delivery_id']}", delivery_id=item["delivery_id"],
                ))
            except Exception as exc:  # one bad lesson or subscriber must not sink the batch
                failures.append({"b_id": item["delivery_id"], "b_status": "failed", "b_pid": None,
                                 "b_error": f"{campaign.slug}/{item['lesson'].key}: {exc}",
                                 "b_message_id": None, "subscriber_id": item["subscriber"].id})
        try:
            results = self.provider.send_messages(messages) if messages else []
        except Exception as exc:  # the provider failed as a whole: every message failed
            results = [SendResult(m, ok=False, error=f"{self.provider.name}: {exc}") for m in messages]
        by_id = {i["delivery_id"]: i for i in claimed}
        records = failures + [
            {
                "b_id": r.message.delivery_id,
                "b_status": "sent" if r.ok else "failed",
                "b_pid": r.provider_message_id,
                "b_error": r.error,
                "b_message_id": r.message.message_id,
                "subscriber_id": by_id[r.message.delivery_id]["subscriber"].id,
                "provider": self.provider.name,
            }
            for r in results
        ]
        self.store.record_results(records, now)
        for r in records:
            if r["b_status"] == "sent":
                report.sent += 1
            else:
                report.failed += 1
                report.errors.append(r["b_error"] or "unknown error")


def project_engine(settings: Settings, clock: Clock, provider: Provider | None = None) -> Engine:
    """An engine wired from settings: store at database_url, provider from its URL."""
    from sender.providers import get_provider

    store = Store(settings.resolved_database_url)
    provider = provider or get_provider(settings.provider, project_dir=Path(settings.project_dir))
    return Engine(settings, store, provider, clock)
