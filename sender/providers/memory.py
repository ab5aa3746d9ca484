"""Keeps messages in a list: the test double, and a real backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from sender.outcomes import Fault
from sender.providers.base import OutgoingMessage, Provider, SendResult
from sender.providers.http import check_message


class MemoryProvider(Provider):
    scheme = "memory"
    name = "memory"
    # Shared per URL so a test can read what the engine's own instance sent.
    mailboxes: ClassVar[dict[str, list[OutgoingMessage]]] = {}

    @property
    def outbox(self) -> list[OutgoingMessage]:
        return self.mailboxes.setdefault(self.url, [])

    def send_messages(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        return [self._send_one(m) for m in messages]

    def _send_one(self, m: OutgoingMessage) -> SendResult:
        # Refuse what a real provider would (as Django's locmem backend does), so tests using
        # this double see the same failure production would: that message alone, for good.
        try:
            check_message(m)
        except ValueError as exc:
            return SendResult(m, ok=False, error=f"memory: {exc}", fault=Fault.MESSAGE)
        self.outbox.append(m)
        return SendResult(m, ok=True, provider_message_id=m.message_id)
