"""The console's cache of the big counts.

Counts over the big tables (deliveries and events per lesson) take one scan each;
they are kept for a minute (`Snapshots`) and refreshed in the background while the
stale figures are shown, which is what keeps every page quick at a million
deliveries. Everything else is read fresh per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

from flask import current_app

from sender.store import console as queries
from sender.web import drip

log = logging.getLogger(__name__)

SCHEDULE_DAYS = 30  # how far ahead the schedule page looks (and so the "upcoming" figure)


class Snapshots:
    """Results of the expensive aggregate queries, each recomputed at most every
    CONSOLE_STATS_MAX_AGE seconds. A stale value is served while one background
    thread refreshes it; a request that finds no value waits for the computation
    already under way rather than starting a second one. max_age 0 (tests): always
    fresh, computed in the request, no thread."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[float, Any]] = {}
        self._running: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, name: str, compute: Callable[[], Any], max_age: float) -> tuple[Any, float]:
        """(value, unix time it was computed)."""
        if max_age <= 0:
            return compute(), time.time()
        with self._lock:
            cached = self._values.get(name)
            if cached and time.time() - cached[0] < max_age:
                return cached[1], cached[0]
            running = self._running.get(name)
            if running is None:
                running = self._start(name, compute)
        if cached:
            return cached[1], cached[0]  # stale but instant; the thread brings the next one
        running.wait()
        with self._lock:
            if name in self._values:
                return self._values[name][1], self._values[name][0]
        return compute(), time.time()  # the background computation failed: try here, and say why

    def warm(self, name: str, compute: Callable[[], Any]) -> None:
        """Start computing a value nobody has asked for yet, in the background."""
        with self._lock:
            if name not in self._values and name not in self._running:
                self._start(name, compute)

    def _start(self, name: str, compute: Callable[[], Any]) -> threading.Event:
        done = self._running[name] = threading.Event()  # (under self._lock)
        threading.Thread(target=self._refresh, args=(name, compute, done), daemon=True,
                         name=f"console-{name}").start()
        return done

    def _refresh(self, name: str, compute: Callable[[], Any], done: threading.Event) -> None:
        try:
            started = time.time()
            value = compute()
            with self._lock:
                self._values[name] = (started, value)
        except Exception:  # a failed refresh keeps the old figures; the next request tries again
            log.exception("console: refreshing %s failed", name)
        finally:
            with self._lock:
                self._running.pop(name, None)
            done.set()

    def expire(self, *names: str) -> None:
        """Mark values out of date: the next request gets them refreshed (and, meanwhile,
        the old figures rather than a wait)."""
        with self._lock:
            for name in names:
                if name in self._values:
                    self._values[name] = (0.0, self._values[name][1])

    def forget(self, *names: str) -> None:
        """Drop values outright: the next request computes them (for cheap ones that an
        action of this very user just changed, like the schedule after enrolling)."""
        with self._lock:
            for name in names:
                self._values.pop(name, None)


# -- the app's cache, in a request ---------------------------------------------------------


def _snapshots() -> Snapshots:
    found: Snapshots = current_app.extensions["drip_console"]
    return found


def _max_age() -> float:
    return float(current_app.config["CONSOLE_STATS_MAX_AGE"])


def _computations() -> dict[str, Callable[[], Any]]:
    """The cached figures and how to compute each, outside any request (the background
    thread has no app context: the closures hold what they need)."""
    engine = drip().engine
    store = engine.store

    def upcoming() -> list[queries.DueGroup]:
        today = engine.clock().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return queries.upcoming_lessons(store, today + timedelta(days=SCHEDULE_DAYS))

    return {"deliveries": lambda: queries.delivery_counts(store),
            "events": lambda: queries.event_counts(store),
            "upcoming": upcoming}


def snapshot(name: str) -> tuple[Any, float]:
    """(figure, unix time it was computed): "deliveries", "events", "upcoming", or
    "audience:SEGMENT" (how many a newsletter to SEGMENT reaches; "audience:" is everyone)."""
    if name.startswith("audience:"):
        store, segment = drip().engine.store, name.partition(":")[2] or None
        return _snapshots().get(name, lambda: queries.audience_size(store, segment), _max_age())
    return _snapshots().get(name, _computations()[name], _max_age())


def forget(*names: str) -> None:
    """See Snapshots.forget."""
    _snapshots().forget(*names)


def expire(*names: str) -> None:
    """See Snapshots.expire."""
    _snapshots().expire(*names)


def warm_up() -> None:
    """Start the big counts while someone types their password, so the first page
    after login doesn't wait for them (seconds, at a million deliveries)."""
    if _max_age() > 0:
        for name, compute in _computations().items():
            if name != "upcoming":  # cheap enough to compute when asked
                _snapshots().warm(name, compute)


def counts() -> tuple[dict[Any, dict[str, int]], dict[Any, dict[str, int]], float]:
    """(delivery counts, event counts, when the older of the two was computed)."""
    delivered, t1 = snapshot("deliveries")
    happened, t2 = snapshot("events")
    return delivered, happened, min(t1, t2)
