"""Message-IDs: unique per installation, stable per delivery."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sender.engine import Engine
from sender.outcomes import Fault
from sender.providers.base import OutgoingMessage, SendResult
from sender.providers.memory import MemoryProvider
from sender.schedule import SimulatedClock
from sender.settings import load_settings
from sender.store import Store
from sender.subscribers import add_subscriber


class FailsFirstAttempt(MemoryProvider):
    """Refuses the first message for now (as a rate limit would), then accepts; keeps every attempt."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.attempts: list[OutgoingMessage] = []

    def send_messages(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        first = not self.attempts
        self.attempts.extend(messages)
        if first:
            return [SendResult(m, ok=False, error="try again later", fault=Fault.TEMPORARY) for m in messages]
        return super().send_messages(messages)


def first_lesson_attempts(project: Path, database: Path) -> list[OutgoingMessage]:
    """What a fresh installation on `database` tries to send for its first delivery."""
    url = f"sqlite:///{database}"
    provider = FailsFirstAttempt(f"memory://{database}")
    clock = SimulatedClock(datetime(2026, 3, 25, 12, 0, tzinfo=UTC))
    engine = Engine(load_settings(project, environ={}).replace(database_url=url), Store(url), provider, clock)
    add_subscriber(engine.store, "maria@example.com", now=clock(), timezone="UTC")
    engine.enrol("mini")
    for _ in range(2):  # the refused attempt, then its retry
        due = engine.store.next_due_at()
        assert due is not None
        clock.advance_to(due)
        engine.tick()
    return [m for m in provider.attempts if m.metadata["lesson"] == "01-start"]


def test_message_id_is_unique_per_installation_and_stable_across_retries(project: Path,
                                                                         tmp_path: Path) -> None:
    # Two installations on the same From domain (or one whose database was reset): both
    # number their deliveries from 1.
    first, retry = first_lesson_attempts(project, tmp_path / "one.db")
    (other, *_) = first_lesson_attempts(project, tmp_path / "two.db")
    assert first.delivery_id == retry.delivery_id == other.delivery_id == 1
    assert retry.message_id == first.message_id  # a retry is recognisable downstream
    assert other.message_id != first.message_id
    assert first.message_id.endswith("@example.com>") and other.message_id.endswith("@example.com>")


def test_message_id_and_unsubscribe_token_keep_their_bytes() -> None:
    # The keyed HMACs are copied from one keyed once; the IDs and links already out must not change.
    import hashlib
    import hmac

    from sender.messages import message_id
    from sender.tokens import sign, verify

    settings = load_settings(Path("/nonexistent"), environ={}).replace(from_address="Coach <c@mail.example>")
    for secret, key in [("k1", "42:01-start"), ("k2", "42:01-start"), ("k1", "7:02-next")]:
        digest = hmac.new(secret.encode(), f"message-id\0{key}".encode(), hashlib.sha256).hexdigest()[:20]
        assert message_id(settings, key, secret) == f"<{digest}@mail.example>"
    assert sign("42:mini", "k1", "unsubscribe") == "NDI6bWluaQ.tnrilBK85ur263nDlXGDRw"
    assert verify(sign("42:mini", "k2", "unsubscribe"), "k2", "unsubscribe") == "42:mini"
