"""Campaign folders as staff edit them: `campaign.toml` plus one Markdown
lesson per file with front matter. After a split, these files are the source
of truth; the store only remembers who got which lesson key.

Both files have a typed schema (pydantic models below), checked when the files
are read: an unknown key is an error naming the file, the line and the keys
allowed (with a "did you mean"), so a typo never loads silently. `drip lint`
reports the same problems, from the same models.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, get_args
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from sender.errors import DripError
from sender.naming import lesson_order
from sender.schedule import Timing, due_after, parse_weekdays, parse_window, zone

SETTINGS_FILE = "campaign.toml"


class CampaignError(DripError):
    """A campaign folder or lesson file is wrong; the message names the file and line."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a campaign file, for an error (the loaders) or a finding (lint)."""

    line: int  # 1-based line of the file; 0 for the file as a whole
    message: str

    def at(self, path: Path) -> str:
        return f"{path}:{self.line}: {self.message}" if self.line else f"{path}: {self.message}"


# -- value checks: each raises ValueError with the allowed values --------------------------


def _whole_number(unit: str, minimum: int = 0) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be a whole number{unit} >= {minimum}, got {value!r}")
        return value
    return check


def _text(value: Any) -> str:
    if value is None:  # `preheader:` with nothing after it
        return ""
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {value!r} (put it in quotes)")
    return value


def _required_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must not be empty")
    return value


def _window(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a window like \"09:00-11:00\", got {value!r}")
    start, end = parse_window(value)
    Timing(window_start=start, window_end=end)  # refuses an empty window, as the engine would
    return value


def _weekdays(value: Any) -> str | list[str]:
    if not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
        raise ValueError(f"must be weekdays like \"mon-fri\" or [\"sat\", \"sun\"], got {value!r}")
    Timing(weekdays=parse_weekdays(value))  # refuses "no weekday at all"
    return value


def _time_zone(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"must be an IANA time zone like Europe/Lisbon, got {value!r}")
    zone(value)
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


