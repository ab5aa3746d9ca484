"""Campaign folders as staff edit them: `campaign.toml` plus one Markdown
lesson per file with front matter. After a split, these files are the source
of truth; the store only remembers who got which lesson key."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import frontmatter
import yaml

from sender.errors import DripError
from sender.naming import lesson_order
from sender.schedule import Timing, due_after, parse_weekdays, parse_window, zone

SETTINGS_FILE = "campaign.toml"
# The send-time rules, declared once: the console's timing editor and `load_campaign`
# both read these, so a key added here is accepted, shown and edited everywhere.
TIMING_KEYS = ("delay", "delay_hours", "window", "weekdays")  # a lesson's front matter
SCHEDULE_KEYS = (*TIMING_KEYS, "timezone")  # campaign.toml [schedule]: the zone is per campaign
WHOLE_NUMBER_KEYS = frozenset({"delay", "delay_hours"})  # days and hours, >= 0


class CampaignError(DripError):
    """A campaign folder or lesson file is wrong; the message names the file and line."""


@dataclass(frozen=True)
class Lesson:
    key: str  # file stem, e.g. "02-dominant-hamstrings"; what deliveries remember
    path: Path
    position: int  # 1-based order in the course
    subject: str
    preheader: str
    body: str  # Markdown, may hold {{ subscriber... }} placeholders
    delay: int | None = None  # days after the previous lesson; None = campaign default
    # Per-lesson timing overrides from front matter: delay, delay_hours, window, weekdays.
    timing: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    teaser: str = ""
    references: tuple[str, ...] = ()
    body_line: int = 1  # line of the file where the body starts, for error messages


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per load
class Campaign:
    slug: str
    path: Path
    title: str
    lessons: tuple[Lesson, ...]
    signoff: str = ""
    language: str = "en"
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def schedule(self) -> dict[str, Any]:
        """The [schedule] table: delay, delay_hours, window, weekdays, timezone."""
        return dict(self.settings.get("schedule", {}))

    def timing(self, lesson: Lesson, settings: Any) -> Timing:
        """When `lesson` may go out: its front matter, else [schedule], else the settings."""
        rules = {**self.schedule, **lesson.timing}
        if "delay" in lesson.timing:
            delay = lesson.timing["delay"]
        elif lesson.position == 1:
            delay = 0  # the campaign's delay is between lessons, not before the first
        else:
            delay = self.schedule.get("delay", settings.default_delay_days)
        try:
            start, end = parse_window(str(rules.get("window", settings.send_window)))
            return Timing(
                delay_days=int(delay),
                delay_hours=int(rules.get("delay_hours", 0)),
                window_start=start,
                window_end=end,
                weekdays=parse_weekdays(rules.get("weekdays", settings.send_weekdays)),
            )
        except (TypeError, ValueError) as exc:
            where = lesson.path if lesson.timing else self.path / SETTINGS_FILE
            raise CampaignError(f"{where}: timing: {exc}") from None

    def zone_of(self, subscriber: Any, settings: Any) -> ZoneInfo:
        """The subscriber's zone, else the campaign's [schedule] timezone, else the default."""
        return zone(subscriber.timezone, self.schedule.get("timezone") or settings.default_timezone)

    def next_lesson_at(self, lesson: Lesson, after: datetime, subscriber: Any, settings: Any
                       ) -> datetime | None:
        """When the lesson after `lesson` would go out if `lesson` is sent at `after`."""
        nxt = self.lesson(lesson.position + 1)
        if nxt is None:
            return None
        return due_after(after, self.timing(nxt, settings), self.zone_of(subscriber, settings), first=False)

    @property
    def next_campaign(self) -> str | None:
        """Slug of the campaign to enrol a subscriber in once this one is done."""
        return self.settings.get("next_campaign") or None

    def lesson(self, position: int) -> Lesson | None:
        return self.lessons[position - 1] if 1 <= position <= len(self.lessons) else None


def _front_matter_lines(text: str) -> int:
    """How many lines the front matter block takes (0 if none)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return 0
    for i, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            return i
    return 0


def _require_str(meta: dict[str, Any], key: str, path: Path) -> str:
    value = meta.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CampaignError(f"{path}:1: front matter needs a non-empty '{key}'")
    return value.strip()


def load_lesson(path: Path, position: int) -> Lesson:
    text = path.read_text(encoding="utf-8")
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise CampaignError(f"{path}:{line}: front matter is not valid YAML: {exc}") from None
    meta = post.metadata
    delay = meta.get("delay")
    if delay is not None and (not isinstance(delay, int) or delay < 0):
        raise CampaignError(f"{path}:1: 'delay' must be a whole number of days >= 0, got {delay!r}")
    refs = meta.get("references") or []
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise CampaignError(f"{path}:1: 'references' must be a list of strings")
    if not post.content.strip():
        raise CampaignError(f"{path}: lesson body is empty")
    return Lesson(
        key=path.stem,
        path=path,
        position=position,
        subject=_require_str(meta, "subject", path),
        preheader=str(meta.get("preheader") or "").strip(),
        body=post.content,
        delay=delay,
        teaser=str(meta.get("teaser") or "").strip(),
        references=tuple(refs),
        body_line=_front_matter_lines(text) + 1,
        timing={k: meta[k] for k in TIMING_KEYS if k in meta},
    )


def load_campaign(path: Path) -> Campaign:
    path = path.resolve()
    settings_file = path / SETTINGS_FILE
    if not settings_file.is_file():
        raise CampaignError(f"{path}: not a campaign folder (no {SETTINGS_FILE}); run `drip split`")
    try:
        settings = tomllib.loads(settings_file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"{settings_file}: {exc}") from None
    files = sorted((p for p in path.glob("*.md") if p.name[0].isdigit()), key=lesson_order)
    if not files:
        raise CampaignError(f"{path}: no lesson files (NN-name.md)")
    lessons = tuple(load_lesson(p, i) for i, p in enumerate(files, start=1))
    schedule = settings.get("schedule", {})
    if not isinstance(schedule, dict):
        raise CampaignError(f"{settings_file}: 'schedule' must be a table ([schedule])")
    if unknown := sorted(set(schedule) - set(SCHEDULE_KEYS)):
        raise CampaignError(f"{settings_file}: unknown [schedule] key(s): {', '.join(unknown)}")
    return Campaign(
        slug=path.name,
        path=path,
        title=str(settings.get("title") or path.name),
        lessons=lessons,
        signoff=str(settings.get("signoff") or ""),
        language=str(settings.get("language") or "en"),
        settings=settings,
    )


def campaign_dirs(campaigns_dir: Path) -> list[Path]:
    if not campaigns_dir.is_dir():
        return []
    return sorted(p for p in campaigns_dir.iterdir() if (p / SETTINGS_FILE).is_file())
