from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sender.schedule import Timing, due_after, in_window, local_to_utc, parse_weekdays, parse_window, zone

LISBON, NEW_YORK, TOKYO = zone("Europe/Lisbon"), zone("America/New_York"), zone("Asia/Tokyo")
NINE = Timing(window_start=time(9), window_end=time(11))


def test_first_lesson_today_if_the_window_has_not_opened() -> None:
    enrolled = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)  # 08:00 in Lisbon (summer, UTC+1)
    due = due_after(enrolled, NINE, LISBON, first=True)
    assert due == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def test_first_lesson_at_once_inside_the_window() -> None:
    enrolled = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)  # 09:30 Lisbon
    assert due_after(enrolled, NINE, LISBON, first=True) == enrolled


def test_first_lesson_tomorrow_once_the_window_closed() -> None:
    enrolled = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
    assert due_after(enrolled, NINE, TOKYO, first=True) == datetime(2026, 6, 2, 0, 0, tzinfo=UTC)


def test_delay_across_spring_forward_keeps_local_hour() -> None:
    # Lisbon moves from UTC+0 to UTC+1 on 2026-03-29.
    before = local_to_utc(date(2026, 3, 27), time(9), LISBON)
    after = due_after(before, Timing(delay_days=3), LISBON, first=False)
    assert before == datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
    assert after == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_delay_across_fall_back_keeps_local_hour() -> None:
    # New York goes from UTC-4 to UTC-5 on 2026-11-01.
    before = local_to_utc(date(2026, 10, 30), time(9), NEW_YORK)
    assert due_after(before, Timing(delay_days=2), NEW_YORK, first=False) == \
        datetime(2026, 11, 1, 14, 0, tzinfo=UTC)


def test_a_skipped_local_time_moves_forward() -> None:
    # 02:30 does not exist in New York on 2026-03-08; the wall clock jumps to 03:30.
    instant = local_to_utc(date(2026, 3, 8), time(2, 30), NEW_YORK)
    assert instant.astimezone(NEW_YORK).time() == time(3, 30)


def test_no_two_lessons_in_one_window() -> None:
    sent = local_to_utc(date(2026, 5, 5), time(9, 10), TOKYO)
    assert due_after(sent, Timing(), TOKYO, first=False) == local_to_utc(date(2026, 5, 6), time(9), TOKYO)


def test_weekdays_only() -> None:
    friday = local_to_utc(date(2026, 11, 27), time(9), LISBON)
    due = due_after(friday, Timing(delay_days=1, weekdays=parse_weekdays("mon-fri")), LISBON, first=False)
    assert due.astimezone(LISBON).date() == date(2026, 11, 30)  # Saturday skipped, then Sunday


def test_delay_in_hours() -> None:
    sent = local_to_utc(date(2026, 5, 5), time(9, 0), LISBON)
    timing = Timing(delay_hours=26, window_start=time(8), window_end=time(20))
    assert due_after(sent, timing, LISBON, first=False) == sent + timedelta(hours=26)


@pytest.mark.parametrize(("text", "days"), [("mon-fri", {0, 1, 2, 3, 4}), ("sat,sun", {5, 6}),
                                            ("fri-mon", {4, 5, 6, 0}), ("all", set(range(7)))])
def test_parse_weekdays(text: str, days: set[int]) -> None:
    assert parse_weekdays(text) == days


def test_window_may_run_to_midnight() -> None:
    assert parse_window("22:00-24:00") == (time(22), time.max)


def test_parse_errors_name_the_value() -> None:
    with pytest.raises(ValueError, match="send window '9-5' must look like 09:00-11:00"):
        parse_window("9-5")
    with pytest.raises(ValueError, match="unknown weekday 'funday'"):
        parse_weekdays("mon,funday")
    with pytest.raises(ValueError, match="is empty"):
        Timing(window_start=time(11), window_end=time(9))


ZONES = ["UTC", "Europe/Lisbon", "Asia/Tokyo", "America/New_York", "Australia/Lord_Howe",
         "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Chatham", "Europe/London", "America/St_Johns"]


@st.composite
def timings(draw: st.DrawFn) -> Timing:
    start = draw(st.integers(min_value=0, max_value=22))
    length = draw(st.integers(min_value=1, max_value=23 - start))
    end = time(start + length) if start + length < 24 else time(23, 59)
    return Timing(
        delay_days=draw(st.integers(min_value=0, max_value=10)),
        delay_hours=draw(st.integers(min_value=0, max_value=30)),
        window_start=time(start), window_end=end,
        weekdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
    )


@given(
    previous=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1),
                          timezones=st.just(UTC)),
    tz_name=st.sampled_from(ZONES),
    timing=timings(),
    first=st.booleans(),
)
def test_due_time_is_in_an_allowed_window_and_after_the_delay(previous: datetime, tz_name: str,
                                                              timing: Timing, first: bool) -> None:
    tz = zone(tz_name)
    due = due_after(previous, timing, tz, first=first)
    # Inside the window, unless the window opened in a DST gap and the clock jumped past it.
    jumped = (due - timedelta(hours=3)).astimezone(tz).utcoffset() != due.astimezone(tz).utcoffset()
    assert in_window(due, timing, tz) or jumped
    assert due >= previous + timedelta(hours=timing.delay_hours)
    local_gap = (due.astimezone(tz).date() - previous.astimezone(tz).date()).days
    assert local_gap >= timing.delay_days
    if not first and in_window(previous, timing, tz):
        assert due.astimezone(tz).date() > previous.astimezone(tz).date()  # never the same window
