"""One-off and recurring newsletters (broadcasts).

A scheduled newsletter is a row in the store, so it survives restarts. Each
issue has a key made of the row's id and its wall-clock time (`issue_key`), and
each subscriber gets at most one delivery per issue: the same unique delivery
row that guards course lessons. So the same file scheduled twice is two issues,
and each issue of a recurring newsletter is its own. With `local`, an issue goes
out at its wall-clock time in each subscriber's own zone, so it starts where the
day starts first and ends where it starts last.

Scheduling refuses what would go wrong without a word: a time already past
(unless asked to send now) and a segment that matches nobody. An issue that
comes due and finds nobody is reported, never marked sent.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.cron import CronTrigger

from sender.campaign import Campaign, CampaignError, Lesson, load_lesson
from sender.schedule import zone
from sender.segments import audience_word
from sender.segments import parse as parse_segment

if TYPE_CHECKING:
    from sender.engine import Engine, TickReport
    from sender.store import Store

WALL_FORMAT = "%Y-%m-%dT%H:%M"
# Zones run from UTC-12 to UTC+14: an issue at a local wall time starts at the
# earliest 14 hours before that time in UTC and ends at the latest 12 hours after.
EARLIEST, LATEST = timedelta(hours=14), timedelta(hours=12)
NO_AUDIENCE = "no-audience"  # status of a one-off issue that came due and matched nobody
PAST_HINT = "pass --now to send it at the next tick anyway"

# The body's own greeting: its first non-blank line, past Markdown marks, opens with one
# of these words (whole words: "Hiking" and "Hi-fi" are not greetings).
_GREETING = re.compile(
    r"(?:hi|hiya|hello|hey|howdy|dear|greetings|good\s+(?:morning|afternoon|evening))(?![\w-])",
    re.IGNORECASE)


class NewsletterError(CampaignError):
    pass


def body_greets(body: str) -> bool:
    """Whether a newsletter body opens with its own greeting ("Hi {{ subscriber.first_name }},",
    "Dear reader"), in which case the template says none: one greeting per email."""
    for line in body.splitlines():
        text = line.strip().lstrip("#>*_ \t")
        if text:
            return _GREETING.match(text) is not None
    return False


class IssueLesson(Lesson):
    """A newsletter issue as the renderer sees it: a lesson whose `greets` tells the
    newsletter templates whether to leave their "Hi …," out."""

    @property
    def greets(self) -> bool:
        return body_greets(self.body)


def issue_lesson(source: Path, key: str) -> IssueLesson:
    """The newsletter file as the lesson of one issue (errors name the file)."""
    lesson = load_lesson(source, 1)
    values: dict[str, Any] = {f.name: getattr(lesson, f.name) for f in dataclasses.fields(lesson)}
    return IssueLesson(**{**values, "key": key})


def issue_key(row: Any) -> str:
    """The delivery key of a newsletter row's current issue: `issue-<row id>-<wall time>`."""
    return f"issue-{row.id}-{row.wall_time}"


def legacy_issue_key(wall_time: str) -> str:
    """The key deliveries had before each newsletter row had its own (`issue-<wall time>`)."""
    return f"issue-{wall_time}"


def audience_text(count: int, segment: str | None) -> str:
    """'1,204 subscribers tagged vip' / '3 subscribers matching vip AND NOT churned' /
    '1 active subscriber'."""
    noun = "subscriber" if count == 1 else "subscribers"
    if not segment:
        return f"{count:,} active {noun}"
    return f"{count:,} {noun} {audience_word(segment)} {segment}"


def _nobody(segment: str | None) -> str:
    return f"segment {segment!r} matches no active subscriber" if segment else "there is no active subscriber"


@dataclasses.dataclass(frozen=True)
class Scheduled:
    id: int
    audience: int  # active subscribers of the segment when it was scheduled
    segment: str | None

    @property
    def reach(self) -> str:
        return audience_text(self.audience, self.segment)


def parse_wall_time(text: str) -> datetime:
    try:
        return datetime.strptime(text.strip().replace(" ", "T"), WALL_FORMAT)
    except ValueError:
        raise NewsletterError(f"--at {text!r}: expected a time like 2026-12-01 09:00") from None


def first_instant(wall: datetime, tz_name: str, local: bool) -> datetime:
    """The earliest moment an issue at `wall` may start."""
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


def _refuse_past(store: Store, wall: datetime, *, timezone: str, local: bool, segment: str | None,
                 default_zone: str, now: datetime, hint: str) -> None:
    """Refuse a wall time that has passed (for someone, with `local`): it would go out at
    the next tick, late, with nobody told. The current minute is not past."""
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    shown = f"{wall:%Y-%m-%d %H:%M}"
    if not local:
        if first_instant(wall, timezone, False) < minute:
            raise NewsletterError(f"--at {shown} is in the past: it is now "
                                  f"{now.astimezone(zone(timezone)):%Y-%m-%d %H:%M} in {timezone}; {hint}")
        return
    passed = [(now - wall.replace(tzinfo=zone(name)), name)
              for name in store.subscriber_zones(default_zone, segment)
              if wall.replace(tzinfo=zone(name)) < minute]
    if passed:
        _, name = max(passed)  # where it passed longest ago
        raise NewsletterError(f"--at {shown} --local has passed for subscribers in {name}: it is now "
                              f"{now.astimezone(zone(name)):%Y-%m-%d %H:%M} there; {hint}")


