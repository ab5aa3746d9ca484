from datetime import UTC, date, datetime, time

from hypothesis import given
from hypothesis import strategies as st

from sender.schedule import after_delay, local_to_utc, next_window, zone

LISBON, NEW_YORK, TOKYO = zone("Europe/Lisbon"), zone("America/New_York"), zone("Asia/Tokyo")


def test_next_window_is_today_if_not_yet_past() -> None:
    enrolled = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)  # 08:00 in Lisbon (summer, UTC+1)
    due = next_window(enrolled, LISBON, 9)
    assert due == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert due.astimezone(LISBON).hour == 9


def test_next_window_is_tomorrow_once_past() -> None:
    enrolled = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    assert next_window(enrolled, TOKYO, 9) == datetime(2026, 6, 2, 0, 0, tzinfo=UTC)


def test_delay_across_spring_forward_keeps_local_hour() -> None:
    # Lisbon moves from UTC+0 to UTC+1 on 2026-03-29.
    before = local_to_utc(date(2026, 3, 27), time(9), LISBON)
    after = after_delay(before, 3, LISBON, 9)
    assert before == datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
    assert after == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert after.astimezone(LISBON).time() == time(9)


def test_delay_across_fall_back_keeps_local_hour() -> None:
    # New York goes from UTC-4 to UTC-5 on 2026-11-01.
    before = local_to_utc(date(2026, 10, 30), time(9), NEW_YORK)
    after = after_delay(before, 2, NEW_YORK, 9)
    assert after == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)


def test_a_skipped_local_time_moves_forward() -> None:
    # 02:30 does not exist in New York on 2026-03-08; the wall clock jumps to 03:30.
    instant = local_to_utc(date(2026, 3, 8), time(2, 30), NEW_YORK)
    assert instant.astimezone(NEW_YORK).time() == time(3, 30)


def test_delay_zero_means_next_window_not_same_instant() -> None:
    sent = local_to_utc(date(2026, 5, 5), time(9), TOKYO)
    assert after_delay(sent, 0, TOKYO, 9) == local_to_utc(date(2026, 5, 6), time(9), TOKYO)


ZONES = ["UTC", "Europe/Lisbon", "Asia/Tokyo", "America/New_York", "Australia/Lord_Howe",
         "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Chatham", "Europe/London"]


@given(
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1),
                       timezones=st.just(UTC)),
    tz_name=st.sampled_from(ZONES),
    hour=st.integers(min_value=5, max_value=22),
    days=st.integers(min_value=1, max_value=14),
)
def test_lessons_land_at_the_local_hour_and_after_the_delay(start: datetime, tz_name: str,
                                                           hour: int, days: int) -> None:
    tz = zone(tz_name)
    first = next_window(start, tz, hour)
    second = after_delay(first, days, tz, hour)
    assert first >= start
    assert first.astimezone(tz).hour == hour and first.astimezone(tz).minute == 0
    assert second.astimezone(tz).hour == hour
    assert (second.astimezone(tz).date() - first.astimezone(tz).date()).days == days
