"""The send path's shortcuts keep what the slower code guaranteed: the collector's thresholds
come back after a tick, each email carries the Message-ID of its own delivery row (it is given
once the row exists, not worked out twice), and the SQLite claim checks its batch by key."""

import gc
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from sender.engine import Engine
from sender.engine_plan import TICK_GC_THRESHOLD
from sender.messages import message_id
from sender.providers.base import OutgoingMessage, SendResult
from sender.providers.memory import MemoryProvider
from sender.schedule import SimulatedClock
from sender.settings import Settings, load_settings
from sender.store import Store
from sender.store.schema import deliveries
from sender.subscribers import add_subscriber

START = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)


class ThresholdProvider(MemoryProvider):
    """Notes the collector's thresholds while a batch is handed over."""

    seen: list[tuple[int, int, int]]

    def send_messages(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        self.seen.append(gc.get_threshold())
        return super().send_messages(messages)


def engine_for(project: Path, url: str, provider: MemoryProvider) -> Engine:
    settings = load_settings(project, environ={}).replace(database_url=url, batch_size=2)
    provider.outbox.clear()
    return Engine(settings, Store(url), provider, SimulatedClock(START))


def when_due(engine: Engine) -> Engine:
    """The engine's clock moved on to when the first lesson is due."""
    due = engine.store.next_due_at()
    assert due is not None and isinstance(engine.clock, SimulatedClock)
    engine.clock.advance_to(due)
    return engine


def test_a_tick_spaces_out_collections_and_puts_the_thresholds_back(project: Path, db_url: str) -> None:
    provider = ThresholdProvider(f"memory://{project}")
    provider.seen = []
    engine = engine_for(project, db_url, provider)
    for n in range(5):
        add_subscriber(engine.store, f"p{n}@example.com", now=START, name=f"P{n}")
    engine.enrol("mini")
    before = gc.get_threshold()

    assert when_due(engine).tick().sent == 5

    assert gc.get_threshold() == before
    assert provider.seen and all(t[0] >= TICK_GC_THRESHOLD for t in provider.seen)


def test_each_email_carries_its_own_deliverys_message_id(project: Path, db_url: str) -> None:
    engine = engine_for(project, db_url, MemoryProvider(f"memory://{project}"))
    for n in range(5):
        add_subscriber(engine.store, f"q{n}@example.com", now=START, name=f"Q{n}")
    engine.enrol("mini")

    assert when_due(engine).tick().sent == 5

    with engine.store.engine.connect() as conn:
        stored = dict(conn.execute(sa.select(deliveries.c.id, deliveries.c.message_id)).all())
    sent = engine.provider.outbox
    assert len(sent) == 5
    for m in sent:
        assert m.delivery_id in stored and m.metadata["delivery"] == str(m.delivery_id)
        assert m.message_id == stored[m.delivery_id] == message_id(
            engine.settings, f"delivery:{m.delivery_id}", engine.signing_key)


def test_the_sqlite_recheck_of_a_claim_looks_its_enrolments_up_by_key(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    with store.engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + store._SQLITE_STILL_DUE, ("[1, 2]",)).fetchall()]
    # by id for each enrolment of the batch, not a scan of every active one
    assert any("SEARCH e USING INTEGER PRIMARY KEY" in step for step in plan), plan
    assert not any(step.startswith("SCAN e") or "SEARCH e USING INDEX" in step for step in plan), plan


def test_a_batch_left_unset_fills_the_providers_concurrent_requests(project: Path, sqlite_url: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Postmark takes 500 a request, 2 requests at once: one claim of 500 would leave one idle."""
    from sender.providers import get_provider
    from tests.providers.conftest import ENV

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    unset = load_settings(project, environ={}).replace(database_url=sqlite_url)
    assert unset.sources["batch_size"] == "default"
    store = Store(sqlite_url)

    def claimed(url: str, settings: Settings = unset) -> int:
        provider = get_provider(url)
        return Engine(settings, store, provider, SimulatedClock(START)).batch_size

    assert claimed("postmark://") == 1000  # 500 × 2
    assert claimed("postmark://?concurrency=1") == 500
    assert claimed("sendgrid://") == 1000  # 1,000 × 4, held to what a claim keeps in memory
    assert claimed("resend://") == 500  # 100 × 2: never below the setting's default
    assert claimed("memory://") == 500
    assert claimed("postmark://", load_settings(project, environ={"DRIP_BATCH_SIZE": "300"})) == 300
    store.close()
