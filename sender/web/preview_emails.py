"""The emails `drip preview` shows, each rendered as it would go out (`sender.sample.render_sample`)
for the sample subscriber of the request's query: a lesson at the time it would be sent to
someone enrolled now, a newsletter when it reaches them, the system emails; and the timing
each lesson's row in the index shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypedDict

import sqlalchemy as sa
from flask import abort, request

from sender.campaign import Campaign, CampaignError, Lesson, campaign_dirs, load_campaign, load_lesson
from sender.errors import DripError
from sender.newsletters import WALL_FORMAT, issue_key, issue_lesson
from sender.providers.base import OutgoingMessage
from sender.render import subscriber_context
from sender.sample import (
    SAMPLE_EMAIL,
    SAMPLE_NAME,
    find_lesson,
    render_sample,
    sample_schedule,
    sample_subscriber,
)
from sender.schedule import WEEKDAYS, Timing, zone
from sender.web import drip

SYSTEM_EMAILS = {"confirm": "Double opt-in confirmation", "unsubscribed": "You are unsubscribed"}
SCHEMES = ("light", "dark")


# -- sample subscriber and rendering ----------------------------------------------------


class SampleQuery(TypedDict):
    """A sample subscriber as URL query values (keyword arguments to `url_for`)."""

    name: str
    email: str
    timezone: str
    fields: str
    scheme: str


@dataclass
class Sample:
    name: str
    email: str
    timezone: str
    fields_text: str
    scheme: str = "light"  # the colour scheme the email frames show: light or dark

    @classmethod
    def from_request(cls) -> Sample:
        args = request.values
        default_zone = drip().engine.settings.default_timezone
        scheme = args.get("scheme", "light")
        return cls(name=args.get("name", SAMPLE_NAME), email=args.get("email", SAMPLE_EMAIL),
                   timezone=args.get("timezone") or default_zone, fields_text=args.get("fields", ""),
                   scheme=scheme if scheme in SCHEMES else "light")

    def query(self) -> SampleQuery:
        return {"name": self.name, "email": self.email, "timezone": self.timezone, "fields": self.fields_text,
                "scheme": self.scheme}

    def fields(self) -> dict[str, str]:
        """Custom fields from `key=value` lines."""
        out = {}
        for line in self.fields_text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip():
                out[key.strip()] = value.strip()
        return out

    def subscriber(self) -> Any:
        """A subscribers-row look-alike; a bad address or zone is a DripError shown in the page."""
        row = sample_subscriber(self.email, self.name, self.timezone)
        row.fields = self.fields()
        return row


def campaign_named(slug: str) -> Campaign:
    folder = drip().engine.settings.path("campaigns_dir")
    if slug not in {p.name for p in campaign_dirs(folder)}:
        abort(404)
    return load_campaign(folder / slug)  # read per request: the files may just have changed


@dataclass
class Shown:
    """One email as the preview shows it, and what its page says around it."""

    message: OutgoingMessage
    preheader: Any = None  # the compiled preheader, filled per subscriber (None: none)
    campaign: Campaign | None = None
    lesson: Lesson | None = None
    timing: dict[str, Any] | None = None  # a row of `lesson_schedule`: when this lesson goes out
    newsletter: dict[str, Any] | None = None  # a row of `newsletter_items`
    extra: dict[str, Any] = field(default_factory=dict)


def lesson_email(slug: str, key: str, sample: Sample) -> Shown:
    """The lesson rendered at the time it would go out for the sample subscriber enrolled
    now: its Date, and the day its "next lesson arrives" line names, match the timing shown."""
    engine = drip().engine
    campaign = campaign_named(slug)
    lesson = find_lesson(campaign, key)
    subscriber = sample.subscriber()
    timing = next(r for r in lesson_schedule(campaign, sample.timezone) if r["lesson"] is lesson)
    engine.renderer.templates_generation(force=True)  # this request must see the latest save
    message, compiled = render_sample(engine.settings, engine.renderer, campaign, lesson, subscriber,
                                      signing_key=engine.signing_key, now=timing["due"])
    return Shown(message, compiled.preheader_slots, campaign, lesson, timing)


def system_context(subscriber: Any) -> dict[str, Any]:
    base = drip().engine.settings.base_url.rstrip("/")
    return {"subscriber": subscriber_context(subscriber), "campaign_title": "Sample Course",
            "confirm_url": f"{base}/confirm/sample-token",
            "resubscribe_url": f"{base}/preferences/sample-token"}


def system_email(name: str, sample: Sample) -> Shown:
    engine = drip().engine
    if name not in SYSTEM_EMAILS:
        abort(404)
    subscriber = sample.subscriber()
    engine.renderer.templates_generation(force=True)
    html, text = engine.renderer.render_system(name, system_context(subscriber))
    return Shown(OutgoingMessage(to=subscriber.email, from_address=engine.settings.from_address,
                                 subject=SYSTEM_EMAILS[name], html=html, text=text,
                                 message_id=f"<preview-{name}@localhost>", date=engine.clock()))


# -- newsletters ----------------------------------------------------------------------------


def newsletter_items() -> tuple[list[dict[str, Any]], str]:
    """Newsletters to preview, and a problem reading the store ("" if none): every one
    scheduled (`drip newsletter schedule FILE`, or the console), newest first, then the
    Markdown files of the newsletters folder not scheduled yet, by name."""
    engine = drip().engine
    items: list[dict[str, Any]] = []
    problem = ""
    try:
        rows = list(engine.store.newsletters())
    except sa.exc.SQLAlchemyError as exc:  # the preview still shows lessons without a store
        rows, problem = [], f"the store can't be read ({engine.store.url}): {str(exc).splitlines()[0]}"
    scheduled = set()
    for row in rows:
        source = Path(row.source)
        scheduled.add(source.resolve())
        where = "each subscriber's local time" if row.local else row.timezone
        items.append({"ref": str(row.id), "row": row, "title": row.title or source.name, "source": source,
                      "status": row.status, "when": f"{row.wall_time.replace('T', ' ')} {where}",
                      "repeat": row.cron or "", "segment": row.segment or "",
                      "missing": not source.is_file()})
    for path in newsletter_files():
        if path.resolve() in scheduled:
            continue
        try:
            title = load_lesson(path, 1).subject
        except (CampaignError, OSError, ValueError) as exc:
            title = f"(can't be read: {exc})"
        items.append({"ref": path.name, "row": None, "title": title, "source": path,
                      "status": "not scheduled", "when": "", "repeat": "", "segment": "", "missing": False})
    return items, problem


def newsletter_files() -> list[Path]:
    folder = drip().engine.settings.path("newsletters_dir")
    return sorted(p for p in folder.glob("*.md") if p.is_file()) if folder.is_dir() else []


def newsletter_email(ref: str, sample: Sample) -> Shown:
    """A newsletter rendered as `drip tick` sends it (`sender.newsletters.issue_lesson`: the
    newsletter template, one greeting), dated when it reaches the sample subscriber."""
    engine = drip().engine
    items, problem = newsletter_items()
    item = next((i for i in items if i["ref"] == ref), None)
    if item is None:
        if problem:
            raise DripError(problem)
        abort(404)
    source: Path = item["source"]
    row = item["row"]
    subscriber = sample.subscriber()
    if row is not None:
        key, slug = issue_key(row), row.slug
        wall = datetime.strptime(row.wall_time, WALL_FORMAT)
        when = wall.replace(tzinfo=zone(sample.timezone if row.local else row.timezone))
    else:  # as `schedule_newsletter` would name its campaign
        key, slug, when = "issue-preview", f"newsletter-{source.stem}", engine.clock()
    try:
        lesson = issue_lesson(source, key)
    except OSError as exc:
        raise DripError(f"{source}: {exc.strerror or exc}") from None
    campaign = Campaign(slug=slug, path=source.parent, title=lesson.subject, lessons=(lesson,))
    engine.renderer.templates_generation(force=True)
    message, compiled = render_sample(engine.settings, engine.renderer, campaign, lesson, subscriber,
                                      signing_key=engine.signing_key, now=when, template="newsletter")
    return Shown(message, compiled.preheader_slots, newsletter=item,
                 extra={"sends_at": when.astimezone(zone(sample.timezone))})


# -- timing -------------------------------------------------------------------------------


def describe_timing(timing: Timing, position: int) -> str:
    """"2 days after lesson 1, 09:00–11:00, Mon–Fri"."""
    after = "enrolment" if position == 1 else f"lesson {position - 1}"
    parts = [f"{timing.delay_days} day{'s' if timing.delay_days != 1 else ''}"] if timing.delay_days else []
    if timing.delay_hours:
        parts.append(f"{timing.delay_hours} h")
    first = "first" if position == 1 else "next"
    delay = f"{' '.join(parts)} after {after}" if parts else f"{first} send window after {after}"
    end = "24:00" if (timing.window_end.hour, timing.window_end.minute) == (23, 59) else \
        f"{timing.window_end:%H:%M}"
    return f"{delay}, {timing.window_start:%H:%M}–{end}, {_weekdays(timing.weekdays)}"


def _weekdays(days: frozenset[int]) -> str:
    if len(days) == 7:
        return "any day"
    ordered = sorted(days)
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{WEEKDAYS[ordered[0]].title()}–{WEEKDAYS[ordered[-1]].title()}"
    return ", ".join(WEEKDAYS[d].title() for d in ordered)


def lesson_schedule(campaign: Campaign, timezone: str) -> list[dict[str, Any]]:
    """Each lesson's timing rule and when it would go out for someone in `timezone`
    enrolled now (`sender.sample.sample_schedule`)."""
    engine = drip().engine
    tz = campaign.zone_of(SimpleNamespace(timezone=timezone), engine.settings)
    rows = []
    for lesson, timing, due in sample_schedule(campaign, engine.settings, timezone, engine.clock()):
        rule = describe_timing(timing, lesson.position)
        rows.append({"lesson": lesson, "due": due, "local": due.astimezone(tz),
                     "rule": f"draft, not sent until published (then: {rule})" if lesson.draft else rule})
    return rows