def _references(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise ValueError("must be a list of citations (text), one per `- ` line")
    return value


def _http_url(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise ValueError(f"must be an http(s):// address, got {value!r}")
    return value


def _language(value: Any) -> str:
    # A BCP 47 tag: it goes into <html lang> and the Content-Language header.
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", value):
        raise ValueError(f"must be a language tag like en or pt-BR, got {value!r}")
    return value


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[\w.-]*", value) or value.startswith("."):
        raise ValueError(f"must be the folder name of a campaign, got {value!r}")
    return value


Days = Annotated[int, BeforeValidator(_whole_number(" of days"))]
Hours = Annotated[int, BeforeValidator(_whole_number(" of hours"))]
Text = Annotated[str, BeforeValidator(_text)]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimingRules(_Schema):
    """When a lesson may go out, as its front matter says; [schedule] says it for the campaign."""

    delay: Days | None = None  # days after the previous lesson
    delay_hours: Hours | None = None
    window: Annotated[str, BeforeValidator(_window)] | None = None
    weekdays: Annotated[str | list[str], BeforeValidator(_weekdays)] | None = None


class ScheduleTable(TimingRules):
    """campaign.toml [schedule]: the lesson rules plus the zone (per campaign, not per lesson)."""

    timezone: Annotated[str, BeforeValidator(_time_zone)] | None = None


class UtmTable(_Schema):
    """campaign.toml [utm]: query parameters added to the lessons' links."""

    source: Text | None = None
    medium: Text | None = None
    campaign: Text | None = None  # default: the campaign's slug
    term: Text | None = None
    content: Text | None = None  # default: the lesson's key


class ButtonTable(_Schema):
    """campaign.toml [button]: a second call to action under each lesson."""

    text: Annotated[str, BeforeValidator(_required_text)]
    url: Annotated[str, BeforeValidator(_http_url)]


class CampaignFile(_Schema):
    """campaign.toml."""

    title: Text = ""  # empty: the folder name
    source: Text = ""  # the copy of the article `drip split` made the lessons from
    signoff: Text = ""
    language: Annotated[str, BeforeValidator(_language)] = "en"
    next_campaign: Annotated[str, BeforeValidator(_slug)] = ""  # enrolled in once this one is done
    schedule: ScheduleTable = ScheduleTable()
    utm: UtmTable | None = None
    button: ButtonTable | None = None


class _LessonText(_Schema):
    subject: Annotated[str, BeforeValidator(_required_text)]
    preheader: Text = ""
    # Send order: `position`, else the number the file name starts with. Reordering sets
    # `position` and never renames a file: deliveries remember lessons by file stem.
    position: Annotated[int, BeforeValidator(_whole_number("", 1))] | None = None
    draft: Annotated[bool, BeforeValidator(_flag)] = False  # not sent (nor counted) until false
    teaser: Text = ""
    references: Annotated[list[str], BeforeValidator(_references)] = []  # pydantic copies a default


class FrontMatter(TimingRules, _LessonText):
    """A lesson file's front matter: its text, then the send-time rules."""


# The send-time rules, declared once (by the models above): the console's timing editor and
# `load_campaign` both read these, so a key added there is accepted, shown and edited everywhere.
TIMING_KEYS: tuple[str, ...] = tuple(TimingRules.model_fields)  # a lesson's front matter
SCHEDULE_KEYS: tuple[str, ...] = tuple(ScheduleTable.model_fields)  # campaign.toml [schedule]
WHOLE_NUMBER_KEYS = frozenset(k for k, f in TimingRules.model_fields.items()
                              if {Days, Hours} & set(get_args(f.annotation)))  # days and hours, >= 0
UTM_KEYS: tuple[str, ...] = tuple(UtmTable.model_fields)


# -- schema errors as one line each ---------------------------------------------------------


def _model_at(model: type[BaseModel], loc: Sequence[str]) -> type[BaseModel] | None:
    """The model of the table at `loc` (() is the file itself); None if that is no table."""
    found: type[BaseModel] | None = model
    for part in loc:
        info = found.model_fields.get(part) if found else None
        if info is None:
            return None
        found = next((a for a in (info.annotation, *get_args(info.annotation))
                      if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return found


def _unknown(model: type[BaseModel], data: Any, table: tuple[str, ...], names: list[str],
             what: str) -> str:
    """"unknown [schedule] key(s): windw (did you mean 'window'?); allowed: …"."""
    inner = _model_at(model, table)
    values = data
    for part in table:
        values = values.get(part) if isinstance(values, dict) else None
    allowed = list(inner.model_fields) if inner else []

    def label(name: str, is_table: bool) -> str:
        return f"[{name}]" if is_table else name

    named = []
    for name in names:
        shown = label(name, isinstance(values, dict) and isinstance(values.get(name), dict))
        guess = difflib.get_close_matches(name, allowed, n=1)
        if guess:
            shown += f" (did you mean {label(guess[0], _model_at(model, (*table, guess[0])) is not None)!r}?)"
        named.append(shown)
    allowed_labels = [label(k, _model_at(model, (*table, k)) is not None) for k in allowed]
    where = f"[{'.'.join(table)}] " if table else ""
    return f"unknown {where}{what}(s): {', '.join(named)}; allowed: {', '.join(allowed_labels)}"


def schema_problems(model: type[BaseModel], data: Any, what: str,
                    line_of: Callable[[tuple[str, ...]], int]) -> tuple[Any, list[Problem]]:
    """`data` checked against `model`: (the model instance, []) or (None, the problems, one
    line each, in file order). Unknown keys are grouped per table; `line_of(loc)` is the
    line of the file a key is on (0 if not known); `what` names a key ("key", "front matter key")."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        errors = exc.errors()
    unknown: dict[tuple[str, ...], list[str]] = {}
    problems = []
    for error in errors:
        loc = tuple(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            unknown.setdefault(loc[:-1], []).append(loc[-1])
            continue
        if error["type"] == "value_error":
            message = str(error["ctx"]["error"])
        elif error["type"] == "missing":
            message = "is missing"  # shown without a colon: "[button] url is missing"
        elif error["type"] in {"model_type", "dict_type", "model_attributes_type"}:
            message = f"must be a table ([{'.'.join(loc)}])" if loc else "must be a mapping of keys"
        else:
            message = error["msg"]
        name = f"[{'.'.join(loc[:-1])}] {loc[-1]}" if len(loc) > 1 else "".join(loc)
        joined = f"{name} {message}" if error["type"] == "missing" else f"{name}: {message}"
        problems.append(Problem(line_of(loc), joined if name else message))
    for table, names in unknown.items():
        problems.append(Problem(line_of((*table, names[0])), _unknown(model, data, table, names, what)))
    problems.sort(key=lambda p: p.line)
    return None, problems


_TOML_PART = r"""(?:[\w-]+|"[^"]*"|'[^']*')"""
_TOML_KEY = re.compile(rf"({_TOML_PART}(?:\s*\.\s*{_TOML_PART})*)\s*=")  # a key, maybe dotted, then =


def toml_key_line(text: str, loc: tuple[str, ...]) -> int:
    """The line of campaign.toml where the key or table at `loc` is written, else its table's
    (0 if neither is found): a best effort for messages, which tomllib does not give."""
    while loc:
        if found := _toml_line(text, loc):
            return found
        loc = loc[:-1]
    return 0


def _toml_line(text: str, loc: tuple[str, ...]) -> int:
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if header := re.match(r"\[\[?([^\]]+)\]", line):
            table = tuple(p.strip().strip("\"'") for p in header.group(1).split("."))
            if table == loc:
                return number
            continue
        if key := _TOML_KEY.match(line):
            full = (*table, *(p.strip().strip("\"'") for p in key.group(1).split(".")))
            if full[: len(loc)] == loc or loc[: len(full)] == full:
                return number
    return 0


# -- lessons ----------------------------------------------------------------------------------


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
    draft: bool = False  # a draft's position is the one it would take if published now
    order: tuple[int, str] = field(default=(0, ""), hash=False, compare=False)  # its sort key


@dataclass(frozen=True)
class FrontMatterBlock:
    """The YAML between a lesson file's first two `---` lines, with the line of each key."""

    meta: dict[str, Any]
    key_lines: dict[str, int]
    body_index: int  # 0-based index of the first line after the block (0: no front matter)
    problem: Problem | None = None


# Faults PyYAML notices only later (at the next line, or the end of the front matter): the
# line to fix is where the key, the quoted text or the [ ] / { } began.
_STARTS_AT_CONTEXT = ("simple key", "quoted scalar", "flow")
# libyaml when PyYAML has it (as python-frontmatter uses): several times faster on every tick.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def yaml_problem(exc: yaml.YAMLError, first_line: int) -> Problem:
    """A YAML error at the line of the file it is about. `first_line` is the file's line of
    the YAML text's first line. PyYAML's problem mark is where it gave up, often the line
    after the fault; for an unclosed quote, a key without its ':' or an open [ ] or { },
    the context mark is where that began, which is the line to fix."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    mark = getattr(exc, "problem_mark", None)
    if context and any(part in context for part in _STARTS_AT_CONTEXT):
        mark = getattr(exc, "context_mark", None) or mark
    line = first_line + mark.line if mark is not None else first_line
    return Problem(line, f"front matter is not valid YAML: {problem}" + (f" ({context})" if context else ""))


def read_front_matter(lines: list[str]) -> FrontMatterBlock:
    """The front matter of a lesson file (its lines, split at newlines), or the problem with it."""
    if not lines or lines[0].strip() != "---":
        return FrontMatterBlock({}, {}, 0, Problem(1, "no front matter (the file must start with ---)"))
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        return FrontMatterBlock({}, {}, len(lines), Problem(1, "front matter is not closed by a --- line"))
    key_lines: dict[str, int] = {}
    for index in range(1, end):
        if match := re.match(r"^(\w+)\s*:", lines[index]):
            key_lines.setdefault(match.group(1), index + 1)
    try:
        meta = yaml.load("\n".join(lines[1:end]), Loader=_YAML_LOADER) or {}  # a safe loader
    except yaml.YAMLError as exc:
        return FrontMatterBlock({}, key_lines, end + 1, yaml_problem(exc, 2))
    if not isinstance(meta, dict):
        return FrontMatterBlock({}, key_lines, end + 1, Problem(2, "front matter must be a mapping of keys"))
    return FrontMatterBlock(meta, key_lines, end + 1)


def front_matter_problems(block: FrontMatterBlock) -> tuple[FrontMatter | None, list[Problem]]:
    """The block checked against the schema: unknown keys, missing subject, bad timing."""
    def line_of(loc: tuple[str, ...]) -> int:
        return block.key_lines.get(loc[0], 1) if loc else 1

    front: FrontMatter | None
    front, problems = schema_problems(FrontMatter, block.meta, "front matter key", line_of)
    return front, problems


def load_lesson(path: Path, position: int) -> Lesson:
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: Windows editors' BOM
    except UnicodeDecodeError as exc:
        raise CampaignError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return lesson_from_text(path, text, position)


def lesson_from_text(path: Path, text: str, position: int) -> Lesson:
    """A lesson file's text read as `load_lesson` reads the file (the console's editor
    checks what it would write this way, before writing it)."""
    lines = text.split("\n")
    block = read_front_matter(lines)
    if block.problem:
        raise CampaignError(block.problem.at(path))
    front, problems = front_matter_problems(block)
    if front is None:
        raise CampaignError(problems[0].at(path))
    first = next((i for i in range(block.body_index, len(lines)) if lines[i].strip()), None)
    if first is None:
        raise CampaignError(f"{path}: lesson body is empty")
    return Lesson(
        key=path.stem,
        path=path,
        position=position,
        subject=front.subject.strip(),
        preheader=front.preheader.strip(),
        body="\n".join(lines[first:]).strip(),
        delay=front.delay,
        teaser=front.teaser.strip(),
        references=tuple(front.references),
        body_line=first + 1,  # the body's first line, past blank lines after the ---
        timing={k: v for k in TIMING_KEYS if (v := getattr(front, k)) is not None},
        draft=front.draft,
        order=(front.position if front.position is not None else lesson_order(path)[0], path.name),
    )


# -- campaigns --------------------------------------------------------------------------------


def campaign_file_problems(text: str) -> tuple[CampaignFile | None, dict[str, Any], list[Problem]]:
    """campaign.toml text checked against the schema: (values, the table as read, problems)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        return None, {}, [Problem(int(found.group(1)) if found else 0, f"not valid TOML: {message}")]
    config: CampaignFile | None
    config, problems = schema_problems(CampaignFile, data, "key", lambda loc: toml_key_line(text, loc))
    return config, data, problems


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per load
class Campaign:
    slug: str
    path: Path
    title: str
    lessons: tuple[Lesson, ...]
    signoff: str = ""
    language: str = "en"
    settings: dict[str, Any] = field(default_factory=dict)  # campaign.toml as read
    # `settings` checked against the schema; set from it, so a changed copy
    # (dataclasses.replace) is checked again.
    drafts: tuple[Lesson, ...] = ()  # `draft: true` lessons: shown and previewed, never sent
    config: CampaignFile = field(init=False, repr=False)
    _schedule: dict[str, Any] = field(init=False, repr=False)  # read per delivery: made once

    def __post_init__(self) -> None:
        config, problems = schema_problems(CampaignFile, self.settings, "key", lambda loc: 0)
        if config is None:
            raise CampaignError(problems[0].at(self.path / SETTINGS_FILE))
        object.__setattr__(self, "config", config)
        object.__setattr__(self, "_schedule", config.schedule.model_dump(exclude_none=True))

    @property
    def schedule(self) -> dict[str, Any]:
        """The [schedule] table: delay, delay_hours, window, weekdays, timezone (those set)."""
        return dict(self._schedule)

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

    def zone_of(self, subscriber: Any | None, settings: Any) -> ZoneInfo:
        """The subscriber's zone, else the campaign's [schedule] timezone, else the default."""
        own = getattr(subscriber, "timezone", None)
        return zone(own, self.schedule.get("timezone") or settings.default_timezone)

    def first_due(self, subscriber: Any, now: datetime, settings: Any) -> datetime:
        """When lesson 1 goes out to `subscriber` enrolled at `now`."""
        return due_after(now, self.timing(self.lessons[0], settings), self.zone_of(subscriber, settings),
                         first=True)

    def later_lessons(self, lesson: Lesson, due: datetime, tz: ZoneInfo, settings: Any
                      ) -> Iterator[tuple[Lesson, datetime]]:
        """The lessons after `lesson`, each with when it goes out if `lesson` goes at `due`:
        each one `due_after` the one before, in `tz` (the subscriber's `zone_of`). The one
        projection behind a subscriber's plan, the preview's schedule, the console's and the
        email's "next lesson arrives" day."""
        nxt = self.lesson(lesson.position + 1)
        while nxt is not None:
            due = due_after(due, self.timing(nxt, settings), tz, first=False)
            yield nxt, due
            nxt = self.lesson(nxt.position + 1)

    def next_lesson_at(self, lesson: Lesson, after: datetime, subscriber: Any, settings: Any
                       ) -> datetime | None:
        """When the lesson after `lesson` would go out if `lesson` is sent at `after`."""
        for _, due in self.later_lessons(lesson, after, self.zone_of(subscriber, settings), settings):
            return due
        return None

    @property
    def next_campaign(self) -> str | None:
        """Slug of the campaign to enrol a subscriber in once this one is done."""
        return self.config.next_campaign or None

    def lesson(self, position: int) -> Lesson | None:
        return self.lessons[position - 1] if 1 <= position <= len(self.lessons) else None

    @property
    def all_lessons(self) -> tuple[Lesson, ...]:
        """Every lesson file, drafts included, in send order (for the preview and the editor)."""
        return tuple(sorted((*self.lessons, *self.drafts), key=lambda lesson: lesson.order))

    def with_lesson(self, lesson: Lesson) -> Campaign:
        """This campaign with `lesson` (by key; new text, or a draft) in place and published,
        positions counted again: how it renders once sent."""
        listed = [lesson if other.key == lesson.key else other for other in self.all_lessons]
        if lesson.key not in {other.key for other in listed}:
            listed.append(lesson)
        kept = sorted((other for other in listed if not other.draft or other.key == lesson.key),
                      key=lambda other: other.order)
        published = tuple(dataclasses.replace(other, position=i, draft=False)
                          for i, other in enumerate(kept, 1))
        drafts = tuple(other for other in listed if other.draft and other.key != lesson.key)
        return dataclasses.replace(self, lessons=published, drafts=drafts)


def load_campaign(path: Path) -> Campaign:
    path = path.resolve()
    settings_file = path / SETTINGS_FILE
    if not settings_file.is_file():
        raise CampaignError(f"{path}: not a campaign folder (no {SETTINGS_FILE}); run `drip split`")
    try:
        text = settings_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CampaignError(f"{settings_file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    config, data, problems = campaign_file_problems(text)
    if config is None:
        raise CampaignError(problems[0].at(settings_file))
    files = sorted((p for p in path.glob("*.md") if p.name[0].isdigit()), key=lesson_order)
    if not files:
        raise CampaignError(f"{path}: no lesson files (NN-name.md)")
    lessons, drafts = numbered([load_lesson(p, 0) for p in files])
    if not lessons:
        raise CampaignError(f"{path}: every lesson is a draft (draft: true); publish one to send the course")
    return Campaign(
        slug=path.name,
        path=path,
        title=config.title or path.name,
        lessons=lessons,
        drafts=drafts,
        signoff=config.signoff,
        language=config.language,
        settings=data,
    )


def numbered(read: Sequence[Lesson]) -> tuple[tuple[Lesson, ...], tuple[Lesson, ...]]:
    """(published, drafts), each in send order with its position: published lessons 1, 2, …;
    a draft the position it would take if published now."""
    lessons: list[Lesson] = []
    drafts: list[Lesson] = []
    for lesson in sorted(read, key=lambda lesson: lesson.order):
        placed = dataclasses.replace(lesson, position=len(lessons) + 1)
        (drafts if lesson.draft else lessons).append(placed)
    return tuple(lessons), tuple(drafts)


def campaign_dirs(campaigns_dir: Path) -> list[Path]:
    if not campaigns_dir.is_dir():
        return []
    return sorted(p for p in campaigns_dir.iterdir() if (p / SETTINGS_FILE).is_file())
