"""The console's schedule page: upcoming sends per UTC day for the next 30 days."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sender.campaign import Campaign
from sender.errors import DripError
from sender.store import AnyRow
from sender.store import console as queries
from sender.web import charts, drip
from sender.web.console import bp, cache, page
from sender.web.console.cache import SCHEDULE_DAYS
from sender.web.console.campaigns import folders, read_campaign

if TYPE_CHECKING:
    from sender.engine import Engine


def _day(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d")


@dataclass
class _Series:
    """Sends per day of the window, per named line of the chart."""

    days: list[str]  # the window's days, first today
    end: datetime  # the instant the window ends
    lines: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, name: str, day: str, count: int) -> None:
        bucket = self.lines.setdefault(name, {})
        bucket[day] = bucket.get(day, 0) + count

    def add_early(self, name: str, day: str, count: int) -> None:
        """Counted on `day`, or today if that is before the window (late, due at once)."""
        self.add(name, max(day, self.days[0]), count)


def _project_lessons(engine: Engine, window: _Series, now: datetime, problems: list[str]) -> datetime:
    """Each enrolment's next lesson as the store has it, and later lessons projected with
    the campaign's timing rules. Returns when the cached figures were computed."""
    slugs = {r.id: r.slug for r in engine.store.campaigns()}
    loaded: dict[int, Campaign | None] = {}
    groups, as_of = cache.snapshot("upcoming")
    for group in groups:
        if group.day >= _day(window.end):
            continue  # cached before midnight: one more day than this window shows
        slug = slugs.get(group.campaign_id, "?")
        if group.campaign_id not in loaded:
            try:
                loaded[group.campaign_id] = read_campaign(slug)
            except DripError as exc:
                loaded[group.campaign_id] = None
                problems.append(str(exc))
        window.add_early(f"{slug}: next lesson", group.day, group.count)
        course = loaded[group.campaign_id]
        if course is not None:
            _project_later(engine, window, slug, course, group, max(group.first_due, now))
    return datetime.fromtimestamp(as_of, UTC)


def _project_later(engine: Engine, window: _Series, slug: str, course: Campaign,
                   group: queries.DueGroup, first: datetime) -> None:
    """The lessons after a group's next one, each due after the one before it. A group is a
    count, not people, so it is projected in the campaign's zone: a subscriber's own zone
    can move their later lessons by a day."""
    current = course.lesson(group.position)
    if current is None:
        return
    tz = course.zone_of(None, engine.settings)
    for _, instant in course.later_lessons(current, first, tz, engine.settings):
        if instant >= window.end:
            break
        window.add(f"{slug}: later lessons (projected)", _day(instant), group.count)


def _walls(n: AnyRow, end: datetime) -> list[datetime]:
    """A scheduled newsletter's sends (local wall times) before `end`: one, or each of its cron."""
    from sender.newsletters import WALL_FORMAT, NewsletterError, next_wall_time  # (APScheduler: when asked)

    walls: list[datetime] = []
    wall = datetime.strptime(n.wall_time, WALL_FORMAT)
    while wall < end.replace(tzinfo=None) and len(walls) < SCHEDULE_DAYS:
        walls.append(wall)
        if not n.cron:
            break
        try:
            wall = next_wall_time(n.cron, n.timezone, wall)
        except NewsletterError:
            break
    return walls


def _project_newsletters(engine: Engine, window: _Series) -> list[dict[str, Any]]:
    """Scheduled newsletters, each with the audience it would reach today."""
    audiences: dict[str | None, int] = {}
    newsletters = []
    for n in queries.scheduled_newsletters(engine.store):
        if n.segment not in audiences:
            audiences[n.segment] = cache.snapshot(f"audience:{n.segment or ''}")[0]
        walls = _walls(n, window.end)
        for wall in walls:
            window.add_early(f"newsletter {n.id}: {n.title or n.slug}", wall.strftime("%Y-%m-%d"),
                             audiences[n.segment])
        newsletters.append({"row": n, "audience": audiences[n.segment], "walls": walls,
                            "paused": n.campaign_status != "active"})
    return newsletters


@bp.get("/schedule")
def schedule() -> tuple[str, int]:
    """Upcoming sends per UTC day for the next 30 days: each enrolment's next lesson
    as the store has it, later lessons projected with the campaign's timing rules,
    and scheduled newsletters with the audience they would reach today."""
    engine = drip().engine
    now = engine.clock()
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    window = _Series(days=[_day(today + timedelta(days=i)) for i in range(SCHEDULE_DAYS)],
                     end=today + timedelta(days=SCHEDULE_DAYS))
    problems: list[str] = []
    as_of = _project_lessons(engine, window, now, problems)
    newsletters = _project_newsletters(engine, window)
    series, days = window.lines, window.days
    names = sorted(series)
    table = [{"day": d, "values": [series[s].get(d, 0) for s in names],
              "total": sum(series[s].get(d, 0) for s in names)} for d in days]
    chart = charts.per_day("Upcoming sends per day (UTC)", [d[5:] for d in days],
                           [(s, [series[s].get(d, 0) for d in days]) for s in names])
    paused = queries.paused_campaigns(engine.store)
    return page("console_schedule.html", title="Schedule", chart=chart, names=names, table=table,
                newsletters=newsletters, paused=paused, problems=problems, folders=sorted(folders()),
                now=now, as_of=as_of)
