"""One-off and recurring newsletters (broadcasts).

A scheduled newsletter is a row in the store, so it survives restarts. Each
issue has a key (its wall-clock time), and each subscriber gets at most one
delivery per issue: the same unique delivery row that guards course lessons.
With `local`, an issue goes out at its wall-clock time in each subscriber's own
zone, so it starts where the day starts first and ends where it starts last.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.cron import CronTrigger

from sender.campaign import Campaign, CampaignError, load_lesson
from sender.schedule import zone

if TYPE_CHECKING:
    from sender.engine import Engine, TickReport
    from sender.store import Store

WALL_FORMAT = "%Y-%m-%dT%H:%M"
# Zones run from UTC-12 to UTC+14: an issue at a local wall time starts at the
# earliest 14 hours before that time in UTC and ends at the latest 12 hours after.
EARLIEST, LATEST = timedelta(hours=14), timedelta(hours=12)


class NewsletterError(CampaignError):
    pass


def parse_wall_time(text: str) -> datetime:
    try:
        return datetime.strptime(text.strip().replace(" ", "T"), WALL_FORMAT)
    except ValueError:
        raise NewsletterError(f"--at {text!r}: expected a time like 2026-12-01 09:00") from None


def first_instant(wall: datetime, tz_name: str, local: bool) -> datetime:
    """The earliest moment an issue at `wall` may start."""
    from datetime import UTC

    if local:
        return wall.replace(tzinfo=UTC) - EARLIEST
    return wall.replace(tzinfo=zone(tz_name)).astimezone(UTC)


def next_wall_time(cron: str, tz_name: str, after: datetime) -> datetime:
    """The next wall time of a recurring newsletter (APScheduler's CronTrigger does the calendar)."""
    tz = zone(tz_name)
    fire = CronTrigger.from_crontab(cron, timezone=tz).get_next_fire_time(
        None, after.replace(tzinfo=tz) + timedelta(minutes=1))
    if fire is None:
        raise NewsletterError(f"cron {cron!r} never fires again")
    return fire.astimezone(tz).replace(tzinfo=None)


def schedule_newsletter(store: Store, source: Path, *, at: str | None, cron: str | None, local: bool,
                        segment: str | None, timezone: str, now: datetime) -> int:
    """Validate the newsletter file and the timing, then store the schedule."""
    if not source.is_file():
        raise NewsletterError(f"newsletter file not found: {source}")
    lesson = load_lesson(source, 1)  # fails now, naming the file, rather than at send time
    zone(timezone)
    if cron:
        try:
            CronTrigger.from_crontab(cron)
        except ValueError as exc:
            raise NewsletterError(f"--cron {cron!r}: {exc}") from None
        wall = parse_wall_time(at) if at else next_wall_time(cron, timezone, now.astimezone(
            zone(timezone)).replace(tzinfo=None))
    elif at:
        wall = parse_wall_time(at)
    else:
        raise NewsletterError("say when: --at '2026-12-01 09:00' or --cron '0 9 * * mon'")
    campaign_id = store.ensure_campaign(f"newsletter-{source.stem}", title=lesson.subject, now=now,
                                        kind="newsletter")
    return store.add_newsletter({
        "campaign_id": campaign_id, "source": str(source.resolve()), "wall_time": wall.strftime(WALL_FORMAT),
        "timezone": timezone, "local": local, "segment": segment, "cron": cron,
        "next_run_at": first_instant(wall, timezone, local), "status": "scheduled", "created_at": now,
    })


def send_due_newsletters(engine: Engine, report: TickReport, max_batches: int | None = None) -> None:
    """Send every issue whose time has come, batch by batch, then move recurring ones on."""
    now = engine.clock()
    for row in engine.store.due_newsletters(now):
        try:
            lesson = load_lesson(Path(row.source), 1)
        except (OSError, CampaignError) as exc:
            report.errors.append(f"newsletter {row.id} ({row.source}): {exc}")
            continue
        key = f"issue-{row.wall_time}"
        campaign = Campaign(slug=row.slug, path=Path(row.source).parent, title=lesson.subject,
                            lessons=(dataclasses.replace(lesson, key=key),))
        wall = datetime.strptime(row.wall_time, WALL_FORMAT)
        zones = _open_zones(engine, row, wall, now)
        batches = 0
        while max_batches is None or batches < max_batches:
            with engine.store.begin() as conn:
                picked = engine.store.claim_newsletter(conn, row.campaign_id, key, row.segment, zones,
                                                       engine.settings.default_timezone, now,
                                                       engine.settings.batch_size)
            if not picked:
                break
            batches += 1
            engine.send([{"delivery_id": d, "attempts": a, "enrolment_id": None, "campaign": campaign,
                          "lesson": campaign.lessons[0], "subscriber": sub} for d, a, sub in picked],
                        report, template="newsletter")
            if report.stopped:
                return
            if row.slug in report.paused:  # this issue cannot be sent: its queued rows wait for resume
                break
        if row.slug in report.paused:
            continue
        everyone_reached = not row.local or now >= wall.replace(tzinfo=now.tzinfo) + LATEST
        if everyone_reached and not engine.store.newsletter_has_pending(row.campaign_id, key, row.segment):
            _issue_done(engine.store, row, wall)


def _open_zones(engine: Engine, row: Any, wall: datetime, now: datetime) -> list[str] | None:
    """Zones whose local `wall` time has come (None: all, for a newsletter at one instant)."""
    if not row.local:
        return None
    names = engine.store.subscriber_zones(engine.settings.default_timezone)
    return [name for name in names if wall.replace(tzinfo=zone(name)) <= now]


def _issue_done(store: Store, row: Any, wall: datetime) -> None:
    if row.cron:
        nxt = next_wall_time(row.cron, row.timezone, wall)
        store.update_newsletter(row.id, wall_time=nxt.strftime(WALL_FORMAT), status="scheduled",
                                next_run_at=first_instant(nxt, row.timezone, row.local))
    else:
        store.update_newsletter(row.id, status="sent", next_run_at=None)
