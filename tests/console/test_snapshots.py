"""The console's cache of big counts: fresh when asked to be, stale-while-refreshing
otherwise, one computation at a time."""

from __future__ import annotations

import threading
import time

from sender.web.console import Snapshots
from tests.conftest import DEADLINE, wait_until


def test_max_age_zero_computes_every_time() -> None:
    calls = []
    snapshots = Snapshots()
    for i in range(3):
        value, _ = snapshots.get("n", lambda i=i: calls.append(i) or i, 0)
        assert value == i
    assert calls == [0, 1, 2]


def test_stale_value_is_served_while_one_thread_refreshes() -> None:
    snapshots = Snapshots()
    gate = threading.Event()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        if len(calls) > 1:
            gate.wait(DEADLINE)
        return len(calls)

    assert snapshots.get("n", slow, 60)[0] == 1  # first: waits for the value
    snapshots._values["n"] = (time.time() - 120, 1)  # now it is two minutes old
    for _ in range(5):
        assert snapshots.get("n", slow, 60)[0] == 1  # at once, the stale figure
    gate.set()
    assert wait_until(lambda: snapshots.get("n", slow, 60)[0] == 2)  # the refresh, once done
    assert len(calls) == 2  # one refresh, not five


def test_a_request_during_warm_up_waits_for_it_instead_of_computing_again() -> None:
    snapshots = Snapshots()
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        started.set()
        release.wait(DEADLINE)
        return "figures"

    snapshots.warm("n", compute)
    assert started.wait(DEADLINE)
    threading.Timer(0.05, release.set).start()  # soon; the get below waits for it however late
    assert snapshots.get("n", compute, 60)[0] == "figures" and calls == [1]
    snapshots.expire("n")
    assert snapshots.get("n", lambda: "again", 60)[0] == "figures"  # the old ones, at once
    assert wait_until(lambda: snapshots.get("n", lambda: "again", 60)[0] == "again")
