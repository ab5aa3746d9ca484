"""Send windows across every DST transition of every IANA zone in 2026–2028: the window
check and the next send time agree, so a window that a clock jump skips moves to the next day
it exists, and a late lesson is never deferred to "now" (which made a tick claim it again
and again)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

from sender.schedule import Timing, in_window, next_send_time, window_on

START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC)


@cache
def transitions() -> list[tuple[str, datetime]]:
    """(zone, first instant with the new offset), one of each kind: the same offsets at the
    same local wall time and weekday behave the same, whichever zone it is."""
    seen: set[tuple[object, ...]] = set()
    found = []
    for name in sorted(available_timezones()):
        tz = ZoneInfo(name)
        day = START
        offset = day.astimezone(tz).utcoffset()
        while day < END:
            nxt = day + timedelta(days=1)
            if (after := nxt.astimezone(tz).utcoffset()) != offset:
                low, high = int(day.timestamp()), int(nxt.timestamp())
                while high - low > 1:  # the second the offset changes
                    mid = (low + high) // 2
                    changed = datetime.fromtimestamp(mid, tz).utcoffset() == after
                    low, high = (low, mid) if changed else (mid, high)
                at = datetime.fromtimestamp(high, UTC)
                before_wall = (at - timedelta(seconds=1)).astimezone(tz)
                kind = (offset, after, before_wall.time().replace(microsecond=0), before_wall.weekday())
                if kind not in seen:
                    seen.add(kind)
                    found.append((name, at))
                offset = after
            day = nxt
    return found


def test_there_are_transitions_to_check() -> None:
    assert len(transitions()) > 20  # gaps and overlaps, at many wall times and offsets


def test_next_send_time_is_the_first_instant_in_a_window_around_every_transition() -> None:
    checked = 0
    for name, at in transitions():
        tz = ZoneInfo(name)
        wall = at.astimezone(tz)
        for start_minutes in range(-120, 121, 30):
            opens = (datetime.combine(wall.date(), time(wall.hour)) + timedelta(minutes=start_minutes)).time()
            for length in (30, 90):
                closes = (datetime.combine(wall.date(), opens) + timedelta(minutes=length))
                if closes.date() != wall.date():
                    continue
                timing = Timing(window_start=opens, window_end=closes.time())
                for step in range(-8, 9):
                    earliest = at + timedelta(minutes=30 * step)
                    when = next_send_time(earliest, timing, tz)
                    assert when >= earliest, (name, timing, earliest)
                    assert in_window(when, timing, tz), (name, timing, earliest, when)
                    if in_window(earliest, timing, tz):
                        assert when == earliest
                    else:  # `when` opens a window: the second before it is outside every window
                        assert when > earliest and not in_window(when - timedelta(seconds=1), timing, tz)
                    checked += 1
    assert checked > 1000


def test_a_window_inside_a_gap_moves_to_the_next_day() -> None:
    new_york = ZoneInfo("America/New_York")
    timing = Timing(window_start=time(2), window_end=time(2, 30))
    gap_day = datetime(2026, 3, 8).date()  # 02:00 becomes 03:00
    assert window_on(gap_day, timing, new_york) is None
    when = next_send_time(datetime(2026, 3, 8, 6, 50, tzinfo=UTC), timing, new_york)
    assert when.astimezone(new_york).replace(tzinfo=None) == datetime(2026, 3, 9, 2, 0)


def test_a_tick_in_a_dst_gap_defers_each_lesson_once_and_returns(project: Path, sqlite_url: str) -> None:
    from sender.subscribers import add_subscriber
    from tests.test_engine import make_engine

    engine, clock = make_engine(project, sqlite_url)
    engine.settings = engine.settings.replace(send_window="02:00-02:30")
    add_subscriber(engine.store, "a@example.com", now=clock(), timezone="America/New_York")
    engine.enrol("mini")
    clock.now = datetime(2026, 3, 8, 7, 10, tzinfo=UTC)  # the clock stands still: the tick must end
    with engine.store.engine.begin() as conn:  # lesson 1 came due in the gap, during an outage
        conn.exec_driver_sql("UPDATE enrolments SET next_due_at = '2026-03-08 07:05:00.000000'")
    report = engine.tick()
    assert (report.sent, report.deferred) == (0, 1)
    due = engine.store.next_due_at()
    assert due.astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None) == datetime(2026, 3, 9, 2, 0)