def schedule_newsletter(store: Store, source: Path, *, at: str | None, cron: str | None, local: bool,
                        segment: str | None, timezone: str, now: datetime, send_now: bool = False,
                        default_zone: str = "UTC", past_hint: str = PAST_HINT) -> Scheduled:
    """Validate the newsletter file, the timing and the segment, then store the schedule.
    `send_now`: send at the next tick (at `at` even if it is past, or at the current minute);
    `default_zone`: the zone of subscribers without one (settings.default_timezone)."""
    if not source.is_file():
        raise NewsletterError(f"newsletter file not found: {source}")
    lesson = load_lesson(source, 1)  # fails now, naming the file, rather than at send time
    if segment:
        parse_segment(segment)  # a malformed expression is its own error, not "matches nobody"
    try:
        zone(timezone)
    except ValueError as exc:
        raise NewsletterError(f"--timezone: {exc}") from None
    if cron:
        try:
            CronTrigger.from_crontab(cron)
        except ValueError as exc:
            raise NewsletterError(f"--cron {cron!r}: {exc}") from None
    if at:
        wall = parse_wall_time(at)
    elif send_now:
        if local:
            raise NewsletterError("--now --local needs --at: the wall-clock time in each subscriber's zone")
        wall = now.astimezone(zone(timezone)).replace(tzinfo=None, second=0, microsecond=0)
    elif cron:
        wall = next_wall_time(cron, timezone, now.astimezone(zone(timezone)).replace(tzinfo=None))
    else:
        raise NewsletterError("say when: --at '2026-12-01 09:00', --now, or --cron '0 9 * * mon'")
    if not send_now:
        _refuse_past(store, wall, timezone=timezone, local=local, segment=segment,
                     default_zone=default_zone, now=now, hint=past_hint)
    elif at and first_instant(wall, timezone, local) > now:
        raise NewsletterError(f"--now sends at the next tick, but --at {wall:%Y-%m-%d %H:%M} is still to "
                              "come: give one of them")
    audience = store.segment_size(segment)
    if not audience:
        tags = store.tags_in_use()
        if segment:
            shown = ", ".join(tags[:20]) + (f" and {len(tags) - 20} more" if len(tags) > 20 else "")
            raise NewsletterError(f"{_nobody(segment)}; tags in use: {shown or 'none'}")
        raise NewsletterError(f"{_nobody(None)} to send to (add or confirm subscribers first)")
    campaign_id = store.ensure_campaign(f"newsletter-{source.stem}", title=lesson.subject, now=now,
                                        kind="newsletter")
    newsletter_id = store.add_newsletter({
        "campaign_id": campaign_id, "source": str(source.resolve()), "wall_time": wall.strftime(WALL_FORMAT),
        "timezone": timezone, "local": local, "segment": segment, "cron": cron,
        "next_run_at": first_instant(wall, timezone, local), "status": "scheduled", "created_at": now,
    })
    return Scheduled(newsletter_id, audience, segment)


def send_due_newsletters(engine: Engine, report: TickReport, max_batches: int | None = None) -> None:
    """Send every issue whose time has come, batch by batch, then move recurring ones on."""
    now = engine.clock()
    store = engine.store
    for row in store.due_newsletters(now):
        key = issue_key(row)
        try:
            lesson = issue_lesson(Path(row.source), key)
        except (OSError, CampaignError) as exc:
            report.errors.append(f"newsletter {row.id} ({row.source}): {exc}")
            continue
        campaign = Campaign(slug=row.slug, path=Path(row.source).parent, title=lesson.subject,
                            lessons=(lesson,))
        wall = datetime.strptime(row.wall_time, WALL_FORMAT)
        zones = _open_zones(engine, row, wall, now)
        batches = 0
        while (max_batches is None or batches < max_batches) and not engine.stopping.is_set():
            with store.begin() as conn:
                # An issue that was going out when this version was installed has deliveries
                # under the old key, claimed since its row was made: they are its own, so
                # nobody gets it twice. (A row made later never owns old-key deliveries.)
                store.adopt_issue_deliveries(conn, row.campaign_id, legacy_issue_key(row.wall_time), key,
                                             row.created_at)
                picked = store.claim_newsletter(conn, row.campaign_id, key, row.segment, zones,
                                                engine.settings.default_timezone, now,
                                                engine.batch_size)
            if not picked:
                break
            batches += 1
            engine.send([{"delivery_id": d, "attempts": a, "enrolment_id": None, "campaign": campaign,
                          "lesson": lesson, "subscriber": sub} for d, a, sub in picked],
                        report, template="newsletter")
            if report.stopped:
                return
            if row.slug in report.paused:  # this issue cannot be sent: its queued rows wait for resume
                break
        if row.slug in report.paused:
            continue
        everyone_reached = not row.local or now >= wall.replace(tzinfo=now.tzinfo) + LATEST
        if everyone_reached and not store.newsletter_has_pending(row.campaign_id, key, row.segment):
            if store.issue_delivery_count(row.campaign_id, key):
                _issue_done(store, row, wall)
            else:
                _nobody_reached(store, row, wall, report)


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


def _nobody_reached(store: Store, row: Any, wall: datetime, report: TickReport) -> None:
    """An issue whose segment matched nobody by its time: say so, and never call it sent."""
    name = f"newsletter {row.id} ({Path(row.source).name})"
    if row.cron:
        report.errors.append(f"{name}: the issue of {row.wall_time} went to nobody: {_nobody(row.segment)}; "
                             "the next issue is still scheduled")
        _issue_done(store, row, wall)
    else:
        report.errors.append(f"{name}: not sent: {_nobody(row.segment)}; marked {NO_AUDIENCE!r} "
                             "(schedule it again once someone matches)")
        store.update_newsletter(row.id, status=NO_AUDIENCE, next_run_at=None)
