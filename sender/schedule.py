"""When a lesson is due, in the subscriber's own time zone.

Pure functions of instants and zones; the clock is passed in, never read here,
so tests and `drip demo` can move time as they please.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
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


def next_window(after: datetime, tz: ZoneInfo, hour: int) -> datetime:
    """The first send time at `hour` local that is not before `after`."""
    local_day = after.astimezone(tz).date()
    candidate = local_to_utc(local_day, time(hour), tz)
    if candidate < after:
        candidate = local_to_utc(local_day + timedelta(days=1), time(hour), tz)
    return candidate


def after_delay(previous: datetime, days: int, tz: ZoneInfo, hour: int) -> datetime:
    """`days` local calendar days after the previous lesson, at `hour` local;
    never before the previous lesson (delay 0 means the next window)."""
    if days <= 0:
        return next_window(previous + timedelta(seconds=1), tz, hour)
    local_day = previous.astimezone(tz).date() + timedelta(days=days)
    return local_to_utc(local_day, time(hour), tz)
