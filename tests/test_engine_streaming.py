"""The engine hands a provider that can stream (the HTTP APIs) each message as it renders:
the outcome of every claimed delivery is recorded all the same, even when the provider fails
part-way through the batch."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa

from sender.engine import Engine, TickReport
from sender.providers.base import OutgoingMessage, SendResult
from sender.providers.memory import MemoryProvider
from sender.store.schema import deliveries
from sender.subscribers import add_subscriber
from tests.test_engine import make_engine


class StreamingProvider(MemoryProvider):
    """Takes messages one by one as the engine renders them; can fail after `fail_after`."""

    def __init__(self, url: str, fail_after: int | None = None) -> None:
        super().__init__(url)
        self.fail_after = fail_after
        self.streams = 0

    def send_stream(self, messages: Iterable[OutgoingMessage]) -> list[SendResult]:
        self.streams += 1
        taken: list[OutgoingMessage] = []
        for m in messages:
            if len(taken) == self.fail_after:
                raise ConnectionError("connection reset")
            taken.append(m)
        return self.send_messages(taken)


def statuses(engine: Engine) -> dict[str, int]:
    with engine.store.engine.connect() as conn:
        return dict(conn.execute(sa.select(deliveries.c.status, sa.func.count())
                                 .group_by(deliveries.c.status)).all())


def tick_four_due(project: Path, url: str, provider: StreamingProvider) -> tuple[Engine, TickReport]:
    """Four subscribers with lesson 1 due, and one tick."""
    engine, clock = make_engine(project, url, provider=provider)
    for i in range(4):
        add_subscriber(engine.store, f"s{i}@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    clock.advance_to(engine.store.next_due_at())
    return engine, engine.tick()


def test_a_streaming_provider_gets_every_message(project: Path, sqlite_url: str) -> None:
    provider = StreamingProvider(f"memory://{project}/stream")
    engine, report = tick_four_due(project, sqlite_url, provider)
    assert (report.sent, provider.streams) == (4, 1)
    assert sorted(m.to for m in provider.outbox) == [f"s{i}@example.com" for i in range(4)]
    assert statuses(engine) == {"sent": 4}


def test_a_provider_failing_mid_stream_leaves_nothing_in_sending(project: Path, sqlite_url: str) -> None:
    provider = StreamingProvider(f"memory://{project}/broken", fail_after=2)
    engine, report = tick_four_due(project, sqlite_url, provider)
    # The two messages not yet taken were still rendered and recorded: all four go again later.
    assert (report.sent, report.retrying) == (0, 4)
    assert report.errors == [f"s{i}@example.com: memory: connection reset" for i in range(4)]
    assert statuses(engine) == {"queued": 4}
