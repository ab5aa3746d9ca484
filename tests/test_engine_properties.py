"""Property: whatever the zones, windows, weekday rules and downtime, every lesson
lands once, in order, inside its local window on an allowed weekday, at least its
delay after the one before."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sender.engine import Engine
from sender.providers.memory import MemoryProvider
from sender.schedule import SimulatedClock, parse_weekdays, parse_window
from sender.settings import load_settings
from sender.store import Store
from sender.subscribers import add_subscriber

REPO = Path(__file__).resolve().parent.parent
ZONES = ["UTC", "Europe/Lisbon", "Asia/Tokyo", "America/New_York", "Australia/Lord_Howe",
         "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Chatham", "America/St_Johns", "Pacific/Kiritimati"]
WEEKDAY_RULES = ["all", "mon-fri", "sat,sun", "tue,thu", "fri-mon", "wed"]


def make_project(window: str, weekdays: str, delay: int, delay_hours: int) -> Path:
    root = Path(tempfile.mkdtemp(prefix="drip-prop-"))
    shutil.copytree(REPO / "templates", root / "templates")
    camp = root / "campaigns" / "c"
    camp.mkdir(parents=True)
    (camp / "campaign.toml").write_text(
        f'title = "C"\n[schedule]\nwindow = "{window}"\nweekdays = "{weekdays}"\n'
        f"delay = {delay}\ndelay_hours = {delay_hours}\n")
    for i in range(1, 5):
        (camp / f"0{i}-l{i}.md").write_text(f"---\nsubject: Lesson {i}\npreheader: p{i}\n---\nBody {i}.\n")
    return root


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                       timezones=st.just(UTC)),
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=4),
    window_start=st.integers(min_value=0, max_value=21),
    window_hours=st.integers(min_value=1, max_value=3),
    weekdays=st.sampled_from(WEEKDAY_RULES),
    delay=st.integers(min_value=0, max_value=3),
    delay_hours=st.integers(min_value=0, max_value=6),
    downtime=st.lists(st.tuples(st.integers(0, 20 * 24), st.integers(1, 72)), max_size=3),
)
def test_lessons_land_once_in_order_in_window_after_delay(
    start: datetime, zones: list[str], window_start: int, window_hours: int, weekdays: str,
    delay: int, delay_hours: int, downtime: list[tuple[int, int]],
) -> None:
    window = f"{window_start:02d}:00-{window_start + window_hours:02d}:00"
    project = make_project(window, weekdays, delay, delay_hours)
    try:
        url = f"sqlite:///{project / 'drip.db'}"
        clock = SimulatedClock(start)
        provider = MemoryProvider(f"memory://{project}")
        engine = Engine(load_settings(project, environ={}).replace(database_url=url), Store(url),
                        provider, clock)
        for i, tz in enumerate(zones):
            add_subscriber(engine.store, f"s{i}@example.com", now=clock(), timezone=tz)
        engine.enrol("c")
        # The service is down for these stretches (hours after the start, for so many hours).
        down = [(start + timedelta(hours=h), start + timedelta(hours=h + n)) for h, n in downtime]
        for _ in range(200):
            due = engine.store.next_due_at()
            if due is None:
                break
            tick_at = due
            for a, b in down:
                if a <= tick_at < b:
                    tick_at = b  # the first tick after the outage
            clock.advance_to(tick_at)
            engine.tick()

        allowed = parse_weekdays(weekdays)
        lo, hi = parse_window(window)
        for i, tz in enumerate(zones):
            sent = sorted((r.sent_at, r.position) for r in engine.store.delivery_log()
                          if r.email == f"s{i}@example.com")
            assert [p for _, p in sent] == [1, 2, 3, 4]  # all, once, in order
            zone = ZoneInfo(tz)
            for when, _ in sent:
                local = when.astimezone(zone)
                jumped = (when - timedelta(hours=3)).astimezone(zone).utcoffset() != local.utcoffset()
                assert local.weekday() in allowed, (tz, local)
                assert lo <= local.time() < hi or jumped, (tz, local, window)
                assert not any(a <= when < b for a, b in down), "sent while the service was down"
            for (before, _), (after, _) in pairwise(sent):
                assert after - before >= timedelta(hours=delay_hours)
                days = (after.astimezone(zone).date() - before.astimezone(zone).date()).days
                assert days >= max(delay, 1)  # never two lessons in one window, i.e. one day
        engine.store.close()
    finally:
        shutil.rmtree(project, ignore_errors=True)
