"""When a lesson is due, in the subscriber's own time zone.

Pure functions of instants and zones; the clock is passed in, never read here,
so tests and `drip demo` can move time as they please.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class SimulatedClock:
    """A clock that only moves when told to (demo, tests)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance_to(self, instant: datetime) -> None:
        self.now = max(self.now, instant)


def zone(name: str | None, default: str = "UTC") -> ZoneInfo:
    """The subscriber's zone; an unknown name is an error, not a silent UTC."""
    key = name or default
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {key!r} (use an IANA name like Europe/Lisbon)") from None


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time. A time skipped by a DST jump
    moves forward by the gap, as a wall clock would; a repeated one is taken at
    its first occurrence. (fold=0 gives both, per PEP 495.)"""
    return datetime.combine(day, at).replace(tzinfo=tz, fold=0).astimezone(UTC)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Timing:
    """When one lesson may go out, resolved from lesson front matter, then the
    campaign's [schedule] table, then the global settings."""

    delay_days: int = 0  # local calendar days after the previous lesson
    delay_hours: int = 0  # extra hours on top
    window_start: time = time(9)
    window_end: time = time(11)  # exclusive
    weekdays: frozenset[int] = frozenset(range(7))  # 0 = Monday

    def __post_init__(self) -> None:
        if self.window_end <= self.window_start:
            raise ValueError(f"send window {self.window_start:%H:%M}-{self.window_end:%H:%M} is empty")
        if not self.weekdays:
            raise ValueError("no weekday is allowed")
        if self.delay_days < 0 or self.delay_hours < 0:
            raise ValueError("delays cannot be negative")


@cache  # called per lesson per subscriber on the send path; the texts are few
def parse_window(text: str) -> tuple[time, time]:
    """"09:00-11:00" -> (09:00, 11:00); "22:00-24:00" runs to the end of the day."""
    try:
        first, last = (part.strip() for part in text.split("-"))
        start = time.fromisoformat(first)
        end = time.max if last in {"24:00", "24:00:00"} else time.fromisoformat(last)
    except ValueError:
        raise ValueError(f"send window {text!r} must look like 09:00-11:00") from None
    return start, end


def parse_weekdays(value: str | list[str]) -> frozenset[int]:
    """"mon-fri", "mon,wed,fri", ["sat", "sun"] or "all"."""
    return _parse_weekdays(tuple(value) if isinstance(value, list) else (str(value),))


@cache
def _parse_weekdays(values: tuple[str, ...]) -> frozenset[int]:
    parts = [p for v in values for p in v.replace(" ", "").split(",")]
    days: set[int] = set()
    for part in (p.lower()[:7] for p in parts if p):
        if part == "all":
            days.update(range(7))
        elif "-" in part:
            a, _, b = part.partition("-")
            i, j = _weekday(a), _weekday(b)
            days.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        else:
            days.add(_weekday(part))
    return frozenset(days)


def _weekday(name: str) -> int:
    try:
        return WEEKDAYS.index(name[:3])
    except ValueError:
        raise ValueError(f"unknown weekday {name!r} (use mon, tue, … sun)") from None


def first_instant_at(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The first UTC instant at which the local wall clock on `day` reads `at` or later: `at`
    itself (its first occurrence when the clock falls back), or, when `at` is skipped by a
    DST jump, the instant the clock lands past it."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # In a gap: fold=1 reads the wall time with the offset after the jump, an instant before
    # it; the jump itself lies between the two. Whole seconds, as transitions are.
    low, high = int(wall.replace(tzinfo=tz, fold=1).timestamp()), int(first.timestamp())
    while high - low > 1:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= wall:
            high = mid
        else:
            low = mid
    return datetime.fromtimestamp(high, UTC)


def window_on(day: date, timing: Timing, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The send window of a local day as UTC [opens, closes), or None when there is none: a
    weekday not allowed, or a window wholly inside a DST gap (it does not exist that day).
    The one definition that `in_window` and `next_send_time` share."""
    if day.weekday() not in timing.weekdays:
        return None
    opens = first_instant_at(day, timing.window_start, tz)
    closes = first_instant_at(day, timing.window_end, tz)
    return (opens, closes) if opens < closes else None


def _windows(from_day: date, timing: Timing, tz: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
    """Allowed send windows as UTC (open, close), day by day from `from_day`."""
    day = from_day
    while True:
        if (window := window_on(day, timing, tz)) is not None:
            yield window
        day += timedelta(days=1)


def in_window(instant: datetime, timing: Timing, tz: ZoneInfo) -> bool:
    window = window_on(instant.astimezone(tz).date(), timing, tz)
    return window is not None and window[0] <= instant < window[1]


def next_send_time(earliest: datetime, timing: Timing, tz: ZoneInfo) -> datetime:
    """`earliest` itself if it falls inside an allowed window, else the next window's opening."""
    start_day = earliest.astimezone(tz).date() - timedelta(days=1)  # a window may straddle UTC days
    for opens, closes in _windows(start_day, timing, tz):
        if earliest < closes:
            return max(opens, earliest)
    raise AssertionError("unreachable: _windows is endless")


def due_after(previous: datetime, timing: Timing, tz: ZoneInfo, *, first: bool) -> datetime:
    """When a lesson is due, given when the previous one was sent (or, for the
    first lesson, when the subscriber enrolled). Later lessons never share a
    window with the one before."""
    if timing.delay_days:
        day = previous.astimezone(tz).date() + timedelta(days=timing.delay_days)
        earliest = local_to_utc(day, timing.window_start, tz)
    else:
        earliest = previous
    earliest += timedelta(hours=timing.delay_hours)
    if not first and (window := window_on(previous.astimezone(tz).date(), timing, tz)) \
            and window[0] <= previous < window[1]:
        earliest = max(earliest, window[1])
    return next_send_time(earliest, timing, tz)
