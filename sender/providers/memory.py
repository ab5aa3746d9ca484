"""Keeps messages in a list: the test double, and a real backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from sender.providers.base import OutgoingMessage, Provider, SendResult


class MemoryProvider(Provider):
    scheme = "memory"
    name = "memory"
    # Shared per URL so a test can read what the engine's own instance sent.
    mailboxes: ClassVar[dict[str, list[OutgoingMessage]]] = {}

    @property
    def outbox(self) -> list[OutgoingMessage]:
        return self.mailboxes.setdefault(self.url, [])

    def send_messages(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        self.outbox.extend(messages)
        return [SendResult(m, ok=True, provider_message_id=m.message_id) for m in messages]
